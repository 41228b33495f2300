from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from atelier.core.errors import InputError
from atelier.sheet.shopify import fill_variant_rows as shopify_fill_down
from atelier.sheet.tabular import detect_encoding, read_csv, read_table

JA = "品番,商品名,カラー\nJP-001,急須,黒\nJP-002,湯呑み,白\nJP-003,土鍋,茶\n"
ZH = "商品编号,名称,颜色\nCN-001,茶壶,黑色\nCN-002,茶杯,白色\nCN-003,砂锅,棕色\n"
ZH_TW = "商品編號,名稱,顏色\nTW-001,茶壺,黑色\nTW-002,茶杯,白色\nTW-003,砂鍋,棕色\n"
KO = "상품번호,이름,색상\nKR-001,찻주전자,검정\nKR-002,찻잔,흰색\nKR-003,뚝배기,갈색\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (JA, "utf-8"),
        (JA, "utf-8-sig"),
        (JA, "shift_jis"),
        (JA, "cp932"),
        (ZH, "gbk"),
        (ZH, "gb18030"),
        (ZH_TW, "big5"),
        (KO, "euc_kr"),
        (KO, "cp949"),
    ],
)
def test_cjk_encodings_are_detected(tmp_path: Path, text: str, encoding: str) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(text.encode(encoding))
    t = read_csv(p)
    assert t.headers == text.splitlines()[0].split(",")
    assert t.rows[0] == text.splitlines()[1].split(",")
    assert len(t.rows) == 3


def test_real_shift_jis_catalog(data_dir: Path) -> None:
    t = read_csv(data_dir / "jp-zakka-shift_jis.csv")
    assert t.encoding == "cp932"
    assert t.headers[0] == "品番"
    assert t.rows[0][:2] == ["JP-TEA-001", "急須"]


def test_encoding_override_is_used(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("a,b\né,ü\n".encode("cp1252"))
    assert read_csv(p, encoding="latin_1").rows == [["é", "ü"]]
    with pytest.raises(InputError, match=r"t\.csv: cannot decode as utf_8"):
        read_csv(p, encoding="utf_8")


def test_utf8_bom_is_not_part_of_first_header(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffHandle,Title\nh,T\n".encode())
    assert detect_encoding(p.read_bytes()) == "utf_8_sig"
    assert read_csv(p).headers == ["Handle", "Title"]


@pytest.mark.parametrize("delim", [",", ";", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delim: str) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        delim.join(["Variant SKU", "Option1 Value", "Price"])
        + "\n"
        + delim.join(["A-1", "Red", "3,50" if delim != "," else "3.50"])
        + "\n",
        encoding="utf-8",
    )
    t = read_csv(p)
    assert t.delimiter == delim
    assert t.headers == ["Variant SKU", "Option1 Value", "Price"]


def test_quoted_fields_with_commas_quotes_and_newlines(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text('SKU,Body\nA,"one, two ""three""\nsecond line"\nB,plain\n', encoding="utf-8")
    t = read_csv(p)
    assert t.rows == [["A", 'one, two "three"\nsecond line'], ["B", "plain"]]
    assert t.line_numbers == [2, 4]


def test_ragged_rows_are_reported_by_line_and_kept(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n", encoding="utf-8")
    t = read_csv(p)
    assert t.rows[1] == ["4", "5", "", ""]  # padded, and widened for the long row below
    assert t.rows[2] == ["6", "7", "8", "9"]
    assert t.headers == ["a", "b", "c", "Column 4"]
    note = " ".join(t.notes)
    assert "line 3 has 2 fields" in note and "line 4 has 4 fields" in note


def test_duplicate_and_empty_headers_are_renamed_and_reported(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("Name,,Name\n1,2,3\n", encoding="utf-8")
    t = read_csv(p)
    assert t.headers == ["Name", "Column 2", "Name (2)"]
    assert len(t.notes) == 2


def test_empty_file_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        read_csv(p)


def test_xlsx_is_read_with_typed_cells(tmp_path: Path) -> None:
    p = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["品番", "Price", "Qty", "Active"])
    ws.append(["JP-1", 12.5, 3.0, True])
    ws.append([None, None, None, None])
    ws.append(["JP-2", 7, 1, False])
    wb.save(p)
    t = read_table(p)
    assert t.headers == ["品番", "Price", "Qty", "Active"]
    assert t.rows == [["JP-1", "12.5", "3", "TRUE"], ["JP-2", "7", "1", "FALSE"]]
    assert t.line_numbers == [2, 4]


def test_shopify_fill_down_copies_product_fields_only(data_dir: Path) -> None:
    t = read_csv(data_dir / "shopify-home-goods.csv")
    second = t.row_dict(1)
    assert second["Title"] == "" and second["Option1 Value"] == "Ocean Breeze"
    t.rows[1][t.headers.index("Image Src")] = ""
    t.rows[1][t.headers.index("Image Position")] = ""
    assert shopify_fill_down(t) > 0
    second, first = t.row_dict(1), t.row_dict(0)
    assert second["Title"] == "Nordic Scented Candle"
    assert second["Option1 Value"] == "Ocean Breeze"
    assert second["Variant SKU"] == "NH-CND-002"
    assert second["Image Src"] == first["Image Src"]  # the product's photo, its reference
    assert second["Image Position"] == ""  # other image and variant columns are not filled
