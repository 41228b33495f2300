"""One image per product, per colour or per row (issue 28, "Rows"): rows that render to the
same job are one job listing its rows; ``--per product|row|option:NAME`` groups a shop
export's rows by its own convention of what a product is (Shopify ``Handle``, WooCommerce
parent, Rakuten / Yahoo / BASE item codes), on the real shared exports; a template naming a
column the sheet lacks suggests the closest ones.

New names (``atelier.sheet.products``, ``JobSpec.source_rows``) are imported inside the tests, so on the
base commit each test fails on its behaviour, not on an import."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from atelier.core import paths
from atelier.sheet import shopify
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import read_table
from atelier.store import Store
from tests.support.cli import run_cli

WOO_HEADER = [
    "ID", "Type", "SKU", "Name", "Published", "Regular price", "Images", "Parent",
    "Attribute 1 name", "Attribute 1 value(s)", "Attribute 2 name", "Attribute 2 value(s)",
]  # fmt: skip
WOO_ROWS = [  # as WooCommerce's own sample_products.csv: parents first, variations after
    ["44", "variable", "woo-vneck-tee", "V-Neck T-Shirt", "1", "", "https://x/vneck.jpg", "", "Color", "Blue, Green, Red", "Size", "Large, Medium, Small"],
    ["45", "variable", "woo-hoodie", "Hoodie", "1", "", "https://x/hoodie.jpg", "", "Color", "Blue, Green, Red", "Logo", "Yes, No"],
    ["46", "simple", "woo-beanie", "Beanie", "1", "18", "https://x/beanie.jpg", "", "Color", "Red", "", ""],
    ["76", "variation", "woo-vneck-tee-red", "V-Neck T-Shirt - Red", "1", "20", "", "woo-vneck-tee", "Color", "Red", "Size", ""],
    ["77", "variation", "woo-vneck-tee-green", "V-Neck T-Shirt - Green", "1", "20", "", "woo-vneck-tee", "Color", "Green", "Size", ""],
    ["78", "variation", "woo-vneck-tee-blue", "V-Neck T-Shirt - Blue", "1", "15", "", "woo-vneck-tee", "Color", "Blue", "Size", ""],
    ["79", "variation", "woo-hoodie-red", "Hoodie - Red, No", "1", "45", "", "id:45", "Color", "Red", "Logo", "No"],
    ["80", "variation, virtual", "woo-hoodie-red-logo", "Hoodie - Red, Yes", "1", "45", "", "id:45", "Color", "Red", "Logo", "Yes"],
    ["81", "variation", "woo-hoodie-blue", "Hoodie - Blue, No", "1", "45", "", "id:45", "Color", "Blue", "Logo", "No"],
]  # fmt: skip


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def woo_variable_csv(folder: Path) -> Path:
    """A WooCommerce export with two variable products and their variations (one parent named
    by SKU, the other by ``id:N``, one variation typed ``variation, virtual``) and a simple
    product."""
    return _write(folder / "wc-product-export.csv", WOO_HEADER, WOO_ROWS)


def _shopify(path: Path) -> Any:
    table = read_table(path)
    shopify.prepare(table)
    return table


def _handles(path: Path) -> dict[str, list[int]]:
    """Each Handle's rows (0-based), read with the csv module, not with Atelier."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        out[r["Handle"]].append(i)
    return dict(out)


def _estimate(*argv: str) -> dict[str, Any]:
    r = run_cli("run", *argv, "--provider", "draft", "--estimate-only", "--format", "json")
    assert r.code == 0, r.err
    return dict(json.loads(r.out))


# ---- rows that render the same job are one job -----------------------------------------------
def test_rows_rendering_the_same_job_are_one_job_listing_its_rows(data_dir: Path) -> None:
    """A template naming only product columns makes one job per product, listing its rows,
    with no "file name already used" warning (today: one job per variant row, numbered
    copies)."""
    path = data_dir / "shopify-home-goods.csv"
    plan = plan_from_table(_shopify(path), "Studio photo of {Title}", "{Handle}")
    handles = _handles(path)
    assert len(plan.specs) == len(handles) == 18
    assert not [w for w in plan.warnings if "already used" in w]
    by_name = {s.output_path: s for s in plan.specs}
    for handle, rows in handles.items():
        spec = by_name[f"{handle}.png"]
        assert spec.source_rows() == rows  # every variant row, in order
        assert spec.row_index == rows[0]
    # A template naming {Option1 Value} makes one job per colour / scent / size.
    plan = plan_from_table(
        _shopify(path), "Studio photo of {Title} in {Option1 Value}", "{Handle}-{Option1 Value}"
    )
    assert len(plan.specs) == 38
    assert sum(len(s.source_rows()) for s in plan.specs) == 38


def test_cli_per_product_makes_one_job_per_shopify_handle(data_dir: Path) -> None:
    """``--per product`` on the real home-goods export: one job per Handle even when the file
    name names the variant's SKU (each job takes its product's first row); the estimate says
    how many rows the jobs stand for and warns once that the SKU differs within a product."""
    sheet = str(data_dir / "shopify-home-goods.csv")
    argv = ["--csv", sheet, "--prompt", "Studio photo of {Title}", "--filename", "{Variant SKU}"]
    every = _estimate(*argv)
    assert every["jobs"] == 38 and every["per"] == "row"
    est = _estimate(*argv, "--per", "product")
    handles = _handles(data_dir / "shopify-home-goods.csv")
    assert (est["jobs"], est["per"], est["rows"]) == (len(handles), "product", 38)
    hidden = [w for w in est["warnings"] if "{Variant SKU}" in w]
    assert len(hidden) == 1 and "one image per product" in hidden[0]
    text = run_cli("run", *argv, "--per", "product", "--provider", "draft", "--estimate-only")
    assert text.code == 0 and "18 jobs (38 rows: one image per product)" in text.out


def test_per_option_is_one_per_colour_in_whichever_option_it_is(data_dir: Path) -> None:
    """``--per option:Color`` on the streetwear export: one job per product and colour, the
    colour found in Option1 for one product and in Option2 for another; products without a
    colour make one job."""
    path = data_dir / "shopify-streetwear.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    names: dict[str, dict[str, str]] = {}
    want: set[tuple[str, str]] = set()
    for r in rows:
        slot = names.setdefault(r["Handle"], {})
        for n in "123":
            slot.setdefault(n, r[f"Option{n} Name"])
        colour = next((r[f"Option{n} Value"] for n in "123" if slot[n] == "Color"), "")
        want.add((r["Handle"], colour))
    assert any(v["1"] == "Color" for v in names.values())  # the data has both slots
    assert any(v["2"] == "Color" for v in names.values())
    est = _estimate("--csv", str(path), "--prompt", "Photo of {Title}", "--per", "option:Color")
    assert est["jobs"] == len(want) and est["per"] == "option:Color"
    # The column form names the same thing where every product keeps colour in one slot.
    from atelier.sheet.products import Per

    plan = plan_from_table(
        _shopify(path),
        "Photo of {Title} in {Option2 Value}",
        "{Handle}-{Option2 Value}",
        per=Per("option", "Option2 Value"),
    )
    assert len(plan.specs) == len({(r["Handle"], r["Option2 Value"]) for r in rows})
    # A template that names no colour makes the same image for every colour: one job, said.
    plan = plan_from_table(
        _shopify(path), "Photo of {Title}", "{Handle}", per=Per("option", "Color")
    )
    assert len(plan.specs) == 14
    assert any("same prompt and file name" in w for w in plan.warnings)


def test_woocommerce_variations_fold_into_their_variable_parent(tmp_path: Path) -> None:
    """WooCommerce: every variation (parent named by SKU or ``id:N``, typed ``variation`` or
    ``variation, virtual``) joins its variable product: one job per product, made from the
    parent row; one per colour makes one job per parent and colour."""
    from atelier.sheet.products import Per

    table = read_table(woo_variable_csv(tmp_path))
    every = plan_from_table(table, "Photo of {Name}", "{SKU}")
    assert len(every.specs) == len(WOO_ROWS)  # today's shape: a job per row
    plan = plan_from_table(table, "Photo of {Name}", "{SKU}", per=Per("product"))
    assert [(s.output_path, s.source_rows()) for s in plan.specs] == [
        ("woo-vneck-tee.png", [0, 3, 4, 5]),
        ("woo-hoodie.png", [1, 6, 7, 8]),
        ("woo-beanie.png", [2]),
    ]
    assert plan.specs[0].prompt == "Photo of V-Neck T-Shirt"
    colours = plan_from_table(
        table, "Photo of {Name}", "{SKU}", per=Per.parse("option:Color", "--per")
    )
    groups = sorted(s.source_rows() for s in colours.specs)
    assert groups == [[0, 3], [1, 6, 7], [2], [4], [5], [8]]


def test_shop_conventions_are_data_detected_from_the_header(tmp_path: Path) -> None:
    """One table names each shop's product column and where it is documented; the header picks
    it; BASE's rows sharing a 商品ID are one product, Rakuten's and Yahoo's item codes too."""
    from atelier.sheet.products import CONVENTIONS, detect

    shops = {c.shop: c for c in CONVENTIONS}
    assert {c.product for c in CONVENTIONS} >= {
        "Handle",
        "商品管理番号（商品URL）",
        "code",
        "商品ID",
    }
    assert all(c.source for c in CONVENTIONS)
    assert detect(WOO_HEADER) is shops["WooCommerce"]
    assert detect(["Handle", "Title", "Variant SKU"]) is shops["Shopify"]
    assert detect(["コントロールカラム", "商品管理番号（商品URL）", "商品名"]) is shops["Rakuten"]
    assert detect(["path", "name", "code", "price"]) is shops["Yahoo! Shopping"]
    assert detect(["品番", "商品名", "カラー"]) is None
    base = _write(
        tmp_path / "base.csv",
        ["商品ID", "商品名", "種類名", "価格"],
        [
            ["101", "急須", "黒", "8800"],
            ["101", "急須", "朱泥", "8800"],
            ["102", "湯呑み", "白", "2200"],
        ],
        "cp932",
    )
    est = _estimate("--csv", str(base), "--prompt", "{商品名}の写真", "--filename", "{商品ID}-{種類名}", "--per", "product")  # fmt: skip
    assert est["jobs"] == 2
    est = _estimate("--csv", str(base), "--prompt", "{商品名}の写真", "--per", "option:種類名")
    assert est["jobs"] == 3


def test_per_on_a_plain_sheet_and_bad_flags_say_what_to_do(data_dir: Path, tmp_path: Path) -> None:
    """A sheet that is no shop export has no products (``--per product`` exits 2 naming the
    flag), but one per value of a column works; a bad ``--per`` and ``--per`` with a batch
    config exit 2 naming the flag."""
    zakka = str(data_dir / "jp-zakka-shift_jis.csv")
    r = run_cli("run", "--csv", zakka, "--prompt", "{商品名}", "--per", "product", "--provider", "draft", "--estimate-only")  # fmt: skip
    assert r.code == 2 and "--per" in r.err and "Handle" in r.err, r.err
    est = _estimate("--csv", zakka, "--prompt", "{商品名}", "--filename", "{品番}", "--per", "option:商品名")  # fmt: skip
    assert est["jobs"] == 9  # 急須, 湯呑み, 風呂敷, 包丁, おひつ, 座布団, 行灯, 手ぬぐい, 万年筆
    r = run_cli("run", "--csv", zakka, "--prompt", "{商品名}", "--per", "colour")
    assert r.code == 2 and "--per" in r.err and "option:NAME" in r.err
    r = run_cli("run", "--csv", zakka, "--prompt", "{商品名}", "--per", "option:Farbe", "--provider", "draft", "--estimate-only")  # fmt: skip
    assert r.code == 2 and "Farbe" in r.err and "カラー" in r.err
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"jobs": [{"prompt": "a cup"}]}), encoding="utf-8")
    r = run_cli("run", str(config), "--per", "product", "--provider", "draft", "--estimate-only")
    assert r.code == 2 and "--per" in r.err


def test_a_run_stores_each_jobs_rows_and_resumes(
    data_dir: Path, tmp_path: Path, atelier_home: Path
) -> None:
    """The store keeps each job's rows; the same run again resumes the same batch (its
    fingerprint is unchanged by the rows list) and makes nothing new."""
    sheet = str(data_dir / "shopify-home-goods.csv")
    argv = ["run", "--csv", sheet, "--prompt", "Photo of {Title}", "--filename", "{Handle}"]
    argv += ["--provider", "draft", "--output-dir", str(tmp_path / "out"), "--format", "json"]
    first = run_cli(*argv, "--per", "product")
    assert first.code == 0, first.err
    report = first.report()
    assert report["total"] == 18 and report["succeeded"] == 18
    store = Store(paths.store_path())
    try:
        jobs = store.jobs(report["batch_id"])
        assert sorted(r for j in jobs for r in j.spec.source_rows()) == list(range(38))
    finally:
        store.close()
    again = run_cli(*argv, "--per", "row")  # the same jobs: rows rendering alike join
    assert again.code == 0, again.err
    assert again.report()["batch_id"] == report["batch_id"]


# ---- a template naming columns the sheet lacks ---------------------------------------------------
def test_unknown_columns_suggest_the_closest_ones(data_dir: Path, tmp_path: Path) -> None:
    """``{Title}`` on a WooCommerce sheet suggests ``{Name}``, on a Japanese sheet ``{商品名}``
    (the same word in another shop's export), and a typo its spelling."""
    from atelier.sheet.render import check_templates

    assert "(did you mean {Name}?)" in check_templates(WOO_HEADER, "Photo of {Title}", "")[0]
    assert "{商品名}" in check_templates(["品番", "商品名", "カラー"], "{Title}", "")[0]
    assert "{Title}" in check_templates(["Handle", "Title"], "{title}", "")[0]
    r = run_cli("run", "--csv", str(woo_variable_csv(tmp_path)), "--prompt", "Photo of {Title}", "--provider", "draft", "--estimate-only")  # fmt: skip
    assert r.code == 2 and "{Title} (did you mean {Name}?)" in r.err, r.err
    zakka = str(data_dir / "jp-zakka-shift_jis.csv")
    r = run_cli("run", "--csv", zakka, "--prompt", "{Product Name}", "--provider", "draft", "--estimate-only")  # fmt: skip
    assert r.code == 2 and "{商品名}" in r.err, r.err


def test_the_shopify_import_file_gives_every_variant_its_products_image(
    data_dir: Path, tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One image per product, delivered to S3: ``export --shopify-csv`` writes the product's
    URL into each of its variant rows (the job lists them), not only into its first row, and
    still does after a product is inserted above them in the sheet (rows are found again by
    Handle and variant, never by index)."""
    import shutil

    from tests.fakes.s3 import CREDS, S3Server

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS["aws_secret_access_key"])
    cdn = "https://cdn.example-shop.com"
    sheet = tmp_path / "shopify-home-goods.csv"
    shutil.copyfile(data_dir / "shopify-home-goods.csv", sheet)
    with S3Server() as s3:
        s3.client().create_bucket(Bucket="per-product")
        r = run_cli(
            "run", "--csv", str(sheet), "--provider", "draft", "--size", "256x256",
            "--prompt", "Studio photo of {Title}", "--filename", "{Handle}", "--per", "product",
            "--output-dir", str(tmp_path / "out"), "--format", "json",
            "--deliver", "s3://per-product/p", "--s3-endpoint", s3.url,
            "--s3-region", "us-east-1", "--s3-public-url", cdn + "/{key}",
        )  # fmt: skip
        assert r.code == 0, r.err
        report = r.report()
        assert report["total"] == 18 and report["deliveries"]["delivered"] == 18
        dest = tmp_path / "import.csv"
        e = run_cli("export", str(report["batch_id"]), "--shopify-csv", str(dest))
        assert e.code == 0, e.err
        with dest.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 38
        assert all(r["Variant Image"] == f"{cdn}/p/{r['Handle']}.png" for r in rows)
        # A designer inserts a product above the others and exports again.
        with sheet.open(encoding="utf-8", newline="") as f:
            table = list(csv.reader(f))
        table.insert(1, ["new-thing", "New Thing"] + [""] * (len(table[0]) - 2))
        with sheet.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(table)
        e = run_cli("export", str(report["batch_id"]), "--shopify-csv", str(dest))
        assert e.code == 0, e.err
    with dest.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 39 and rows[0]["Handle"] == "new-thing"
    assert rows[0]["Variant Image"] == ""
    assert all(r["Variant Image"] == f"{cdn}/p/{r['Handle']}.png" for r in rows[1:])


def test_a_rakuten_header_in_half_width_parentheses_is_the_same_column() -> None:
    """Exports write 商品管理番号（商品URL） in full- or half-width parentheses (third-party
    copies of RMS's spec use both): either is Rakuten's product column."""
    from atelier.sheet.products import Products, detect
    from atelier.sheet.tabular import Table

    for name in ("商品管理番号（商品URL）", "商品管理番号(商品URL)"):
        rows = [["cup-1", "a"], ["cup-1", "b"], ["pot", "c"]]
        table = Table(Path("item.csv"), [name, "商品名"], rows, [2, 3, 4])
        conv = detect(table.headers)
        assert conv is not None and conv.shop == "Rakuten"
        assert Products(table).keys() == ["cup-1", "cup-1", "pot"]
