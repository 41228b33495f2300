"""Spreadsheet import: CSV in the encodings Shopify and Excel users really send, and XLSX.

Encodings are detected by ``atelier.sheet.charsets``; the header row is found below notes and titles
(``find_header``) and section rows are set aside into a ``Section`` column. The caller can override the encoding, the
delimiter and the header row. Header names are kept exactly as written; only empty or duplicate names are changed
(and reported), because placeholders address columns by name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.errors import InputError
from atelier.core.files import regular_file
from atelier.core.i18n import N_, tr
from atelier.sheet.charsets import decoded_text
from atelier.sheet.charsets import detect_encoding as detect_encoding  # where it was, for its users

DELIMITERS = ",;\t"
# Shopify's Body (HTML) cells exceed the csv module's 128 KB default field limit.
csv.field_size_limit(2**31 - 1)


def at(unit: str, number: int) -> str:
    """``line 7`` (``unit="line"``, a CSV's) or ``row 7`` (``"row"``, a worksheet's), in the
    language in force."""
    return (tr("line {number}") if unit == "line" else tr("row {number}")).format(number=number)


@dataclass
class Table:
    """An imported sheet.

    Attributes:
        source: the file it came from.
        headers: column names, exactly as written (empty/duplicate ones renamed, see ``notes``).
        rows: one list of strings per data row, each as long as ``headers``.
        line_numbers: the file line (CSV) or sheet row (XLSX) each row starts on, 1-based.
        encoding: the encoding used (``None`` for XLSX).
        delimiter: the delimiter used (``None`` for XLSX).
        notes: readable warnings (ragged rows by line number, renamed headers, fill-down).
        excluded: rows that make no job, and why (see ``atelier.sheet.shopify``).
    """

    source: Path
    headers: list[str]
    rows: list[list[str]]
    line_numbers: list[int]
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    excluded: dict[int, str] = field(default_factory=dict)
    """Rows (0-based) that are no job, with the reason (Shopify's image-only rows)."""
    header_line: int = 1
    """The file line (CSV) or sheet row (XLSX) the header was taken from, 1-based."""

    def header_at(self) -> str:
        """``line 4`` (CSV) / ``row 3`` (XLSX): where the header was taken from."""
        return self.place(self.header_line)

    def place(self, number: int) -> str:
        """``line 7`` of a CSV / ``row 7`` of a worksheet, in the language in force."""
        return at("line" if self.delimiter is not None else "row", number)

    def header_place(self) -> str:
        """``line 4 of items.csv``, for messages."""
        return tr("{place} of {file}").format(place=self.header_at(), file=self.source.name)

    def row_dict(self, index: int) -> dict[str, str]:
        """Row ``index`` (0-based) as ``{header: value}``."""
        return dict(zip(self.headers, self.rows[index], strict=True))

    def row_filled(self, index: int) -> dict[str, str]:
        """Row ``index`` (0-based) as ``{header: value}`` of its non-empty cells only: a job's
        ``row_values``, made in one pass (``row_dict`` and a filter took twice as long on
        100,000 rows, ``bench/plan_rows.py``)."""
        row = self.rows[index]
        return dict(itertools.compress(zip(self.headers, row, strict=True), row))  # filled ones

    def is_shopify(self) -> bool:
        """True for a Shopify product export (variant rows leave product fields blank)."""
        return "Handle" in self.headers and "Variant SKU" in self.headers


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab: the one that splits the most of the sample's first 50 records
    into the same number of fields (more than one), read with quotes honoured, so notes above
    the header and commas inside quoted cells do not mislead it. Comma when unsure."""
    best, best_score = ",", 0
    for d in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=d, strict=False)
        try:
            widths = [len(r) for r in itertools.islice(reader, 50) if len(r) > 1]
        except csv.Error:
            continue
        score = Counter(widths).most_common(1)[0][1] if widths else 0
        if score > best_score:
            best, best_score = d, score
    return best


def _clean_headers(raw: list[str], notes: list[str]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        h = name
        if not h.strip():
            h = f"Column {i + 1}"  # a name the templates use: the same in every language
            notes.append(
                tr("column {number} has no header; named it {name!r}").format(number=i + 1, name=h)
            )
        if h in seen:
            seen[h] += 1
            new = f"{h} ({seen[h]})"
            notes.append(
                tr("column {number}: duplicate header {name!r} renamed {new!r}").format(
                    number=i + 1, name=h, new=new
                )
            )
            h = new
        else:
            seen[h] = 1
        headers.append(h)
    return headers


#: How many records from the top are looked at for the header row.
HEADER_SCAN = 30


def _filled(record: list[str]) -> int:
    return sum(1 for c in record if c.strip())


def find_header(records: list[list[str]]) -> int:
    """Index of the header row among the first records of a sheet (0 when unsure).

    Exports put notes above the header (a Rakuten ``item.csv``, a title in A1 of an Excel
    list): those rows fill one or two cells of a table whose rows fill many. The header is the
    first row that fills at least half as many cells as the fullest of the first
    ``HEADER_SCAN`` rows (and at least two).
    """
    scan = records[:HEADER_SCAN]
    widest = max((_filled(r) for r in scan), default=0)
    if widest <= 1:
        return 0
    need = max(2, -(-widest // 2))
    return next((i for i, r in enumerate(scan) if _filled(r) >= need), 0)


def _is_section(record: list[str], typical: float) -> bool:
    """A section row of a wide list ("RICE", "MILLETS"): only its first cell is filled, where
    the sheet's rows fill three or more."""
    if typical < 3 or not record or not record[0].strip():
        return False
    # any() stops at the first filled cell, so a data row costs one look, not a count.
    return not any(map(str.strip, itertools.islice(record, 1, None)))


@dataclass
class _Records:
    """Parsed records with the file lines they start and end on (blank lines dropped)."""

    cells: list[list[str]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)


def _choose_header(
    recs: _Records, header_row: int | None, where: str, unit: str
) -> tuple[int, list[str]]:
    """The index of the header record (``header_row`` is the user's 1-based line/row number)
    and the notes it leaves.

    Raises:
        InputError: ``header_row`` names a line where no row starts, or a blank one.
    """
    if header_row is not None:
        if header_row in recs.starts:
            h = recs.starts.index(header_row)
        else:
            starts = ", ".join(map(str, recs.starts[:8]))
            lines = tr(
                "--header-row {number}: no row starts on {place} (rows start on lines {starts}…)"
            )
            rows = tr(
                "--header-row {number}: no row starts on {place} (rows start on rows {starts}…)"
            )
            raise InputError(
                f"{where} {at(unit, header_row)}",
                (lines if unit == "line" else rows).format(
                    number=header_row, place=at(unit, header_row), starts=starts
                ),
            )
    else:
        h = find_header(recs.cells)
    notes: list[str] = []
    if h:
        above = "; ".join(
            f"{at(unit, recs.starts[i])}: {' '.join(c for c in recs.cells[i] if c.strip())[:60]!r}"
            for i in range(min(h, 5))
        )
        more = tr(" and {count} more").format(count=h - 5) if h > 5 else ""
        asked = tr("header on {place} (as asked); {count} row(s) above it skipped: {rows}")
        found = tr("header on {place} (detected); {count} row(s) above it skipped: {rows}")
        notes.append(
            (asked if header_row is not None else found).format(
                place=at(unit, recs.starts[h]), count=h, rows=above + more
            )
        )
    return h, notes


def _table_after_header(
    path: Path, recs: _Records, h: int, unit: str, notes: list[str]
) -> tuple[list[str], list[list[str]], list[int]]:
    """Headers, rows and their lines from the records after the header ``h``: ragged rows
    padded (or the table widened), section rows set aside into a ``Section`` column.

    Raises:
        InputError: a record over several lines with the wrong width (an unclosed quote).
    """
    headers = _clean_headers(recs.cells[h], notes)
    n = len(headers)
    body = range(h + 1, len(recs.cells))
    sample = sorted(_filled(recs.cells[i]) for i in list(body)[:HEADER_SCAN])
    typical = sample[len(sample) // 2] if sample and n >= 4 else 0.0
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[str] = []
    sections: list[str] = []
    section_of: list[str] = []
    current = ""
    for i in body:
        record, line = recs.cells[i], recs.starts[i]
        if _is_section(record, typical):
            current = record[0].strip()
            sections.append(f"{at(unit, line)} {current!r}")
            continue
        if len(record) != n:
            if recs.ends[i] > line:  # one record over several lines, the wrong width
                raise InputError(
                    f"{path} {at('line', line)}",
                    tr(
                        'a quote (") opened here is not closed where it should be: lines '
                        "{first}–{last} read as one row of {count} fields (the header has "
                        "{header}). Close or remove the quote"
                    ).format(first=line, last=recs.ends[i], count=len(record), header=n),
                )
            ragged.append(
                tr("{place} has {count} fields, header has {header}").format(
                    place=at(unit, line), count=len(record), header=n
                )
            )
            if len(record) > n:
                for extra in range(n, len(record)):
                    headers.append(f"Column {extra + 1}")
                for r in rows:
                    r.extend([""] * (len(record) - n))
                n = len(record)
            else:
                record = record + [""] * (n - len(record))
        rows.append(record)
        lines.append(line)
        section_of.append(current)
    if ragged:
        shown = "; ".join(ragged[:10]) + (
            "; " + tr("and {count} more").format(count=len(ragged) - 10) if len(ragged) > 10 else ""
        )
        notes.append(tr("ragged rows (kept, padded): {rows}").format(rows=shown))
    if sections:
        _add_section_column(headers, rows, section_of, sections, notes)
    return headers, rows, lines


def _add_section_column(
    headers: list[str],
    rows: list[list[str]],
    section_of: list[str],
    sections: list[str],
    notes: list[str],
) -> None:
    """Keep what the skipped section rows said: each row's section in a ``Section`` column."""
    name = _clean_headers([*headers, "Section"], [])[-1]
    headers.append(name)
    for r, sec in zip(rows, section_of, strict=True):
        r.append(sec)
    notes.append(
        tr(
            "{count} section row(s) skipped ({sections}); each row's section is in the "
            "{{{column}}} column"
        ).format(count=len(sections), sections=", ".join(sections), column=name)
    )


def _unclosed_quote(path: Path, line: int, end: int) -> None:
    """A quote opened on ``line`` is never closed: the rest of the file (to ``end``) was read
    as one cell, and its rows would be lost without a word.

    Raises:
        InputError: always, naming the line.
    """
    raise InputError(
        f"{path} {at('line', line)}",
        tr(
            'a quote (") opened here is never closed, so lines {first}–{last} read as one '
            "cell. Close or remove the quote"
        ).format(first=line, last=end),
    )


# Where str.splitlines breaks a line besides \r and \n (a CSV line does not end there).
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _lines(text: str) -> Iterable[str]:
    """``text``'s lines with their ends, as ``io.StringIO(text, newline="")`` gives them, but
    without its copy of the whole text at 4 bytes a character (110 MB for a 28 MB sheet)."""
    if _OTHER_BREAKS.search(text):
        return io.StringIO(text, newline="")
    return text.splitlines(keepends=True)  # the same breaks here, at C speed


def _csv_records(path: Path, text: str, delim: str) -> _Records:
    """Every non-blank record of ``text``. Cells are interned: a shop export repeats the same
    few values (``TRUE``, ``deny``, a vendor) down 100,000 rows, and each is kept once.

    Raises:
        InputError: malformed CSV, or a quote that is never closed (naming the line).
    """
    reader = csv.reader(_lines(text), delimiter=delim, strict=False)
    recs = _Records()
    start = 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            recs.cells.append(list(map(sys.intern, record)))
            recs.starts.append(line)
            recs.ends.append(reader.line_num)
    except csv.Error as e:
        raise InputError(
            f"{path} {at('line', reader.line_num)}", tr("malformed CSV: {reason}").format(reason=e)
        ) from e
    if recs.starts and recs.ends[-1] > recs.starts[-1] and text.count('"') % 2:
        _unclosed_quote(path, recs.starts[-1], recs.ends[-1])
    return recs


def read_csv(
    path: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read a CSV/TSV file.

    Args:
        path: the file.
        encoding: a codec name to force; detected when ``None``.
        delimiter: ``,`` ``;`` or tab to force; sniffed when ``None``.
        header_row: the file line (1-based) the header is on; detected when ``None``
            (``find_header``), so notes above it are skipped.

    Raises:
        InputError: naming the file (and line) when it cannot be read, decoded or parsed, or
            when ``header_row`` names a line where no row starts.
    """
    text, enc = decoded_text(path, encoding)
    delim = delimiter or sniff_delimiter(text[:65536])
    recs = _csv_records(path, text, delim)
    if not recs.cells:
        raise InputError(
            f"{path} {at('line', 1)}", tr("cannot read the header: the file has no rows")
        )
    h, notes = _choose_header(recs, header_row, str(path), "line")
    headers, rows, lines = _table_after_header(path, recs, h, "line", notes)
    return Table(path, headers, rows, lines, enc, delim, notes, header_line=recs.starts[h])


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return (
            v.isoformat(sep=" ", timespec="seconds")
            if v.time() != dt.time()
            else v.date().isoformat()
        )
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _top_records(ws: Any, width: int, scan_rows: int) -> _Records:
    """The first ``scan_rows`` non-blank rows of worksheet ``ws``, ``width`` cells wide, where
    the header is looked for."""
    top = _Records()
    for i, cells in enumerate(
        ws.iter_rows(max_row=scan_rows, max_col=width, values_only=True), start=1
    ):
        values = [_cell_text(c) for c in cells]
        if any(v.strip() for v in values):
            top.cells.append(values)
            top.starts.append(i)
            top.ends.append(i)
    return top


def read_xlsx(path: Path, sheet: str | None = None, header_row: int | None = None) -> Table:
    """Read the first (or the named) worksheet of an ``.xlsx`` file with openpyxl.

    ``header_row`` is the sheet's row number (1-based) of the header; detected when ``None``
    (a title in A1 and notes above the header are skipped, see ``find_header``).

    Raises:
        InputError: naming the file (or sheet) when it cannot be opened, is empty, or has no
            row at ``header_row``.
    """
    import openpyxl  # deferred: only needed for Excel files

    regular_file(path, N_("spreadsheet"))
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for broken files
        raise InputError(str(path), tr("cannot open as Excel: {reason}").format(reason=e)) from e
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(
                str(path),
                tr("no sheet named {sheet!r} (sheets: {sheets})").format(
                    sheet=sheet, sheets=wb.sheetnames
                ),
            )
        ws = wb[sheet] if sheet else wb.worksheets[0]
        where = tr("{file} sheet {sheet!r}").format(file=path, sheet=ws.title)
        # A sheet whose dimension claims a far cell (XFD1048576) would be read as a million
        # rows of 16,384 cells: the scan is capped, and the rows below the header are read
        # only as wide as the header.
        top = _top_records(ws, min(ws.max_column or 1, 1024), HEADER_SCAN + (header_row or 0))
        if not top.cells:
            raise InputError(where, tr("the sheet is empty"))
        h, notes = _choose_header(top, header_row, where, "row")
        raw_headers = top.cells[h]
        while raw_headers and not raw_headers[-1].strip():
            raw_headers.pop()
        n = max(len(raw_headers), 1)
        recs = _Records([raw_headers], [top.starts[h]], [top.starts[h]])
        it = ws.iter_rows(min_row=top.starts[h] + 1, max_col=n, values_only=True)
        for i, cells in enumerate(it, start=top.starts[h] + 1):
            if not any(c is not None and c != "" for c in cells):
                continue
            values = [_cell_text(c) for c in cells]
            if not any(v.strip() for v in values):
                continue
            recs.cells.append((values + [""] * n)[:n])
            recs.starts.append(i)
            recs.ends.append(i)
        headers, rows, lines = _table_after_header(path, recs, 0, "row", notes)
        return Table(path, headers, rows, lines, None, None, notes, header_line=recs.starts[0])
    finally:
        wb.close()


def read_table(
    path: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read a CSV/TSV/TXT or XLSX file by its extension (see ``read_csv``/``read_xlsx``)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet, header_row)
    return read_csv(path, encoding, delimiter, header_row)
