"""Spreadsheet import: CSV in the encodings Shopify and Excel users really send, and XLSX.

Encodings: UTF-8 (with or without BOM) is tried first, strictly; anything else is detected with
charset-normalizer among the CJK and Western code pages designers meet (Shift_JIS/CP932,
GBK/GB18030, Big5, EUC-KR/CP949, Windows-1252). The caller can override the encoding and the
delimiter. Header names are kept exactly as written; only empty or duplicate names are changed
(and reported), because placeholders address columns by name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from app.errors import InputError
from app.files import read_bytes, regular_file

#: Code pages offered to the detector and to the user's override menu.
CANDIDATE_ENCODINGS: tuple[str, ...] = (
    "utf_8",
    "cp932",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "gbk",
    "big5",
    "cp949",
    "euc_kr",
    "cp1252",
    "latin_1",
    "utf_16",
)
DELIMITERS = ",;\t"
# Shopify's Body (HTML) cells exceed the csv module's 128 KB default field limit.
csv.field_size_limit(2**31 - 1)


@dataclass
class Table:
    """An imported sheet.

    Attributes:
        source: the file it came from.
        headers: column names, exactly as written (empty/duplicate ones renamed, see ``notes``).
        rows: one list of strings per data row, each as long as ``headers``.
        line_numbers: the file line each row starts on (1-based; header is line 1 for CSV).
        encoding: the encoding used (``None`` for XLSX).
        delimiter: the delimiter used (``None`` for XLSX).
        notes: readable warnings (ragged rows by line number, renamed headers, fill-down).
        excluded: rows that make no job, and why (see ``app.shopify``).
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

    def row_dict(self, index: int) -> dict[str, str]:
        """Row ``index`` (0-based) as ``{header: value}``."""
        return dict(zip(self.headers, self.rows[index], strict=True))

    def is_shopify(self) -> bool:
        """True for a Shopify product export (variant rows leave product fields blank)."""
        return "Handle" in self.headers and "Variant SKU" in self.headers


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf_16_le``/``utf_16_be`` for UTF-16 text saved without a BOM: text in any script
    has a NUL in most high (or low) bytes of its first kilobytes, no 8-bit encoding does."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    pairs = len(sample) // 2
    odd = sum(1 for b in sample[1 : 2 * pairs : 2] if b == 0)
    even = sum(1 for b in sample[0 : 2 * pairs : 2] if b == 0)
    for enc, nuls, other in (("utf_16_le", odd, even), ("utf_16_be", even, odd)):
        if nuls > pairs * 0.3 and other < pairs * 0.05:
            try:
                data[: 2 * (len(data) // 2)].decode(enc)
            except UnicodeDecodeError:
                continue
            return enc
    return None


def detect_encoding(data: bytes) -> str:
    """Best encoding for ``data`` (a Python codec name).

    UTF-8 wins whenever the bytes decode as UTF-8; a BOM gives ``utf_8_sig`` (or ``utf_16``);
    UTF-16 without a BOM is told by its NUL bytes (Excel's "Unicode Text" is UTF-16). Otherwise
    charset-normalizer judges a sample cut at a line end (a cut inside a double-byte character
    would make every CJK code page look wrong), and the guess must decode the whole file;
    when it does not, the CJK code pages are tried in turn.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf_8_sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf_16"  # the codec reads the BOM and drops it
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16
    try:
        data.decode("utf-8")
        return "utf_8"
    except UnicodeDecodeError:
        pass
    sample = data[:262_144]
    if len(data) > len(sample) and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]
    best = from_bytes(
        sample, cp_isolation=[e for e in CANDIDATE_ENCODINGS if not e.startswith("utf")]
    ).best()
    # Decode with the superset code page: cp932 ⊃ shift_jis, gb18030 ⊃ gbk, cp949 ⊃ euc_kr.
    superset = {"shift_jis": "cp932", "gbk": "gb18030", "gb2312": "gb18030", "euc_kr": "cp949"}
    guesses = [superset.get(str(best.encoding), str(best.encoding))] if best is not None else []
    for enc in [*guesses, "cp932", "gb18030", "big5", "cp949", "cp1252"]:
        try:
            data.decode(enc)
            return enc
        except (UnicodeDecodeError, LookupError):
            continue
    return "latin_1"  # decodes anything; the user can pick the right one


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab, judged on the first lines; comma when unsure."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _clean_headers(raw: list[str], notes: list[str]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        h = name
        if not h.strip():
            h = f"Column {i + 1}"
            notes.append(f"column {i + 1} has no header; named it {h!r}")
        if h in seen:
            seen[h] += 1
            new = f"{h} ({seen[h]})"
            notes.append(f"column {i + 1}: duplicate header {h!r} renamed {new!r}")
            h = new
        else:
            seen[h] = 1
        headers.append(h)
    return headers


def _decoded(path: Path, encoding: str | None) -> tuple[str, str]:
    """The text of ``path`` (BOM and NUL characters removed) and the codec it was read with.

    Raises:
        InputError: the file cannot be read or decoded, or holds nothing.
    """
    data = read_bytes(path, "spreadsheet")
    enc = encoding or detect_encoding(data)
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as e:
        raise InputError(str(path), f"cannot decode as {enc}: {e}") from e
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.strip():
        raise InputError(str(path), "the file is empty")
    return text, enc


def _unclosed_quote(path: Path, line: int, end: int) -> None:
    """A quote opened on ``line`` is never closed: the rest of the file (to ``end``) was read
    as one cell, and its rows would be lost without a word.

    Raises:
        InputError: always, naming the line.
    """
    raise InputError(
        f"{path} line {line}",
        f'a quote (") opened here is never closed, so lines {line}–{end} read as one cell. '
        "Close or remove the quote",
    )


def read_csv(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Read a CSV/TSV file.

    Args:
        path: the file.
        encoding: a codec name to force; detected when ``None``.
        delimiter: ``,`` ``;`` or tab to force; sniffed when ``None``.

    Raises:
        InputError: naming the file (and line) when it cannot be read, decoded or parsed.
    """
    text, enc = _decoded(path, encoding)
    delim = delimiter or sniff_delimiter(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)
    notes: list[str] = []
    try:
        header_row = next(reader)
    except (StopIteration, csv.Error) as e:
        raise InputError(f"{path} line 1", f"cannot read the header: {e}") from e
    headers = _clean_headers(header_row, notes)
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[str] = []
    n = len(headers)
    start = reader.line_num + 1
    try:
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not record or (len(record) == 1 and record[0] == "" and n > 1):
                continue  # blank line
            if len(record) != n:
                if reader.line_num > line:  # one record over several lines, the wrong width
                    raise InputError(
                        f"{path} line {line}",
                        f'a quote (") opened here is not closed where it should be: lines '
                        f"{line}–{reader.line_num} read as one row of {len(record)} fields "
                        f"(the header has {n}). Close or remove the quote",
                    )
                ragged.append(f"line {line} has {len(record)} fields, header has {n}")
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
    except csv.Error as e:
        raise InputError(f"{path} line {reader.line_num}", f"malformed CSV: {e}") from e
    if lines and reader.line_num > lines[-1] and text.count('"') % 2:
        _unclosed_quote(path, lines[-1], reader.line_num)
    if ragged:
        shown = "; ".join(ragged[:10]) + (
            f"; and {len(ragged) - 10} more" if len(ragged) > 10 else ""
        )
        notes.append(f"ragged rows (kept, padded): {shown}")
    return Table(path, headers, rows, lines, enc, delim, notes)


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


def read_xlsx(path: Path, sheet: str | None = None) -> Table:
    """Read the first (or the named) worksheet of an ``.xlsx`` file with openpyxl.

    Raises:
        InputError: naming the file (or sheet) when it cannot be opened.
    """
    import openpyxl  # deferred: only needed for Excel files

    regular_file(path, "spreadsheet")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for broken files
        raise InputError(str(path), f"cannot open as Excel: {e}") from e
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(str(path), f"no sheet named {sheet!r} (sheets: {wb.sheetnames})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        notes: list[str] = []
        try:
            header_cells = next(it)
        except StopIteration as e:
            raise InputError(f"{path} sheet {ws.title!r}", "the sheet is empty") from e
        raw_headers = [_cell_text(c) for c in header_cells]
        while raw_headers and not raw_headers[-1]:
            raw_headers.pop()
        headers = _clean_headers(raw_headers, notes)
        n = len(headers)
        rows: list[list[str]] = []
        lines: list[int] = []
        # Only the header's columns: a sheet whose dimension claims a far cell (XFD1048576)
        # would otherwise be read as a million rows of 16,384 cells.
        it = ws.iter_rows(min_row=2, max_col=max(n, 1), values_only=True)
        for i, cells in enumerate(it, start=2):
            if not any(cells):
                continue
            values = [_cell_text(c) for c in cells]
            if not any(values):
                continue
            values = (values + [""] * n)[:n]
            rows.append(values)
            lines.append(i)
        return Table(path, headers, rows, lines, None, None, notes)
    finally:
        wb.close()


def read_table(
    path: Path, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None
) -> Table:
    """Read a CSV/TSV/TXT or XLSX file by its extension (see ``read_csv``/``read_xlsx``)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet)
    return read_csv(path, encoding, delimiter)
