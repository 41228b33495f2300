"""``atelier.sheet.row_selection``: ticks, the search and "rows without an image" on plain tables."""

from __future__ import annotations

from pathlib import Path

from atelier.sheet.row_selection import RowSelection, has_image, image_columns
from atelier.sheet.tabular import Table


def _table(
    headers: list[str], rows: list[list[str]], excluded: dict[int, str] | None = None
) -> Table:
    return Table(
        Path("/tmp/x.csv"),
        headers,
        rows,
        list(range(2, len(rows) + 2)),
        excluded=excluded or {},
    )


def test_image_columns_follow_shop_conventions() -> None:
    headers = [
        "Handle",
        "Image Src",
        "Variant Image",
        "Images",
        "商品画像パス1",
        "画像2",
        "画像メモ",
    ]
    assert image_columns(headers) == [1, 2, 3, 4, 5]
    assert image_columns(["SKU", "Title"]) == []


def test_has_image_reads_the_rows_photo_cells() -> None:
    t = _table(["SKU", "Images"], [["A", "https://x/a.jpg"], ["B", "  "], ["C", ""]])
    assert [has_image(t, r) for r in range(3)] == [True, False, False]
    no_column = _table(["SKU"], [["A"]])
    assert not has_image(no_column, 0)


def test_ticks_filter_and_the_planned_rows() -> None:
    t = _table(
        ["SKU", "Title", "Image Src"],
        [
            ["A", "Oak board", "a.jpg"],
            ["B", "Linen napkin", ""],
            ["", "", "c.jpg"],
            ["D", "oak tray", ""],
        ],
        excluded={2: "image-only row"},
    )
    s = RowSelection(t)
    assert s.planned() is None and s.ticked_count() == 3 and s.tickable_count() == 3
    assert not s.tickable(2) and not s.set_ticked(2, True)
    s.set_filter("OAK", without_image=False)
    assert [s.shown(r) for r in range(4)] == [True, False, False, True] and s.shown_count() == 2
    s.set_shown(False)  # select none, of the rows shown
    assert s.planned() == (1,)
    s.set_filter("oak", without_image=True)
    assert [s.shown(r) for r in range(4)] == [False, False, False, True]
    s.set_shown(True)
    assert s.planned() == (1, 3)
    s.set_filter("", without_image=False)
    assert not s.filtering() and s.shown_count() == 4
    s.set_shown(True)
    assert s.planned() is None
    s.set_shown(False)
    assert s.planned() == () and s.ticked_count() == 0
    again = RowSelection(t)
    s.set_ticked(3, True)
    again.keep_ticks_of(s)
    assert again.planned() == (3,)
