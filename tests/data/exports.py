"""Spreadsheets in the shapes real shops export, built in tests (no shop's data is copied):
a Rakuten-style CP932 ``item.csv`` with notes above its header, an Excel list with a title in
A1 and section rows, a WooCommerce export with a blank line before its BOM and an ``Images``
column of URLs, and a UTF-16 "Unicode Text" file from Excel."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

RAKUTEN_PREAMBLE = [
    ["楽天市場 商品一括登録用ファイル"],
    ["出力日時", "2026/11/30 10:15"],
    ["※この行より下の2行目が項目名です"],
]
RAKUTEN_HEADER = ["コントロールカラム", "商品管理番号（商品URL）", "商品名", "販売価格", "カラー"]
RAKUTEN_ROWS = [
    ["n", "tea-001", "南部鉄器 急須", "8800", "黒"],
    ["n", "tea-002", "有田焼 湯呑み", "2200", "白"],
    ["n", "tea-003", "信楽焼 土鍋", "6600", "茶"],
]


def _csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def rakuten_item_csv(folder: Path) -> Path:
    """``item.csv`` in CP932: three note lines, a blank line, then the header on line 5."""
    text = _csv_text(RAKUTEN_PREAMBLE) + "\r\n" + _csv_text([RAKUTEN_HEADER, *RAKUTEN_ROWS])
    p = folder / "item.csv"
    p.write_bytes(text.encode("cp932"))
    return p


PANTRY_HEADER = ["SKU", "Product", "Origin", "Weight", "Price"]
PANTRY = [
    ("RICE", [["R-1", "Koshihikari", "Niigata", "5 kg", "32"], ["R-2", "Basmati", "Punjab", "2 kg", "12"]]),
    ("MILLETS", [["M-1", "Foxtail millet", "Karnataka", "1 kg", "6"], ["M-2", "Ragi", "Tamil Nadu", "1 kg", "5"]]),
]  # fmt: skip


def pantry_xlsx(folder: Path) -> Path:
    """An Excel price list: a title in A1, a blank row, the header on row 3, and a section row
    (one cell) above each group of products."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Price list"
    ws.append(["Pantry price list, winter 2026"])
    ws.append([])
    ws.append(PANTRY_HEADER)
    for section, rows in PANTRY:
        ws.append([section])
        for r in rows:
            ws.append(r)
    p = folder / "pantry.xlsx"
    wb.save(p)
    return p


WOO_HEADER = ["ID", "Type", "SKU", "Name", "Published", "Regular price", "Images"]


def woocommerce_csv(folder: Path, image_urls: list[list[str]]) -> Path:
    """WooCommerce's product export (WooCommerce docs, "Product CSV Import Schema": ``Images``
    is a comma-separated list of URLs), written with a blank line and spaces before the UTF-8
    BOM as some export plug-ins do. ``image_urls[i]`` are product ``i``'s photos."""
    rows = [
        [str(100 + i), "simple", f"WC-{i + 1}", name, "1", "19.00", ", ".join(urls)]
        for i, (name, urls) in enumerate(
            zip(["Linen napkin", "Oak board", "Wool throw"], image_urls, strict=False)
        )
    ]
    p = folder / "wc-product-export.csv"
    p.write_bytes(b"\n  " + "\ufeff".encode() + _csv_text([WOO_HEADER, *rows]).encode())
    return p


def utf16_tsv(folder: Path) -> Path:
    """Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated."""
    rows = [["品番", "商品名", "색상"], ["JP-1", "急須", "검정"], ["JP-2", "湯呑み", "흰색"]]
    p = folder / "unicode-text.txt"
    p.write_bytes(_csv_text(rows, "\t").encode("utf-16"))
    return p


def shopify_with_photos(src: Path, folder: Path, image_base: str | None = None) -> Path:
    """``src`` (a Shopify product export) as Shopify writes a shop whose products have extra
    photos: two image-only rows (``Handle`` and the ``Image …`` columns) after each product.
    With ``image_base`` every ``Image Src`` points there (``{base}/{handle}-{n}.jpg``)."""
    with src.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    h, src_i, pos_i = (header.index(c) for c in ("Handle", "Image Src", "Image Position"))
    alt_i = header.index("Image Alt Text")
    out: list[list[str]] = [header]
    for i, row in enumerate(body):
        handle = row[h]
        if image_base and row[src_i]:
            row[src_i] = f"{image_base}/{handle}-{row[pos_i] or 1}.jpg"
        out.append(row)
        if i + 1 == len(body) or body[i + 1][h] != handle:
            for n in (8, 9):  # after the variants' own photos
                extra = [""] * len(header)
                extra[h], extra[pos_i], extra[alt_i] = handle, str(n), f"{handle} detail {n}"
                extra[src_i] = f"{image_base or 'https://cdn.example.com'}/{handle}-{n}.jpg"
                out.append(extra)
    p = folder / "products_export_1.csv"
    p.write_text(_csv_text(out), encoding="utf-8")
    return p
