"""Shopify exports as Shopify writes them: image-only rows are not products, "Default Title"
never reaches a prompt, and the estimate says how many distinct prompts a batch asks for."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from atelier.cli.main import run_command
from atelier.sheet import shopify
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import read_csv

HEADERS = [
    "Handle", "Title", "Vendor", "Option1 Name", "Option1 Value", "Variant SKU",
    "Variant Price", "Image Src", "Image Position", "Image Alt Text",
]  # fmt: skip
ROWS = [
    ["candle", "Nordic Candle", "Hygge", "Scent", "Pine", "C-1", "34", "https://x/c1.jpg", "1", "front"],
    ["candle", "", "", "", "Ocean", "C-2", "34", "", "", ""],
    ["candle", "", "", "", "Vanilla", "C-3", "34", "", "", ""],
    ["candle", "", "", "", "", "", "", "https://x/c2.jpg", "2", "side"],  # image only
    ["candle", "", "", "", "", "", "", "https://x/c3.jpg", "3", "top"],  # image only
    ["vase", "Ceramic Vase", "Clay", "Title", "Default Title", "V-1", "48", "https://x/v1.jpg", "1", ""],
    ["vase", "", "", "", "", "", "", "https://x/v2.jpg", "2", ""],  # image only
    ["vase", "", "", "", "", "", "", "https://x/v3.jpg", "3", ""],  # image only
    ["vase", "", "", "", "", "", "", "https://x/v4.jpg", "4", ""],  # image only
]  # fmt: skip


def _export(tmp_path: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(ROWS)
    p = tmp_path / "products_export.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    return p


def test_image_rows_are_not_products_and_default_title_is_blanked(tmp_path: Path) -> None:
    table = read_csv(_export(tmp_path))
    shopify.prepare(table)
    assert sorted(table.excluded) == [3, 4, 6, 7, 8]
    assert table.row_dict(5)["Option1 Value"] == ""  # "Default Title" blanked
    assert table.row_dict(1)["Title"] == "Nordic Candle"  # variants still filled down
    assert table.row_dict(3)["Title"] == ""  # image-only rows are not filled
    assert any("5 image-only rows" in n for n in table.notes)
    assert any("'Default Title'" in n for n in table.notes)
    plan = plan_from_table(table, "Photo of {Title} in {Option1 Value}", "{Variant SKU}")
    assert [s.output_path for s in plan.specs] == ["C-1.png", "C-2.png", "C-3.png", "V-1.png"]
    assert all("Default Title" not in s.prompt for s in plan.specs)
    assert plan.left_out == 5 and plan.distinct_prompts == 4


def test_the_estimate_says_left_out_rows_and_distinct_prompts(tmp_path: Path) -> None:
    sheet = _export(tmp_path)
    argv = [
        "run",
        "--csv",
        str(sheet),
        "--prompt",
        "Photo of {Title}",
        "--filename",
        "{Variant SKU}",
    ]
    argv += ["--provider", "draft", "--estimate-only"]
    out, err = io.StringIO(), io.StringIO()
    assert run_command(argv, out, err) == 0
    assert (
        "4 jobs, 2 distinct prompts (5 Shopify image-only rows left out: not products)"
        in out.getvalue()
    )
    out = io.StringIO()
    assert run_command([*argv, "--format", "json"], out, err) == 0
    doc = json.loads(out.getvalue())
    assert (doc["jobs"], doc["distinct_prompts"], doc["rows_left_out"]) == (4, 2, 5)
