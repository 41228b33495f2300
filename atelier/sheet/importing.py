"""The one way a spreadsheet file becomes the table the rest of Atelier reads, for both front
ends (``atelier run --csv`` in ``atelier.cli.inputs`` and the window's spreadsheet page):
read and decode it (``atelier.sheet.tabular``), then apply the shop conventions
(``atelier.sheet.shopify``: image-only rows set aside, variant rows filled from their product,
``Default Title`` blanked). Plain values in, a ``Table`` out, no Qt: the window calls it on a
worker thread."""

from __future__ import annotations

from pathlib import Path

from atelier.sheet import shopify
from atelier.sheet.tabular import Table, read_table


def import_sheet(
    path: Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    fill_down: bool = True,
) -> Table:
    """The table of spreadsheet ``path`` (CSV/TSV/TXT, or XLSX/XLSM by its extension).

    Args:
        path: the file.
        encoding: a CSV's encoding (``None``: detected).
        delimiter: a CSV's delimiter (``None``: detected).
        sheet: an Excel file's sheet (``None``: the first).
        header_row: the 1-based line (CSV) or row (Excel) of the header (``None``: found).
        fill_down: a Shopify export's variant rows take their product's values where empty.

    Returns:
        The table, its ``notes`` saying what was detected and changed.

    Raises:
        InputError: naming the file (or sheet) and why, when it cannot be read, decoded or
            opened, is empty, or has no row at ``header_row``.
    """
    table = read_table(path, encoding, delimiter, sheet, header_row)
    shopify.prepare(table, fill_down=fill_down)
    return table
