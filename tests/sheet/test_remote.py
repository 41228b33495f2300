"""Reference images from URLs (Shopify ``Image Src``, WooCommerce ``Images``): downloaded with
size, type and redirect limits from any host the user names, cached in ATELIER_HOME by URL,
sent as the reference of an edit; a bad address fails its job only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.sheet import remote
from atelier.sheet.plan import plan_from_table
from atelier.sheet.tabular import read_csv
from tests.data import exports
from tests.fakes.image_host import ImageHost
from tests.support.cli import run_cli


@pytest.fixture
def host() -> Iterator[ImageHost]:
    with ImageHost() as h:
        yield h


def test_fetch_limits_and_cache(host: ImageHost, monkeypatch: pytest.MonkeyPatch) -> None:
    p = remote.fetch(host.url("/candle.jpg"))
    with Image.open(p) as im:
        assert im.format == "JPEG" and im.size == (96, 96)
    assert p.parent == remote.cache_path("x").parent and str(p).startswith(
        str(Path(__import__("os").environ["ATELIER_HOME"]))
    )
    assert remote.fetch(host.url("/candle.jpg")) == p and host.hits["/candle.jpg"] == 1
    assert remote.fetch(host.url("/moved")).read_bytes() == host.files["/board.png"][1]
    assert remote.fetch(host.url("/s3-object")).is_file()  # octet-stream, checked by Pillow
    monkeypatch.setattr(remote, "MAX_BYTES", 1_000_000)
    cases = {
        "/loop": ("redirected more than 5 times", False),
        "/missing.jpg": ("HTTP 404", False),
        "/page.html": ("serves text/html, not an image", False),
        "/big.png": ("larger than 1 MB", False),
        "/text.png": ("not an image Atelier can read", False),
        "/busy": ("HTTP 503", True),
    }
    for path, (words, transient) in cases.items():
        with pytest.raises(remote.RemoteImageError) as e:
            remote.fetch(host.url(path))
        assert words in e.value.message and e.value.transient is transient, path
        assert remote.cached(host.url(path)) is None  # nothing half-kept
    with pytest.raises(remote.RemoteImageError, match="cannot download"):
        remote.fetch("http://127.0.0.1:9/nothing-listens.jpg")
    assert remote.split_urls("https://a/x.jpg, https://b/y,z.jpg,https://c/w.png") == [
        "https://a/x.jpg",
        "https://b/y,z.jpg",
        "https://c/w.png",
    ]


def test_woocommerce_images_column_restages_each_product(host: ImageHost, tmp_path: Path) -> None:
    urls = [
        [host.url("/napkin.jpg"), host.url("/napkin-2.webp")],
        [host.url("/board.png")],
        [host.url("/missing.jpg")],
    ]
    sheet = exports.woocommerce_csv(tmp_path, urls)
    plan = plan_from_table(read_csv(sheet), "{Name} on a marble table", "{SKU}")
    assert plan.specs[0].reference_images == []  # no reference column chosen: generate
    argv = ["run", "--csv", str(sheet), "--prompt", "{Name} on a marble table", "--filename"]
    argv += ["{SKU}", "--reference-column", "Images", "--provider", "draft", "--format", "json"]
    first = run_cli(*argv, "--output-dir", str(tmp_path / "one"))
    assert first.code == 1, first.err  # one bad address fails one job, not the batch
    made = {Path(r["output_path"]).name for r in first.report()["results"] if "output_path" in r}
    assert made == {"WC-1.png", "WC-2.png"}
    failed = [r for r in first.report()["results"] if r["status"] == "failed"]
    assert (
        len(failed) == 1
        and "HTTP 404" in failed[0]["error"]
        and "missing.jpg" in failed[0]["error"]
    )
    # nothing was sent to the provider for it: no attempt, nothing paid
    assert failed[0]["error_type"] == "invalid_request" and failed[0]["attempts"] == 0
    hits = dict(host.hits)
    again = run_cli(*argv, "--output-dir", str(tmp_path / "two"))
    assert again.report()["succeeded"] == 2
    assert host.hits["/napkin.jpg"] == hits["/napkin.jpg"] == 1  # cached by URL
    assert host.hits["/board.png"] == 1


def test_shopify_variants_take_their_products_photo(host: ImageHost, tmp_path: Path) -> None:
    rows = [
        ["Handle", "Title", "Option1 Value", "Variant SKU", "Image Src", "Image Position"],
        ["candle", "Nordic Candle", "Pine", "C-1", host.url("/candle.jpg"), "1"],
        ["candle", "", "Ocean", "C-2", "", ""],
        ["candle", "", "", "", host.url("/board.png"), "2"],  # an extra photo: no job
    ]
    sheet = tmp_path / "products_export.csv"
    sheet.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    run = run_cli(
        "run", "--csv", str(sheet), "--prompt", "{Title} ({Option1 Value}) on linen",
        "--filename", "{Variant SKU}", "--reference-column", "Image Src", "--provider", "draft",
        "--format", "json", "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert run.code == 0, run.err
    report = run.report()
    assert report["total"] == report["succeeded"] == 2
    assert host.hits["/candle.jpg"] == 1 and host.hits["/board.png"] == 0
    meta = json.loads((tmp_path / "out" / "atelier-report.json").read_text())
    assert meta["succeeded"] == 2
