"""The job of one spreadsheet row: the columns that steer it, where it is in words, and the
``JobSpec`` its rendered templates and cells make."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from atelier.core.i18n import tr
from atelier.core.models import JobDefaults, JobSpec
from atelier.sheet.input_images import reference_cell
from atelier.sheet.render import RenderedRow
from atelier.sheet.tabular import Table


@dataclass(frozen=True)
class RowColumns:
    """Optional columns that steer each row: a reference image (and mask) to edit, and the
    provider/model that makes it (blank cells use the batch's)."""

    reference: str | None = None
    mask: str | None = None
    provider: str | None = None
    model: str | None = None

    def names(self) -> list[tuple[str, str]]:
        return [
            (k, v)
            for k, v in (
                ("reference", self.reference),
                ("mask", self.mask),
                ("provider", self.provider),
                ("model", self.model),
            )
            if v
        ]


class RowPlace:
    """Where a row (and its variation) is, in words (``row 4 (line 5), Color 'red'``), said
    only when a message needs it: a 100,000-row plan names a row once in a while, so the
    sentence is not made for every row. Call it for the text."""

    __slots__ = ("combo", "i", "lines")

    def __init__(self, lines: list[int], i: int, combo: dict[str, str]) -> None:
        self.lines, self.i, self.combo = lines, i, combo

    def __call__(self) -> str:
        where = tr("row {row} (line {line})").format(row=self.i + 1, line=self.lines[self.i])
        return where + "".join(f", {k} {v!r}" for k, v in self.combo.items())


def row_spec(
    r: RenderedRow,
    output_path: str,
    i: int,
    values: dict[str, str],
    d: JobDefaults,
    cols: RowColumns,
    base_dir: Path,
    place: Callable[[], str],
    like: JobSpec | None = None,
) -> JobSpec:
    """The job of spreadsheet row ``i`` (0-based): its rendered prompt, the batch's defaults,
    and what its steering columns say (a reference image makes it an ``edit``). ``values``:
    the row's filled cells (``Table.row_filled``), the job's ``row_values``. ``like``: a
    validated job of the same batch to copy a ``generate`` job from.

    Raises:
        InputError: a reference image or mask that does not exist (row and column named).
    """

    def cell(column: str | None) -> str:
        return values.get(column, "").strip() if column else ""

    ref, mask = cell(cols.reference), cell(cols.mask)
    if like is not None and not ref:
        return _copied(like, r, output_path, i, values, cell(cols.provider), cell(cols.model))
    where = place() if ref else ""
    return JobSpec(
        prompt=r.prompt,
        negative_prompt=r.negative_prompt,
        output_path=output_path,
        size=d.size,
        quality=d.quality,
        output_format=d.output_format,
        transparent_background=d.transparent_background,
        moderation=d.moderation,
        sample_count=d.sample_count,
        seed=d.seed,
        row_index=i,
        row_values=values,
        provider=cell(cols.provider) or None,
        model=cell(cols.model) or None,
        operation="edit" if ref else "generate",
        reference_images=reference_cell(
            ref,
            base_dir,
            tr("{where}, column {column!r}").format(where=where, column=cols.reference),
        )
        if ref
        else [],
        style_preset=d.style_preset,
        complexity=d.complexity,
        mask=reference_cell(
            mask, base_dir, tr("{where}, column {column!r}").format(where=where, column=cols.mask)
        )[0]
        if (ref and mask)
        else None,
    )


def _copied(
    like: JobSpec,
    r: RenderedRow,
    output_path: str,
    i: int,
    values: dict[str, str],
    provider: str,
    model: str,
) -> JobSpec:
    """The ``generate`` job of row ``i``, copied from ``like``, a validated job of the same
    batch. The batch's settings were validated with ``like``; what differs from row to row is
    checked already (a prompt of 1 to PROMPT_MAX characters, a safe file name, cells that are
    text), so the job is a copy, not validated again: 4 times faster, on 100,000 rows. Its
    lists are its own (a copy would share them); ``values`` becomes its ``row_values``.

    The copy is pydantic's own shallow copy (``BaseModel.__copy__``: a new instance, its
    ``__dict__`` copied, no validation) made in place: ``model_copy(update=…)`` copied the
    dict and the set of given fields and then updated both, 0.22 s per 100,000 jobs against
    0.07 s here (timeit, pydantic 2.14). tests/sheet/test_plan_large.py compares every
    copied job with the job validation makes, so a pydantic that copies otherwise is seen."""
    d = like.__dict__.copy()
    d.update(
        prompt=r.prompt,
        negative_prompt=r.negative_prompt,
        output_path=output_path,
        row_index=i,
        row_indexes=[],
        row_values=values,
        provider=provider or None,
        model=model or None,
        reference_images=[],
    )
    spec = _new_spec(JobSpec)
    _set(spec, "__dict__", d)
    # The fields given are those given to ``like``, and every copy shares its set: one set
    # per job is 728 bytes, 73 MB for 100,000 jobs (bench/plan_rows.py). Nothing in Atelier
    # reads it (no ``exclude_unset``) and pydantic only adds to it on assignment, of names a
    # job of the batch was given anyway.
    _set(spec, "__pydantic_fields_set__", like.model_fields_set)
    _set(spec, "__pydantic_extra__", None)  # JobSpec forbids extra fields
    _set(spec, "__pydantic_private__", None)  # and has no private attributes
    return spec


def copy_source(spec: JobSpec) -> JobSpec:
    """``spec`` as the job later rows are copied from (``_copied``): equal to it, its
    attributes set one by one on a new instance, so CPython keeps its ``__dict__`` as a
    key-sharing dict (PEP 412), and every ``__dict__.copy()`` of it is one too: 232 bytes a
    job instead of 464, 22 MB less for 100,000 jobs (tracemalloc, CPython 3.11). Where an
    interpreter makes plain dicts of them instead, this costs that memory, never a field."""
    src = _new_spec(JobSpec)
    for name, value in spec.__dict__.items():
        _set(src, name, value)
    _set(src, "__pydantic_fields_set__", set(spec.model_fields_set))
    _set(src, "__pydantic_extra__", None)
    _set(src, "__pydantic_private__", None)
    return src


_new_spec = JobSpec.__new__
_set = object.__setattr__


_RELEASED: list[str] = []
"""What a consumed table's row becomes while it is planned (``plan_from_table``): one shared
empty list, not one each (100,000 of them); the rows are cleared at the end."""


def add_groups(
    add: Callable[[list[int], dict[str, str], Callable[[], str]], None],
    table: Table,
    groups: list[list[int]],
    combos: list[dict[str, str]],
    release: bool,
) -> None:
    """``add`` each group's job per variation combination (its rows, its first row's filled
    cells with the combination, where it comes from); with ``release`` each row's cells are
    let go once its job holds them, and the table ends with no rows (``plan_from_table``)."""
    for group in groups:
        i = group[0]
        values = table.row_filled(i)
        if release:
            table.rows[i] = _RELEASED
        for combo in combos:
            place = RowPlace(table.line_numbers, i, combo)
            both = {**values, **combo} if combo else values
            add(group, dict(filter(itemgetter(1), both.items())) if combo else both, place)
    if release:  # no row is left holding the shared marker, which nothing may fill
        table.rows.clear()
