"""Which spreadsheet rows a batch makes: the designer's ticks, and the filters that help choose
them (a search over the row values, "only rows without an image").

Plain Python over a ``Table`` (no Qt): the window's sheet model keeps a ``RowSelection`` and
hands ``RowSelection.planned()`` to the plan (``SheetBatch.rows``). Every operation is a loop
over the rows in Python without a call into Qt per row, so ticking "select all" on a
100,000-row sheet costs milliseconds.
"""

from __future__ import annotations

import re

from atelier.sheet.tabular import Table

IMAGE_COLUMNS = frozenset(
    {
        "Image Src",  # Shopify: the product's photo (filled down to its variant rows)
        "Variant Image",  # Shopify: a variant's own photo
        "Images",  # WooCommerce: the product's photo URLs, comma-separated
        "商品画像URL",  # Rakuten (older item.csv)
    }
)
"""Columns that hold a row's existing product photo, by shop convention."""

_IMAGE_COLUMN_PATTERN = re.compile(r"^(商品画像(パス|URL)?\d*|画像\d*)$")
"""Numbered photo columns of Japanese shop exports (Rakuten ``商品画像パス1``, BASE ``画像1``)."""


def image_columns(headers: list[str]) -> list[int]:
    """Indexes of the columns in ``headers`` that hold a product photo (``IMAGE_COLUMNS``, or
    a numbered Japanese photo column); empty when the sheet has none."""
    return [
        i
        for i, name in enumerate(headers)
        if name in IMAGE_COLUMNS or _IMAGE_COLUMN_PATTERN.match(name)
    ]


def has_image(table: Table, row: int, columns: list[int] | None = None) -> bool:
    """Whether row ``row`` (0-based) already has a product photo: a non-blank cell in one of its
    image columns (``image_columns``; pass them to save looking them up per row).

    "Has an image" follows the shop's own export, not the output folder: a Shopify row whose
    ``Image Src`` (filled down from its product's first row) or ``Variant Image`` is set has a
    photo in the shop; a file Atelier made earlier does not count. A sheet without an image
    column has no row with an image.
    """
    cols = image_columns(table.headers) if columns is None else columns
    cells = table.rows[row]
    return any(cells[i].strip() for i in cols if i < len(cells))


class RowSelection:
    """The ticked rows of a table and the rows its filter shows.

    Rows the export's own conventions leave out (``table.excluded``, Shopify's image-only rows)
    can never be ticked. A new selection has every other row ticked and no filter.

    Attributes:
        table: the table the selection is of.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        n = len(table.rows)
        # One byte per row, not a set: "select all" is one slice assignment.
        self._tickable = bytearray(b"\x01") * n
        for r in table.excluded:
            if 0 <= r < n:
                self._tickable[r] = 0
        self._ticked = bytearray(self._tickable)
        self._shown = bytearray(b"\x01") * n
        self._haystacks: list[str] | None = None
        self._images = image_columns(table.headers)
        self.search = ""
        self.without_image = False

    # ---- ticks ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ticked)

    def tickable(self, row: int) -> bool:
        """Whether row ``row`` (0-based) can be ticked (it is no excluded row)."""
        return bool(self._tickable[row])

    def is_ticked(self, row: int) -> bool:
        """Whether row ``row`` (0-based) is ticked."""
        return bool(self._ticked[row])

    def set_ticked(self, row: int, ticked: bool) -> bool:
        """Tick or untick row ``row`` (0-based); ``False`` when it cannot be ticked or already
        was as asked."""
        if not self._tickable[row] or bool(self._ticked[row]) == ticked:
            return False
        self._ticked[row] = 1 if ticked else 0
        return True

    def set_shown(self, ticked: bool) -> None:
        """Tick (``True``, "select all") or untick ("select none") every row the filter shows;
        rows it hides keep their ticks."""
        if not self.filtering():
            self._ticked[:] = self._tickable if ticked else bytes(len(self._ticked))
            return
        for r, shown in enumerate(self._shown):
            if shown and self._tickable[r]:
                self._ticked[r] = 1 if ticked else 0

    def ticked_count(self) -> int:
        """How many rows are ticked."""
        return self._ticked.count(1)

    def tickable_count(self) -> int:
        """How many rows can be ticked (the rows that can make a job)."""
        return self._tickable.count(1)

    def planned(self) -> tuple[int, ...] | None:
        """The ticked rows (0-based, in sheet order) for ``SheetBatch.rows``; ``None`` when
        every row that can be ticked is, so the plan takes the whole sheet as before."""
        if self._ticked == self._tickable:
            return None
        return tuple(r for r, t in enumerate(self._ticked) if t)

    def keep_ticks_of(self, other: RowSelection) -> None:
        """Take ``other``'s ticks (the same file read again with other options and the same
        number of rows): the designer's choice survives a re-import."""
        if len(other) == len(self):
            self._ticked = bytearray(
                a & b for a, b in zip(other._ticked, self._tickable, strict=True)
            )

    # ---- filter ---------------------------------------------------------------------------
    def filtering(self) -> bool:
        """Whether a filter hides rows."""
        return bool(self.search) or self.without_image

    def set_filter(self, search: str, without_image: bool) -> None:
        """Show only rows one of whose values contains ``search`` (case-insensitive; blank:
        every row) and, with ``without_image``, that have no photo (``has_image``)."""
        self.search = search.strip().casefold()
        self.without_image = without_image
        if not self.filtering():
            self._shown[:] = b"\x01" * len(self._shown)
            return
        hay = self._haystack() if self.search else None
        needle = self.search
        for r in range(len(self._shown)):
            ok = (hay is None or needle in hay[r]) and not (
                without_image and has_image(self.table, r, self._images)
            )
            self._shown[r] = 1 if ok else 0

    def shown(self, row: int) -> bool:
        """Whether the filter shows row ``row`` (0-based)."""
        return bool(self._shown[row])

    def shown_count(self) -> int:
        """How many rows the filter shows."""
        return self._shown.count(1)

    def _haystack(self) -> list[str]:
        # Built once per table, on the first search: every later keystroke is one `in` per row.
        if self._haystacks is None:
            self._haystacks = ["\x1f".join(cells).casefold() for cells in self.table.rows]
        return self._haystacks
