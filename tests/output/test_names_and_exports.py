"""Names and exports that cannot mislead: bidirectional controls never reach a file name, an
object key or a ZIP entry (U+202E + ``gnp.exe`` displays as ``exe.png``), and ``export
--shopify-csv`` puts each URL on the row its image was made from even after the sheet was
edited, with formula cells neutralised as in manifest.csv."""

from __future__ import annotations

import asyncio
import csv
import zipfile
from pathlib import Path

from atelier.core import paths
from atelier.core.delivery_config import S3Target
from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.delivery.plan import image_values
from atelier.delivery.s3 import object_key
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.output import handoff
from atelier.store import NewDelivery, Store
from tests.support.batches import store_batch
from tests.support.cli import run_cli
from tests.support.record import record

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
RLO = "\u202e"


def _has_bidi(text: str) -> bool:
    return any(c in BIDI for c in text)


def _draft_run(sheet: Path, out: Path, *argv: str) -> dict[str, object]:
    r = run_cli(
        "run", "--csv", str(sheet), "--provider", "draft", "--size", "256x256",
        "--output-dir", str(out), "--format", "json", *argv,
    )  # fmt: skip
    assert r.code == 0, r.err
    report: dict[str, object] = r.report()
    return report


def test_bidi_controls_never_reach_a_file_name_a_zip_entry_or_an_object_key(
    tmp_path: Path,
) -> None:
    sheet = tmp_path / "s.csv"
    names = [f"{RLO}gnp.exe", "a\u2066b\u2069c", "x\u200fy\u061c", f"d/{RLO}..{RLO}/e"]
    sheet.write_text("Name\n" + "\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    report = _draft_run(sheet, out, "--prompt", "photo of {Name}", "--filename", "{Name}")
    written = [Path(str(r["output_path"])) for r in report["results"]]  # type: ignore[union-attr,index]
    rel = sorted(p.relative_to(out).as_posix() for p in written)
    assert rel == ["abc.png", "gnp.exe.png", "row-4.png", "xy.png"]
    # A ".." disguised by controls is still a "..": refused, and the row named plainly.
    assert any("row 4" in w and "'..' is not allowed" in w for w in report["warnings"])  # type: ignore[union-attr]

    # A batch stored before the rule (its names kept the controls) exports and delivers clean.
    store = Store(paths.store_path())
    old_out = tmp_path / "old"
    specs = [JobSpec(prompt="p", output_path=f"v/{RLO}gnp.exe.png", size="256x256")]
    bid = store_batch(store, RunSettings(), specs, old_out)
    asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    assert any(_has_bidi(p.name) for p in old_out.rglob("*.png"))  # as it was written then
    images = store.images(bid)
    zpath = tmp_path / "old.zip"
    assert handoff.export_zip(store, bid, images, zpath) == 1
    with zipfile.ZipFile(zpath) as z:
        entries = z.namelist()
        manifest = z.read("manifest.csv").decode("utf-8-sig")
    assert sorted(entries) == ["manifest.csv", "v/gnp.exe.png"]
    assert not _has_bidi(manifest)
    values = image_values(store, images[0], store.job(images[0].job_id))
    assert values["file"] == "v/gnp.exe.png" and not _has_bidi(values["name"] + values["stem"])
    target = S3Target(name="s3", bucket="shop-bucket", key="{Vendor}/{file}")
    key = object_key(target, values | {"Vendor": f"Acme{RLO}\u2067Co"})
    assert key == "AcmeCo/v/gnp.exe.png"
    record("bidi controls in names", names=len(names) + 1, bidi_in_names_keys_entries=0)


def test_a_name_read_back_keeps_its_form_unless_it_holds_controls() -> None:
    """Names made by the rule come back unchanged (two files never become one key or entry);
    only controls, separators inside a component and ``..`` go."""
    # Imported here: the function is new, and this file's other tests must run on the code
    # before it.
    from atelier.sheet.templates import safe_entry_name, safe_relative_path

    for raw in ("a..png", "CON", "x. .png", "漢" * 300, "a/b/c.d.e", " lead", "Ünïcode/ß"):
        made = safe_relative_path(raw, "png")
        assert safe_entry_name(made) == made
    assert safe_entry_name(f"v/{RLO}gnp.exe.png") == "v/gnp.exe.png"
    assert safe_entry_name(f"../{RLO}../x⁦.png") == "x.png"
    assert safe_entry_name("a:b/c.png") == "a_b/c.png"


HEADERS = ["Handle", "Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Variant SKU",
           "Variant Price", "Image Src", "Variant Image"]  # fmt: skip


def _row(
    handle: str, title: str, value: str, sku: str, body: str = "", price: str = "12.00"
) -> list[str]:
    return [handle, title, body, "Colour" if title else "", value, sku, price, "", ""]


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADERS, *rows])


def _deliver_all(store: Store, bid: int, url_of: dict[str, str]) -> None:
    """Record each shown image as delivered to storage at its row's URL (as an S3 upload
    with a public URL does)."""
    jobs = {j.id: j for j in store.jobs(bid)}
    new = [
        NewDelivery("s3", "image.completed", f"s3:{im.id}", 0, im.job_id, im.id)
        for im in store.images(bid)
        if im.sample_index == 0
    ]
    store.add_deliveries(bid, new)
    for d in store.deliveries(bid):
        attempt = store.claim_delivery(d.id)
        assert attempt is not None and d.job_id is not None
        sku = jobs[d.job_id].spec.row_values.get("Variant SKU", "")
        url = url_of.get(sku) or url_of[jobs[d.job_id].spec.row_values["Option1 Value"]]
        store.end_delivery(d.id, attempt, "delivered", url=url)


def _export(bid: int, dest: Path) -> tuple[list[dict[str, str]], str]:
    r = run_cli("export", str(bid), "--shopify-csv", str(dest))
    assert r.code == 0, r.err
    with dest.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]], r.out


def test_shopify_csv_finds_each_row_again_in_an_edited_sheet_and_neutralises_formulas(
    tmp_path: Path,
) -> None:
    sheet = tmp_path / "products.csv"
    rows = [
        _row("mug", '=HYPERLINK("http://evil","Mug")', "Red", "MUG-R", body="@SUM(A1)"),
        _row("mug", "", "Blue", "MUG-B"),
        _row("mug", "", "Green", "MUG-G"),
        _row("bowl", "+Bowl", "Black", "BOWL-K", body="-2+3+cmd|' /C calc'!A0"),
        _row("bowl", "", "White", "BOWL-W"),
        _row("plate", "\tPlate", "Grey", "PLATE-G", body="\rnote"),
    ]
    _write(sheet, rows)
    report = _draft_run(
        sheet,
        tmp_path / "out",
        "--prompt",
        "{Title} {Option1 Value}",
        "--filename",
        "{Variant SKU}",
    )
    bid = int(str(report["batch_id"]))
    store = Store(paths.store_path())
    url_of = {r[5]: f"https://cdn.example/{r[5]}.png" for r in rows}
    _deliver_all(store, bid, url_of)

    # Edited after the run: a new product inserted at the top, a variant inserted in the middle
    # of the mug, the blue mug removed, and the bowls moved above the mugs.
    edited = [
        _row("cup", "Cup", "Sand", "CUP-S"),
        rows[3], rows[4],
        rows[0], _row("mug", "", "Yellow", "MUG-Y"), rows[2],
        rows[5],
    ]  # fmt: skip
    _write(sheet, edited)
    out, said = _export(bid, tmp_path / "import.csv")
    placed = {r["Variant SKU"]: r["Variant Image"] for r in out}
    misplaced = sum(1 for sku, url in placed.items() if url and url != url_of.get(sku))
    assert placed == {
        "CUP-S": "", "BOWL-K": url_of["BOWL-K"], "BOWL-W": url_of["BOWL-W"],
        "MUG-R": url_of["MUG-R"], "MUG-Y": "", "MUG-G": url_of["MUG-G"],
        "PLATE-G": url_of["PLATE-G"],
    }  # fmt: skip
    by_sku = {r["Variant SKU"]: r for r in out}
    assert by_sku["MUG-R"]["Image Src"] == url_of["MUG-R"]  # the product's first row
    assert by_sku["CUP-S"]["Image Src"] == ""
    assert "5 row(s) with delivered image URLs" in said
    assert "row 2 of the batch (Handle 'mug') is no longer in products.csv" in said
    # Formula cells are text, as in manifest.csv; plain cells are as they were.
    assert by_sku["MUG-R"]["Title"] == '\'=HYPERLINK("http://evil","Mug")'
    assert by_sku["MUG-R"]["Body (HTML)"] == "'@SUM(A1)"
    assert by_sku["BOWL-K"]["Title"] == "'+Bowl"
    assert by_sku["BOWL-K"]["Body (HTML)"] == "'-2+3+cmd|' /C calc'!A0"
    assert (
        by_sku["PLATE-G"]["Title"] == "'\tPlate" and by_sku["PLATE-G"]["Body (HTML)"] == "'\rnote"
    )
    assert "MUG-B" not in by_sku and by_sku["MUG-G"]["Variant Price"] == "12.00"
    formulas = sum(1 for r in out for v in r.values() if v[:1] in ("=", "+", "-", "@", "\t", "\r"))
    record(
        "shopify csv after the sheet was edited",
        rows=len(out), misplaced_urls=misplaced, formula_cells_written=formulas,
    )  # fmt: skip
    assert misplaced == 0 and formulas == 0


def test_shopify_csv_without_skus_matches_by_handle_and_position(tmp_path: Path) -> None:
    """No ``Variant SKU`` and equal options: a row is found by its stored cells, else the rows
    of a handle pair in order when as many are left; when they cannot be told apart, none of
    them gets a URL (reported) rather than another row's."""
    sheet = tmp_path / "plain.csv"
    rows = [
        _row("tee", "Tee", "S", "", price="10.00"), _row("tee", "", "S", "", price="20.00"),
        _row("cap", "Cap", "One", ""),
    ]  # fmt: skip
    _write(sheet, rows)
    report = _draft_run(sheet, tmp_path / "out", "--prompt", "{Title} {Option1 Value}")
    bid = int(str(report["batch_id"]))
    store = Store(paths.store_path())
    urls = [f"https://cdn.example/{i}.png" for i in range(3)]
    store.add_deliveries(
        bid,
        [NewDelivery("s3", "image.completed", f"s3:{im.id}", 0, im.job_id, im.id)
         for im in store.images(bid)],
    )  # fmt: skip
    for d in store.deliveries(bid):
        attempt = store.claim_delivery(d.id)
        assert attempt is not None and d.job_id is not None
        store.end_delivery(
            d.id, attempt, "delivered", url=urls[store.job(d.job_id).spec.row_index or 0]
        )

    # A new product, an image-only row and a new tee inserted: each row is found by its cells.
    image_only = ["tee", "", "", "", "", "", "", "https://shop/x.jpg", ""]
    new_tee = _row("tee", "", "S", "", price="15.00")
    _write(sheet, [_row("new", "New", "X", ""), rows[0], image_only, new_tee, rows[1], rows[2]])
    out, _ = _export(bid, tmp_path / "a.csv")
    assert [r["Variant Image"] for r in out] == ["", urls[0], "", "", urls[1], urls[2]]
    # Both tee prices edited: still two tee rows, so they pair in order (position in the handle).
    _write(
        sheet,
        [
            rows[2],
            _row("tee", "Tee", "S", "", price="11.00"),
            _row("tee", "", "S", "", price="21.00"),
        ],
    )
    out, said = _export(bid, tmp_path / "b.csv")
    assert [r["Variant Image"] for r in out] == [urls[2], urls[0], urls[1]]
    # Prices edited and a third tee added: which is which cannot be told, so none gets a URL.
    _write(
        sheet,
        [
            rows[2],
            _row("tee", "Tee", "S", "", price="11.00"),
            new_tee,
            _row("tee", "", "S", "", price="21.00"),
        ],
    )
    out, said = _export(bid, tmp_path / "c.csv")
    assert [r["Variant Image"] for r in out] == [urls[2], "", "", ""]
    assert said.count("(Handle 'tee') is no longer in plain.csv") == 2
