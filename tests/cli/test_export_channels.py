"""A batch's channels from the command line: ``run --channels`` judges each image as it is
saved; ``export --channels … --zip/--out`` writes one rendition per channel that passes
``check``, leaves out an image failing a rule no fix can meet, unless ``review
--override-channel`` let it through."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from atelier.core.models import JobSpec, RunSettings
from atelier.core.paths import store_path
from atelier.store import Store
from tests.output.channels.images import photo, product, save
from tests.support.batches import store_batch
from tests.support.cli import run_cli


def test_run_with_channels_judges_every_saved_image(tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": f"cup {c}", "output_path": f"cup-{c}.png"} for c in "AB"]
    cfg.write_text(json.dumps({"jobs": jobs, "output_dir": str(tmp_path / "out")}))
    bad = run_cli("run", str(cfg), "--provider", "draft", "--channels", "amazon,ebay")
    assert bad.code == 2 and "--channels ebay" in bad.err and "rakuten" in bad.err
    done = run_cli("run", str(cfg), "--provider", "draft", "--channels", "amazon,rakuten", "--format", "json")  # fmt: skip
    assert done.code == 0, done.err
    batch = done.report()["batch_id"]
    store = Store(store_path())
    try:
        assert store.run_settings(batch).channels == ["amazon", "rakuten"]
        verdicts = store.verdicts(batch)
        assert len(verdicts) == 2
        assert all(
            set(v) == {"amazon", "rakuten"} and not v["amazon"].ocr for v in verdicts.values()
        )
    finally:
        store.close()


def _batch(tmp_path: Path) -> tuple[int, list[int]]:
    """A batch of two images: a product on white (passes or is fixable everywhere) and a
    photo scene (Amazon wants pure white: no fix can meet it; Rakuten takes a photo)."""
    out = tmp_path / "out"
    save(product((900, 700), fill=0.6), out / "cup.png")
    save(photo((800, 800)), out / "scene.png")
    store = Store(store_path())
    try:
        specs = [JobSpec(prompt="p", output_path=n) for n in ("cup.png", "scene.png")]
        bid = store_batch(store, RunSettings(), specs, out)
        jobs = store.jobs(bid)
        for job, name in zip(jobs, ("cup.png", "scene.png"), strict=True):
            store.add_image(job.id, 0, out / name, None)
        return bid, [j.id for j in jobs]
    finally:
        store.close()


def test_export_writes_renditions_that_pass_and_skips_the_unfixable(tmp_path: Path) -> None:
    bid, jobs = _batch(tmp_path)
    zpath, folder = tmp_path / "shop.zip", tmp_path / "shop"
    args = ("export", str(bid), "--channels", "amazon,rakuten", "--no-ocr")
    done = run_cli(*args, "--zip", str(zpath), "--out", str(folder))
    assert done.code == 0, done.err
    assert "scene.png: not exported to amazon" in done.out
    with zipfile.ZipFile(zpath) as z:
        names = sorted(z.namelist())
    assert names == ["amazon/cup.png", "channels.csv", "rakuten/cup.png", "rakuten/scene.png"]
    for channel in ("amazon", "rakuten"):
        files = sorted(str(p) for p in (folder / channel).iterdir())
        checked = run_cli("check", "--channel", channel, "--no-ocr", *files)
        assert checked.code == 0, checked.out
    assert "scene.png,amazon,skipped" in (folder / "channels.csv").read_text("utf-8-sig")

    bad = run_cli("review", str(bid), "--override-channel", "ebay", str(jobs[1]))
    assert bad.code == 2 and "--override-channel ebay" in bad.err
    assert run_cli("review", str(bid), "--override-channel", "amazon", str(jobs[1])).code == 0
    again = run_cli(*args, "--zip", str(zpath))
    assert again.code == 0, again.err
    with zipfile.ZipFile(zpath) as z:
        assert "amazon/scene.png" in z.namelist()
        assert "scene.png,amazon,overridden" in z.read("channels.csv").decode("utf-8-sig")
    cleared = run_cli("review", str(bid), "--override-channel", "amazon", "--clear-override", str(jobs[1]))  # fmt: skip
    assert cleared.code == 0
    run_cli(*args, "--zip", str(zpath))
    with zipfile.ZipFile(zpath) as z:
        assert "amazon/scene.png" not in z.namelist()
