"""A spreadsheet row through the batch's templates: the prompt, the negative prompt and the
file name it renders to, every template problem found before anything is planned, and the
live preview of one row."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.core.errors import InputError
from atelier.core.i18n import N_, tr
from atelier.sheet.tabular import Table
from atelier.sheet.templates import Template, Where, describe_unknown, safe_relative_path


@dataclass(frozen=True)
class RowPreview:
    """What one row renders to (for the live preview)."""

    prompt: str
    negative_prompt: str
    file_name: str
    empty: list[str]
    error: str | None = None


PROMPT, FILE_NAME, NEGATIVE_PROMPT = N_("Prompt"), N_("File name"), N_("Negative prompt")
"""The templates' names, as their messages name them (``Prompt: unknown column {Titel}``)."""


def check_templates(
    headers: list[str], prompt: str, filename: str, negative: str = ""
) -> list[str]:
    """Every template problem, as readable sentences (empty list = fine)."""
    problems: list[str] = []
    fields = ((PROMPT, prompt), (FILE_NAME, filename), (NEGATIVE_PROMPT, negative))
    for key, text in fields:
        label = tr(key)
        if not text and key != PROMPT:
            continue
        if key == PROMPT and not text.strip():
            problems.append(tr("Prompt: the prompt template is empty"))
            continue
        try:
            tpl = Template.parse(text, label)
        except InputError as e:
            problems.append(str(e))
            continue
        unknown = tpl.unknown(headers)
        if unknown:
            problems.append(describe_unknown(label, unknown, headers))
    return problems


@dataclass(frozen=True)
class RenderedRow:
    """One row through the templates. ``file_name`` is already safe; ``name_problem`` says why
    the file-name template's result was replaced by ``row-N``."""

    prompt: str
    negative_prompt: str
    file_name: str
    empty: list[str]
    name_problem: str | None = None


class RowRenderer:
    """The prompt, negative prompt and file-name templates of a batch, parsed once; the one
    rule that turns a row into what a job is made of (used by the preview and the plan).

    Raises:
        InputError: on construction, every template problem in one message.
    """

    def __init__(
        self,
        headers: list[str],
        prompt: str,
        filename: str,
        negative: str,
        output_format: str,
        name_suffix: tuple[str, ...] = (),
    ) -> None:
        problems = check_templates(headers, prompt, filename, negative)
        if problems:
            raise InputError("template", "; ".join(problems))
        self._prompt = Template.parse(prompt, tr(PROMPT))
        self._negative = Template.parse(negative, tr(NEGATIVE_PROMPT)) if negative else None
        self._filename = Template.parse(filename, tr(FILE_NAME)) if filename.strip() else None
        self.output_format = output_format
        # Variations the file-name template does not name: their values are appended, so
        # each combination gets its own file instead of a numbered copy.
        self._suffix = name_suffix

    @classmethod
    def with_variations(
        cls,
        headers: list[str],
        prompt: str,
        filename: str,
        negative: str,
        output_format: str,
        variations: dict[str, list[str]],
    ) -> RowRenderer:
        """A renderer whose templates may also name ``variations``; the variations the
        file-name template leaves out are appended to each file name.

        Raises:
            InputError: as the constructor.
        """
        try:
            named = Template.parse(filename, tr(FILE_NAME)).placeholders if filename.strip() else []
        except InputError:
            named = []  # the constructor reports the template's problem with the others
        suffix = tuple(v for v in variations if v not in named)
        return cls([*headers, *variations], prompt, filename, negative, output_format, suffix)

    def render(self, values: dict[str, str], index: int, where: Where) -> RenderedRow:
        """Row ``index`` (0-based) with cell ``values``; ``where`` names it in messages."""
        text, empty = self._prompt.render(values)
        neg, empty_n = self._negative.render(values) if self._negative else ("", [])
        raw, empty_f = self._filename.render(values) if self._filename else (f"row-{index + 1}", [])
        if self._suffix:
            raw += "".join(f"-{values[k]}" for k in self._suffix)
        problem = None
        try:
            rel = safe_relative_path(raw, self.output_format, where)
        except InputError as e:
            rel = safe_relative_path(f"row-{index + 1}", self.output_format)
            problem = tr("{reason}; named {file!r} instead").format(reason=e, file=rel)
        empty += empty_n + empty_f
        return RenderedRow(text, neg, rel, list(dict.fromkeys(empty)) if empty else empty, problem)


def preview_row(
    table: Table,
    row: int,
    prompt: str,
    filename: str,
    negative: str,
    output_format: str,
    variations: dict[str, list[str]] | None = None,
) -> RowPreview:
    """Render row ``row`` (0-based) for the preview, with the first value of each variation;
    template errors come back in ``error``."""
    var = variations or {}
    try:
        renderer = RowRenderer.with_variations(
            table.headers, prompt, filename, negative, output_format, var
        )
    except InputError as e:
        return RowPreview("", "", "", [], e.message)
    values = {**table.row_dict(row), **{k: v[0] for k, v in var.items()}}
    r = renderer.render(values, row, f"row {row + 1}")
    return RowPreview(r.prompt, r.negative_prompt, r.file_name, r.empty)
