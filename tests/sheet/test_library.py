"""The template library (saved, imported, exported, starters) and variations (rows × values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier.core.errors import InputError
from atelier.core.models import JobDefaults
from atelier.sheet import library
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import read_csv
from atelier.sheet.variations import combinations, format_variations, parse_variations
from tests.support.cli import run_cli


def test_starters_save_replace_delete_import_export(tmp_path: Path, atelier_home: Path) -> None:
    names = [t.name for t in library.list_templates()]
    assert names == [s.name for s in library.STARTERS] and len(names) == 4
    mine = library.BatchTemplate(
        name="Kitchen hero",
        prompt="{Title} on a kitchen counter",
        filename="{Variant SKU}-kitchen",
        settings=JobDefaults(size="1536x1024", quality="low"),
        variations={"light": ["dawn", "noon"]},
    )
    path = library.save_template(mine)
    assert path.parent == atelier_home / "templates" and path.name.endswith(library.SUFFIX)
    assert library.load_template("Kitchen hero") == mine
    assert library.list_templates()[0].name == "Kitchen hero"
    # a saved template with a starter's name replaces it; deleting brings the starter back
    own = library.BatchTemplate(name="Lifestyle scene", prompt="{Title} in my style")
    library.save_template(own)
    assert library.load_template("Lifestyle scene").prompt == "{Title} in my style"
    assert library.delete_template("Lifestyle scene")
    assert library.load_template("Lifestyle scene").variations["scene"][0] == "a marble table"
    shared = library.export_template("Kitchen hero", tmp_path / "kitchen.json")
    library.delete_template("Kitchen hero")
    with pytest.raises(InputError, match=r"no such template .*Product hero on white"):
        library.load_template("Kitchen hero")
    assert library.import_template(shared) == mine
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "prompt": "", "variations": {"a{b": ["1"]}}))
    with pytest.raises(InputError) as e:
        library.import_template(bad)
    assert "bad.json: prompt" in str(e.value) and "variation name 'a{b'" in str(e.value)
    assert "Value error" not in str(e.value)
    (atelier_home / "templates" / f"broken{library.SUFFIX}").write_text("{", encoding="utf-8")
    assert len(library.list_templates()) == 5 and "broken" in library.broken_files()[0]


def test_parse_variations_and_its_errors() -> None:
    v = parse_variations("scene: marble table | linen | outdoor\n\nlight = dawn|noon")
    assert v == {"scene": ["marble table", "linen", "outdoor"], "light": ["dawn", "noon"]}
    assert parse_variations(format_variations(v)) == v
    assert len(combinations(v)) == 6 and combinations({}) == [{}]
    for text, words in [
        ("scene marble", "line 1: write it as"),
        ("scene: a |", "every value between | must be filled"),
        ("a: 1\na: 2", "line 2: variation {a} is given twice"),
        ("{x}: 1", "is not a variation name"),
    ]:
        with pytest.raises(InputError, match=words):
            parse_variations(text)


def test_variations_multiply_rows_into_named_jobs(data_dir: Path) -> None:
    table = read_csv(data_dir / "jp-zakka-shift_jis.csv")
    scenes = {"scene": ["大理石のテーブル", "リネン", "屋外"]}
    plan = plan_from_table(table, "{商品名}、{scene}の上", "{品番}", variations=scenes)
    assert len(plan.specs) == len(table.rows) * 3 and plan.rows == len(table.rows)
    assert plan.summary().startswith(f"{len(table.rows)} rows × 3 scene = {len(plan.specs)} jobs")
    first = plan.specs[:3]
    assert [s.prompt for s in first] == [
        "急須、大理石のテーブルの上",
        "急須、リネンの上",
        "急須、屋外の上",
    ]
    # the file-name template names no variation: its value is appended, never a numbered copy
    assert [s.output_path for s in first] == [
        "JP-TEA-001-大理石のテーブル.png",
        "JP-TEA-001-リネン.png",
        "JP-TEA-001-屋外.png",
    ]
    assert not plan.warnings and first[0].row_values["scene"] == "大理石のテーブル"
    with pytest.raises(InputError, match=r"\{商品名\} is already a column"):
        plan_from_table(table, "{商品名}", "", variations={"商品名": ["a"]})


def test_cli_template_and_vary(tmp_path: Path, data_dir: Path) -> None:
    sheet = str(data_dir / "shopify-home-goods.csv")
    run = run_cli(
        "run", "--csv", sheet, "--template", "Social post per platform", "--provider", "draft",
        "--estimate-only", "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.report()["jobs"] == 38 * 3
    out = tmp_path / "out"
    run = run_cli(
        "run", "--csv", str(data_dir / "jp-zakka-shift_jis.csv"), "--prompt", "{商品名}、{scene}",
        "--filename", "{品番}-{scene}", "--vary", "scene: 木の机 | 畳", "--provider", "draft",
        "--output-dir", str(out), "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert (out / "JP-TEA-001-畳.png").is_file() and run.report()["total"] == 24
    bad = run_cli("run", "--csv", sheet, "--template", "Nope", "--estimate-only")
    assert bad.code == 2 and "no such template" in bad.err
    listing = run_cli("templates")
    assert listing.code == 0 and "Lifestyle scene × 3 scene" in listing.out
    exported = tmp_path / "hero.json"
    assert run_cli("templates", "export", "Product hero on white", str(exported)).code == 0
    assert json.loads(exported.read_text())["name"] == "Product hero on white"
    assert run_cli("templates", "export", "Product hero on white").code == 2
