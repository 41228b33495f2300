"""Variations: every row made once per combination of value lists (``scene`` = marble table,
linen, outdoor → rows × 3 jobs), each value usable as ``{scene}`` in the prompt, negative
prompt and file name, as Canva's bulk create multiplies a design by data.

Written in the window and in ``--vary`` as ``name: value | value | value`` (one variation per
line); stored in templates as ``{name: [values…]}``.
"""

from __future__ import annotations

import itertools

from atelier.core.errors import InputError
from atelier.core.i18n import tr

MAX_COMBINATIONS = 1000  # per row: more is a typo, not a batch anyone means to pay for


def parse_variations(text: str, where: str | None = None) -> dict[str, list[str]]:
    """``"scene: marble table | linen\\nlight: dawn | noon"`` → ``{"scene": [...], ...}``
    (``=`` works as well as ``:``; blank lines are skipped).

    Raises:
        InputError: naming the line: no name, no values, a blank value, a brace in the name,
            a name given twice.
    """
    out: dict[str, list[str]] = {}
    where = where or tr("Variations")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sep = min((i for i in (line.find(":"), line.find("=")) if i >= 0), default=-1)
        place = tr("{where} line {line}").format(where=where, line=n)
        if sep <= 0:
            raise InputError(
                place,
                tr("write it as 'name: value | value', got {text!r}").format(text=line.strip()),
            )
        name, rest = line[:sep].strip(), line[sep + 1 :]
        values = [v.strip() for v in rest.split("|")]
        if not name or "{" in name or "}" in name:
            raise InputError(
                place, tr("{name!r} is not a variation name (no braces)").format(name=name)
            )
        if name in out:
            raise InputError(place, tr("variation {{{name}}} is given twice").format(name=name))
        if not any(values) or any(not v for v in values):
            raise InputError(
                place,
                tr("variation {{{name}}}: every value between | must be filled").format(name=name),
            )
        out[name] = values
    return out


def format_variations(variations: dict[str, list[str]]) -> str:
    """The text ``parse_variations`` reads back."""
    return "\n".join(f"{name}: {' | '.join(values)}" for name, values in variations.items())


def combinations(variations: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of one value per variation, in order (``[{}]`` without variations).

    Raises:
        InputError: more than ``MAX_COMBINATIONS`` per row.
    """
    count = 1
    for values in variations.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise InputError(
            "variations",
            tr("{count:,} combinations per row; at most {limit:,}").format(
                count=count, limit=MAX_COMBINATIONS
            ),
        )
    names = list(variations)
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*variations.values())
    ]


def check_names(variations: dict[str, list[str]], headers: list[str]) -> None:
    """A variation may not take a column's name (``{Title}`` would mean two things).

    Raises:
        InputError: naming the variation and the column.
    """
    clash = [name for name in variations if name in headers]
    if clash:
        raise InputError(
            "variations",
            tr("{names} is already a column of the sheet; name the variation differently").format(
                names=", ".join("{" + c + "}" for c in clash)
            ),
        )


def describe(rows: int, variations: dict[str, list[str]], jobs: int) -> str:
    """``"11 rows × 3 scene = 33 jobs"``."""
    factors = "".join(f" × {len(v)} {name}" for name, v in variations.items())
    return tr("{rows:,} rows{factors} = {jobs:,} jobs").format(
        rows=rows, factors=factors, jobs=jobs
    )
