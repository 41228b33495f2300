"""A batch's channels in the window: each tile marks every channel (✓ / ✗) with the failed
rules in its tooltip, "fails <channel>" in the gallery's Show box keeps the failing images, the
viewer lists each rule with its measured value and result, and the context menu's override
is stored; the batch page offers one named check box per channel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from atelier.core.models import JobSpec, RunSettings
from atelier.output.channels.batch import judge_image, profiles_of
from atelier.store import ChannelVerdict, Store
from atelier.studio.models import ChannelRole
from atelier.studio.models.channels import mark
from tests.output.channels.images import photo, product, save
from tests.support.batches import store_batch
from tests.support.qt import wait_until


def channel_batch(store: Store, out: Path) -> int:
    """Two images judged against Amazon and Rakuten (without OCR): a product on white
    (passes both) and a photo scene (Rakuten takes it; Amazon wants pure white)."""
    save(product((900, 900), fill=0.88), out / "cup.png")
    save(photo((900, 900)), out / "scene.png")
    names = ("cup.png", "scene.png")
    rs = RunSettings(channels=["amazon", "rakuten"])
    bid = store_batch(store, rs, [JobSpec(prompt=f"a {n}", output_path=n) for n in names], out)
    for job, name in zip(store.jobs(bid), names, strict=True):
        image_id = store.add_image(job.id, 0, out / name, None)
        judge_image(store, image_id, out / name, profiles_of(rs.channels))
    return bid


def test_marks_filter_viewer_and_override(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path, qtmodeltester: Any
) -> None:
    bid = channel_batch(window.store, tmp_path / "out")
    window.open_batch(bid)
    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    model = gallery.gallery_model
    qtmodeltester.check(model)
    cup, scene = model.tiles
    # Text unread (no OCR on save): every other rule passes, yet it is not shown as passed.
    assert cup.caption().splitlines()[1] == "Amazon ✓? · Rakuten ✓?"
    assert scene.caption().splitlines()[1] == "Amazon ✗ · Rakuten ✓?"
    tip = scene.tip()
    assert "Amazon ✗" in tip and "white" in tip.lower()
    assert "text: not checked" in tip  # no OCR on save
    assert model.data(model.index(1), ChannelRole) == " amazon "

    # The Show box offers "fails <channel>" for the batch's channels, each named.
    combo = gallery.gallery_filter
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[-2:] == ["fails Amazon", "fails Rakuten"]
    gallery.show_fails("amazon")
    assert combo.currentText() == "fails Amazon"
    assert gallery.shown_image_ids() == [scene.image_id]
    gallery.show_fails("rakuten")
    assert gallery.shown_image_ids() == []
    combo.setCurrentIndex(0)
    assert len(gallery.shown_image_ids()) == 2

    # The viewer lists each rule of each channel with the value measured and the result.
    viewer = window.review.open_viewer(scene.job_id)
    rules = viewer.rules_model
    qtmodeltester.check(rules)
    assert viewer.rules_view.isVisibleTo(viewer) and viewer.rules_view.accessibleName()
    rows = [
        [rules.data(rules.index(r, c)) for c in range(rules.columnCount())]
        for r in range(rules.rowCount())
    ]
    assert {r[0] for r in rows} == {"Amazon", "Rakuten"}
    failed = [r for r in rows if r[4].startswith("✗")]
    assert failed and all(r[0] == "Amazon" for r in failed)
    assert all(r[2] for r in failed)  # a measured value for every failed rule
    assert any(r[4] == "– not checked" for r in rows)  # text, without OCR
    assert rows[0][4].startswith("✗")  # the failed rules first
    assert rules.data(rules.index(0, 4), Qt.ItemDataRole.ForegroundRole) is not None
    viewer.close()

    # "Send to Amazon anyway" on the scene: stored through the store ops, marked "✗!".
    gallery.gallery_view.setCurrentIndex(gallery.gallery_proxy.index(1, 0))
    task = window.channels.override([scene.image_id], "amazon", True)
    qloop.run_until_complete(task)
    assert window.store.image_verdicts(scene.image_id)["amazon"].override
    assert model.tiles[1].caption().splitlines()[1] == "Amazon ✗! · Rakuten ✓?"


def test_a_tile_shows_passed_only_when_every_rule_was_checked() -> None:
    rules = [{"status": "passed"}, {"status": "passed"}]
    assert mark(ChannelVerdict("rakuten", True, ocr=True, rules=rules)) == "✓"
    unread = [*rules, {"status": "not_checked"}]
    assert mark(ChannelVerdict("rakuten", True, rules=unread)) == "✓?"
    assert mark(ChannelVerdict("rakuten", False, rules=unread)) == "✗"
    assert mark(ChannelVerdict("rakuten", None)) == "…"


def test_the_batch_page_names_every_channel(window: Any) -> None:
    picker = window.batch.channel_picker
    assert set(picker.checks) >= {"amazon", "rakuten", "yahoo", "shopify"}
    assert all(box.accessibleName().startswith("Channel: ") for box in picker.checks.values())
    picker.set_chosen(["rakuten", "amazon"])
    assert window.batch.form().channels == ("amazon", "rakuten")


def test_a_run_marks_its_images_as_they_are_judged(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    """Channels chosen on the batch page: the engine judges each saved image in the
    background and the gallery's marks follow without reopening the batch."""
    done: list[int] = []
    window.batch_done.connect(done.append)
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    window.sheet.prompt_edit.setPlainText("Photo of {Title}")
    window.sheet.filename_edit.setText("{Variant SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(tmp_path / "out"))
    window.batch.channel_picker.set_chosen(["rakuten"])
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the run"))
    assert window.store.run_settings(window.batch_id).channels == ["rakuten"]
    model = window.gallery.gallery_model

    def unmarked() -> list[int]:
        return [t.image_id for t in model.tiles if t.image_id and "rakuten" not in t.channels]

    try:
        qloop.run_until_complete(wait_until(lambda: not unmarked(), 60, "every tile's mark"))
    except AssertionError as e:  # say what was missing, for a failure seen once in CI
        stored = window.store.verdicts(window.batch_id)
        raise AssertionError(
            f"{e}: unmarked {unmarked()}, stored verdicts for "
            f"{[i for i in unmarked() if i in stored]}, "
            f"refreshing {window.channels._refreshing}, banner {window.banner.label.text()!r}"
        ) from None
    assert all(t.caption().splitlines()[1].startswith("Rakuten ") for t in model.tiles)
    assert window.gallery.gallery_filter.findData("fails:rakuten") >= 0


def test_the_end_of_a_run_completes_marks_an_event_missed(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """Verdicts stored but not shown (an event came before its tile, or the judge stored
    them after the last refresh): the run's end shows them."""
    bid = channel_batch(window.store, tmp_path / "out")
    window.open_batch(bid)
    model = window.gallery.gallery_model
    for t in model.tiles:
        t.channels = {}
    window.channels.batch_finished(bid)
    qloop.run_until_complete(
        wait_until(lambda: all(len(t.channels) == 2 for t in model.tiles), 30, "the marks")
    )
    assert model.tiles[1].caption().splitlines()[1] == "Amazon ✗ · Rakuten ✓?"
