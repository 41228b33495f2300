"""Planning a batch: spreadsheet rows or a batch config → validated ``JobSpec``s.

Everything that can be wrong is found here, before anything is stored or sent: unknown
placeholders, empty values, unsafe or duplicate file names, and settings the provider's model
does not support. Errors name the field (``jobs[1].size``), the row (``row 4, line 5``) or the
column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import get_origin

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import JobDefaults, JobSpec, problems_error
from atelier.core.spec_fields import IMAGE
from atelier.providers.base import ModelInfo
from atelier.providers.registry import capabilities_of, resolve_target
from atelier.sheet.plan.jobs import RowColumns as RowColumns  # where it was, for its users
from atelier.sheet.plan.jobs import add_groups, copy_source, row_spec
from atelier.sheet.products import Per, Products, group_rows
from atelier.sheet.render import RowRenderer
from atelier.sheet.tabular import Table
from atelier.sheet.templates import Template, UniqueNamer, describe_unknown
from atelier.sheet.variations import check_names, combinations
from atelier.sheet.variations import describe as describe_variations

EMPTY_SHOWN = 3
"""Rows named in the warning about a column empty in many rows."""

PROMPT_MAX = 32_000  # JobSpec.prompt's bound (OpenAI GPT-image limit, providers.md)


# Hot path (once per job, 100,000-row sheets): C-level getters, not a loop over the names.
_LISTED = tuple(n for n in IMAGE.fields if get_origin(JobSpec.model_fields[n].annotation) is list)
"""The image fields that hold lists (reference images): made tuples to be hashable."""
_SCALARS = attrgetter("provider", "model", *(n for n in IMAGE.fields if n not in _LISTED))
_LISTS = [attrgetter(n) for n in _LISTED]


@dataclass
class Plan:
    """Validated jobs, ready to store.

    Attributes:
        specs: one ``JobSpec`` per job.
        warnings: things worth a look that do not stop the batch (empty values, renamed files).
        skipped: rows left out with the reason (e.g. an empty prompt).
    """

    specs: list[JobSpec]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    left_out: int = 0
    """Rows that are no job by the export's own conventions (Shopify's image-only rows)."""
    rows: int = 0
    """Rows planned (before variations multiply them)."""
    variations: dict[str, list[str]] = field(default_factory=dict)
    per: Per = field(default_factory=Per)
    """How rows were made into jobs (one per row, product or option value)."""
    varying: dict[int, set[str]] = field(default_factory=dict)
    """Job index → columns whose values differ among its rows (``check_joined_rows``)."""

    @property
    def rows_in_jobs(self) -> int:
        """Rows the jobs stand for (more than the jobs when rows were made one job)."""
        return sum(len(s.source_rows()) for s in self.specs)

    @property
    def images(self) -> int:
        """Images the batch will make."""
        return sum(s.sample_count for s in self.specs)

    @property
    def distinct_prompts(self) -> int:
        """Jobs that would ask for different images: jobs whose provider, model and fields
        that decide the image (``atelier.core.spec_fields.IMAGE``: prompt, size, seed,
        references…) are the same count once (all variants of a product under a template that
        names no variant column)."""
        scalars, lists = _SCALARS, _LISTS
        if len(lists) == 1:  # today: reference_images; inline, as this runs once per job
            (listed,) = lists
            return len({(*scalars(s), tuple(listed(s))) for s in self.specs})
        return len({(*scalars(s), *[tuple(g(s)) for g in lists]) for s in self.specs})

    def summary(self) -> str:
        """``38 jobs, 14 distinct prompts (26 Shopify image-only rows left out)``; with
        variations ``11 rows × 3 scene = 33 jobs, …``."""
        text = (
            describe_variations(self.rows, self.variations, len(self.specs))
            if self.variations
            else tr("{count:,} jobs").format(count=len(self.specs))
        )
        in_jobs = self.rows_in_jobs
        if in_jobs > len(self.specs):
            text += " " + tr("({rows:,} rows: {per})").format(rows=in_jobs, per=self.per.words())
        distinct = self.distinct_prompts
        if distinct < len(self.specs):
            text += tr(", {distinct:,} distinct prompts").format(distinct=distinct)
        if self.left_out:
            text += tr(" ({left_out:,} Shopify image-only rows left out: not products)").format(
                left_out=self.left_out
            )
        return text


def plan_from_table(
    table: Table,
    prompt: str,
    filename: str,
    negative: str = "",
    defaults: JobDefaults | None = None,
    rows: list[int] | None = None,
    columns: RowColumns | None = None,
    variations: dict[str, list[str]] | None = None,
    per: Per | None = None,
    consume: bool = False,
) -> Plan:
    """The jobs of ``table``'s rows (all, or the 0-based ``rows`` chosen, in that order): one
    per group of rows ``per`` makes (each row, each product, each option value; see
    ``atelier.sheet.products.group_rows``) and per combination of ``variations``. Rows that render to
    the same job (prompt, negative prompt, file name, reference, mask, provider and model)
    are one job; a job lists its rows in ``JobSpec.row_indexes``.

    Reference-image and mask paths in cells are relative to the spreadsheet's folder; a row
    with a reference image becomes an ``edit`` job.

    ``consume``: the caller never reads ``table`` again (the command line), so each row's
    cells are let go once its job holds them; with one job per row, the table and the jobs
    are then never whole together: 52 MB less at the peak of planning 100,000 rows
    (``bench/plan_rows.py``). The table has no rows afterwards.

    Raises:
        InputError: unknown placeholders or unbalanced braces (all of them, in one message), an
            unknown steering column, a variation named like a column, a reference image
            that does not exist (row and column), ``per`` ``product`` on a sheet that is no
            shop export, or an unknown ``per`` option.
    """
    d = defaults or JobDefaults()
    cols = columns or RowColumns()
    var = variations or {}
    how = per or Per()
    combos = combinations(var)
    renderer = _renderer(table, prompt, filename, negative, d.output_format, cols, var)
    planner = _RowPlanner(Plan([]), renderer, d, cols, table.source.parent)
    planner.plan.variations = var
    planner.plan.per = how
    chosen = _chosen_rows(table, rows, planner.plan)
    groups = group_rows(Products(table), chosen, how)
    # Only one job per row lets rows go as it goes: other groupings read them afterwards.
    add_groups(planner.add, table, groups, combos, release=consume and how.kind == "row")
    planner.plan.warnings.extend(planner.empty_warnings())
    if how.kind != "row":
        _warn_hidden(planner.plan, table, groups, [prompt, filename, negative], cols)
    if how.kind == "option" and planner.joined:
        planner.plan.warnings.insert(0, _joined_warning(how, planner.joined))
    return planner.plan


def _joined_warning(how: Per, joined: int) -> str:
    """Said when one image per option value leaves ``joined`` groups as copies."""
    return tr(
        "{per}: {count:,} images would be copies (rows with another {option} make the "
        "same prompt and file name), so they are not made; name the option's column "
        "in the prompt and file name"
    ).format(per=how.words(), count=joined, option=how.option)


def _chosen_rows(table: Table, rows: list[int] | None, plan: Plan) -> list[int]:
    """The 0-based rows to plan (``rows``, or all), leaving out the excluded ones; counts
    those in ``plan.left_out`` and the chosen ones in ``plan.rows``."""
    chosen: list[int] = []
    for i in rows if rows is not None else range(len(table.rows)):
        if i in table.excluded:
            plan.left_out += 1
        else:
            chosen.append(i)
    plan.rows = len(chosen)
    return chosen


def _warn_hidden(
    plan: Plan, table: Table, groups: list[list[int]], templates: list[str], cols: RowColumns
) -> None:
    """One warning when the template names columns whose values differ between rows made into
    one image (``{Variant SKU}`` under one image per product): each image uses its first row's
    values."""
    named = [*templates_columns(templates, table.headers), *(c for _, c in cols.names())]
    idx = {h: table.headers.index(h) for h in dict.fromkeys(named) if h in table.headers}
    differ: dict[str, None] = {}
    example: list[int] = []
    for g in groups:
        if len(g) < 2:
            continue
        first = table.rows[g[0]]
        for name, c in idx.items():
            if any(table.rows[r][c] != first[c] for r in g[1:]):
                differ.setdefault(name)
                if not example:
                    example = g
    if differ:
        plan.warnings.insert(
            0,
            tr(
                "{per}: the rows of one image differ in {columns}; each image uses its first "
                "row's values (for example rows {rows})"
            ).format(
                per=plan.per.words(),
                columns=", ".join("{" + c + "}" for c in differ),
                rows=", ".join(str(r + 1) for r in example[:5]),
            ),
        )


def templates_columns(templates: list[str], headers: list[str]) -> list[str]:
    """The columns of ``headers`` the ``templates`` name (unreadable templates name none:
    their problem is reported elsewhere)."""
    out: dict[str, None] = {}
    for text in templates:
        if not text.strip():
            continue
        try:
            names = Template.parse(text).placeholders
        except InputError:
            continue
        out.update(dict.fromkeys(n for n in names if n in headers))
    return list(out)


@dataclass
class _RowPlanner:
    """Adds the jobs of rows to ``plan``, each file name claimed once."""

    plan: Plan
    renderer: RowRenderer
    defaults: JobDefaults
    cols: RowColumns
    base_dir: Path
    namer: UniqueNamer = field(default_factory=UniqueNamer)
    made: dict[tuple[str, ...], int] = field(default_factory=dict)
    """What each job was rendered to → its index in ``plan.specs`` (a row rendering the same
    joins that job instead of making a copy under a ``-2`` name)."""
    joined: int = 0
    """Groups of rows that joined a job made from other rows."""
    like: JobSpec | None = None
    """The first row's job as it was validated, which later rows are copied from (``row_spec``)."""
    empty: dict[str, list[Callable[[], str]]] = field(default_factory=dict)
    """Column → the rows (``RowPlace``) whose job names it with the cell empty."""

    def __post_init__(self) -> None:
        self._steering = [c for _, c in self.cols.names()]

    def empty_warnings(self) -> list[str]:
        """One warning per column named while empty: the row itself when it is one, else
        the count and the first ``EMPTY_SHOWN`` rows (a 100,000-row export with an option
        column blank in 13,000 rows said so in 13,000 lines)."""
        out: list[str] = []
        for col, places in self.empty.items():
            if len(places) == 1:
                out.append(
                    tr("{where}: column {{{column}}} is empty").format(
                        where=places[0](), column=col
                    )
                )
                continue
            shown = "; ".join(p() for p in places[:EMPTY_SHOWN])
            more = "; …" if len(places) > EMPTY_SHOWN else ""
            out.append(
                tr("column {{{column}}} is empty in {count:,} rows: {rows}").format(
                    column=col, count=len(places), rows=shown + more
                )
            )
        return out

    def add(self, rows: list[int], values: dict[str, str], place: Callable[[], str]) -> None:
        """The job of rows ``rows`` (0-based; the first one's filled cells and variation
        ``values``, which the job keeps as its ``row_values``),
        or a note saying why it is skipped; rows rendering to a job already made join it.
        ``place()`` names the row in messages.

        Raises:
            InputError: a reference image that does not exist.
        """
        plan = self.plan
        i = rows[0]
        r = self.renderer.render(values, i, place)
        text, rel = r.prompt, r.file_name
        steer = [values.get(c, "").strip() for c in self._steering]
        key = (text, r.negative_prompt, rel.casefold(), *steer)
        same = self.made.get(key)
        if same is not None:
            spec = plan.specs[same]
            spec.row_indexes = sorted({*spec.source_rows(), *rows})
            first = spec.row_values
            differ = {c for c in {*values, *first} if values.get(c, "") != first.get(c, "")}
            plan.varying.setdefault(same, set()).update(differ)
            self.joined += 1
            return
        if not text.strip():
            plan.skipped.append(
                tr("{where}: the prompt is empty, row skipped").format(where=place())
            )
            return
        if len(text) > PROMPT_MAX:
            plan.skipped.append(
                tr(
                    "{where}: the prompt has {count} characters (at most {limit}), row skipped"
                ).format(where=place(), count=len(text), limit=PROMPT_MAX)
            )
            return
        for col in r.empty:
            self.empty.setdefault(col, []).append(place)
        if r.name_problem:
            plan.warnings.append(r.name_problem)
        unique = self.namer.claim(rel, self.defaults.sample_count, place)
        if unique != rel:
            plan.warnings.append(
                tr(
                    "{where}: file name {file!r} already used in this batch; using {unique!r}"
                ).format(where=place(), file=rel, unique=unique)
            )
        spec = row_spec(
            r, unique, i, values, self.defaults, self.cols, self.base_dir, place, self.like
        )
        if self.like is None and spec.operation == "generate":
            self.like = copy_source(spec)
        if len(rows) > 1:
            spec.row_indexes = sorted(rows)
        self.made[key] = len(plan.specs)
        plan.specs.append(spec)


def _renderer(
    table: Table,
    prompt: str,
    filename: str,
    negative: str,
    fmt: str,
    cols: RowColumns,
    variations: dict[str, list[str]],
) -> RowRenderer:
    """The batch's templates, checked against the table's columns with its steering columns.

    Raises:
        InputError: every template and column problem, in one message.
    """
    unknown_columns = [
        describe_unknown(f"{kind.capitalize()} column", [name], table.headers)
        for kind, name in cols.names()
        if name not in table.headers
    ]
    found = tr(
        ". The columns found (header on {place}; --header-row picks another line): {columns}"
    ).format(place=table.header_place(), columns=", ".join(table.headers))
    check_names(variations, table.headers)
    try:
        renderer = RowRenderer.with_variations(
            table.headers, prompt, filename, negative, fmt, variations
        )
    except InputError as e:
        raise InputError("template", "; ".join([e.message, *unknown_columns]) + found) from None
    if unknown_columns:
        raise InputError("template", "; ".join(unknown_columns) + found)
    return renderer


def check_plan(plan: Plan, provider: str, model: str, *, rows: bool = False) -> None:
    """Check every job against its provider's capabilities (a job's own provider/model, else
    ``provider``/``model``). A model its provider has shut down is refused with its successor;
    a deprecated one is accepted and its note joins the plan's warnings (once).

    Raises:
        InputError: naming the first bad job field (``jobs[1].size``, or ``row 3: size`` for
            spreadsheet batches), and every other one after it.
    """
    bad: list[tuple[str, str]] = []
    # Most jobs share a provider and model: each pair is looked up once.
    targets: dict[tuple[str | None, str | None], tuple[ModelInfo | None, list[tuple[str, str]]]]
    targets = {}
    for i, spec in enumerate(plan.specs):
        pair = (spec.provider, spec.model)
        if pair not in targets:
            targets[pair] = _target_info(provider, model, spec.provider, spec.model)
            _warn_deprecated(plan, targets[pair][0])
        info, problems = targets[pair]
        found = problems if info is None else info.check(spec)
        if found:
            place = (
                tr("row {row}: ").format(row=spec.row_index + 1)
                if rows and spec.row_index is not None
                else f"jobs[{i}]."
            )
            bad.extend((f"{place}{fld}", msg) for fld, msg in found)
    if bad:
        raise problems_error("", bad)


def _warn_deprecated(plan: Plan, info: ModelInfo | None) -> None:
    """A deprecated model is offered with its note: once in the plan's warnings."""
    if info is None or info.deprecated is None:
        return
    note = info.lifecycle_note()
    if note:
        warning = tr("{model}: {note}").format(model=info.id, note=note)
        if warning not in plan.warnings:
            plan.warnings.append(warning)


def _target_info(
    provider: str, model: str, job_provider: str | None, job_model: str | None
) -> tuple[ModelInfo | None, list[tuple[str, str]]]:
    """The model a job with ``job_provider``/``job_model`` runs on (the batch's ``provider``/
    ``model`` where it names none), or ``None`` and the (field, problem) that says why not."""
    try:
        p, m = resolve_target(provider, model, job_provider, job_model)
        caps = capabilities_of(p)
    except InputError as e:
        return None, [("provider", e.message)]
    info = caps.model(m)
    if info is None:
        known = ", ".join(x.id for x in caps.offered())
        return None, [
            (
                "model",
                tr("{provider} has no model {model!r} (known: {known})").format(
                    provider=caps.label, model=m, known=known
                ),
            )
        ]
    refusal = info.refusal()
    if refusal:
        return None, [("model", refusal)]
    return info, []


def fingerprint(provider: str, model: str, output_dir: Path, specs: list[JobSpec]) -> str:
    """Identity of a batch: the same jobs, provider, model and output folder give the same
    fingerprint, so running it again resumes instead of paying again."""
    h = hashlib.sha256()
    h.update(json.dumps([provider, model, str(output_dir.resolve())]).encode())
    for s in specs:
        h.update(s.model_dump_json(exclude={"row_values", "row_index", "row_indexes"}).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class SheetBatch:
    """Everything a spreadsheet batch is planned from (what the window's editor holds)."""

    table: Table
    prompt: str
    filename: str
    negative: str = ""
    defaults: JobDefaults = field(default_factory=JobDefaults)
    columns: RowColumns = field(default_factory=RowColumns)
    variations: dict[str, list[str]] = field(default_factory=dict)
    per: Per = field(default_factory=Per)
    """One image per row, product or option value (``atelier.sheet.products``)."""
    rows: tuple[int, ...] | None = None
    """The rows chosen (0-based, in sheet order); ``None``: every row."""

    def plan(self) -> Plan:
        """``plan_from_table`` on these inputs (see there for errors)."""
        return plan_from_table(
            self.table,
            self.prompt,
            self.filename,
            self.negative,
            self.defaults,
            rows=list(self.rows) if self.rows is not None else None,
            columns=self.columns,
            variations=self.variations,
            per=self.per,
        )
