"""Spreadsheets as shops export them: the header is found below notes and titles, section rows
are set aside with a note, and the user can say where the header is."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from atelier.cli.main import run_command
from atelier.core.errors import InputError
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import find_header, read_csv, read_table
from tests.data import exports


def test_rakuten_cp932_notes_above_the_header_are_skipped(tmp_path: Path) -> None:
    t = read_csv(exports.rakuten_item_csv(tmp_path))
    assert t.encoding == "cp932"
    assert t.headers == exports.RAKUTEN_HEADER
    assert t.rows == exports.RAKUTEN_ROWS
    assert t.header_line == 5 and t.line_numbers == [6, 7, 8]
    note = t.notes[0]
    assert "header on line 5 (detected)" in note and "楽天市場" in note and "出力日時" in note


def test_header_row_override_and_its_error(tmp_path: Path) -> None:
    p = exports.rakuten_item_csv(tmp_path)
    t = read_csv(p, header_row=2)  # the user's choice wins, even a poor one
    assert t.headers[:2] == ["出力日時", "2026/11/30 10:15"] and t.header_line == 2
    with pytest.raises(InputError, match=r"item\.csv line 4: --header-row 4: no row starts"):
        read_csv(p, header_row=4)  # line 4 is blank


def test_xlsx_title_row_and_section_rows(tmp_path: Path) -> None:
    t = read_table(exports.pantry_xlsx(tmp_path))
    assert t.header_line == 3
    assert t.headers == [*exports.PANTRY_HEADER, "Section"]
    assert [r[0] for r in t.rows] == ["R-1", "R-2", "M-1", "M-2"]
    assert [r[-1] for r in t.rows] == ["RICE", "RICE", "MILLETS", "MILLETS"]
    assert t.line_numbers == [5, 6, 8, 9]
    notes = " ".join(t.notes)
    assert "header on row 3 (detected)" in notes and "Pantry price list" in notes
    assert "2 section row(s) skipped (row 4 'RICE', row 7 'MILLETS')" in notes
    plan = plan_from_table(t, "{Product} from {Origin}, {Section} aisle", "{SKU}")
    assert plan.specs[2].prompt == "Foxtail millet from Karnataka, MILLETS aisle"


def test_blank_line_and_spaces_before_the_bom(tmp_path: Path) -> None:
    urls = [["https://shop.example/a.jpg"], ["https://shop.example/b.jpg"]]
    t = read_csv(exports.woocommerce_csv(tmp_path, urls))
    assert t.headers == exports.WOO_HEADER  # no "\ufeffID"
    assert t.header_line == 2 and t.line_numbers == [3, 4]
    assert t.row_dict(1)["Images"] == "https://shop.example/b.jpg"


def test_utf16_unicode_text(tmp_path: Path) -> None:
    t = read_csv(exports.utf16_tsv(tmp_path))
    assert t.encoding == "utf_16" and t.delimiter == "\t"
    assert t.headers == ["品番", "商品名", "색상"] and t.rows[1] == ["JP-2", "湯呑み", "흰색"]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([["a", "b", "c"], ["1", "2", "3"]], 0),
        ([["prompt"], ["a cat"], ["a dog"]], 0),  # one column: the first row
        ([["Title only"], [], ["x", "y", "z", "w"], ["1", "2", "3", "4"]], 2),
        ([["Exported", "2026-01-01"], ["a", "b", "c", "d", "e"], ["1", "2", "3", "4", "5"]], 1),
    ],
)
def test_find_header(records: list[list[str]], expected: int) -> None:
    assert find_header(records) == expected


def test_unknown_column_lists_the_columns_and_the_header_line(tmp_path: Path) -> None:
    p = exports.rakuten_item_csv(tmp_path)
    err = io.StringIO()
    argv = ["run", "--csv", str(p), "--prompt", "{商品} photo", "--provider", "draft"]
    assert run_command([*argv, "--estimate-only"], io.StringIO(), err) == 2
    msg = err.getvalue()
    assert "unknown column {商品}" in msg
    assert "header on line 5 of item.csv" in msg and "--header-row" in msg
    assert "商品管理番号（商品URL）, 商品名, 販売価格, カラー" in msg
    out = io.StringIO()
    assert (
        run_command(
            [*argv[:4], "{商品名} photo", *argv[5:], "--header-row", "5", "--estimate-only"],
            out,
            err,
        )
        == 0
    )
    assert "3 jobs" in out.getvalue()
