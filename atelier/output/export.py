"""CSV export of a batch's results, safe to open in Excel, Numbers or Google Sheets.

Cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab/carriage return) are prefixed with
an apostrophe so a spreadsheet shows them as text instead of running them as formulas (OWASP,
"CSV Injection"). A prompt such as ``=HYPERLINK("http://…")`` stays harmless text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from atelier.core.files import atomic_write
from atelier.core.models import BatchReport

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "job_id",
    "status",
    "prompt",
    "output_path",
    "output_paths",
    "attempts",
    "duration_ms",
    "cost",
    "error_type",
    "error",
)


def escape_cell(value: object) -> str:
    """``value`` as text, neutralised when a spreadsheet would treat it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def column_order(rows: Iterable[Iterable[str]]) -> list[str]:
    """The sheet's column order, put back together from rows that each name their columns in
    that order but leave some out (an empty cell is not kept in a job's ``row_values``): a
    column first seen in a later row goes right after the column before it there (or right
    before the column after it); a row sharing no column with those seen adds its own at the
    end."""
    order: list[str] = []
    seen: set[str] = set()
    # Most rows name the same columns: each distinct list is placed once.
    for row in dict.fromkeys(tuple(r) for r in rows):
        at: int | None = None  # where this row's next new column goes
        for i, col in enumerate(row):
            if col in seen:
                at = order.index(col) + 1
                continue
            if at is None:
                later = next((c for c in row[i + 1 :] if c in seen), None)
                at = order.index(later) if later is not None else len(order)
            order.insert(at, col)
            seen.add(col)
            at += 1
    return order


def to_csv(rows: Iterable[Sequence[object]], header: Sequence[str]) -> str:
    """CSV text (UTF-8 with BOM is added by ``write_csv``), every cell escaped."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([escape_cell(h) for h in header])
    for row in rows:
        w.writerow([escape_cell(v) for v in row])
    return buf.getvalue()


def write_results_csv(report: BatchReport, path: Path) -> Path:
    """Write one row per job; UTF-8 with a BOM so Excel reads Japanese, Chinese and Korean.

    Raises:
        OutputError: the file cannot be written.
    """
    rows = [
        (
            r.job_id,
            r.status,
            r.prompt,
            r.output_path or "",
            " ".join(r.output_paths),
            r.attempts,
            r.duration_ms if r.duration_ms is not None else "",
            "" if r.cost is None else f"{r.cost:.6f}",
            r.error_type or "",
            r.error or "",
        )
        for r in report.results
    ]
    atomic_write(path, ("\ufeff" + to_csv(rows, COLUMNS)).encode("utf-8"))
    return path
