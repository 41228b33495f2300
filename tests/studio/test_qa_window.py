"""Quality checks on save in the window (issue 31): a run whose provider returns flat images
for some rows shows their flags in the progress table's Quality column and on the gallery's
tiles (a ⚠ mark, the flags in the tooltip), the gallery's "Flagged" filter keeps exactly those,
and a batch opened again reads the flags back from the store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atelier.core.models import RunSettings
from atelier.studio.models.gallery import QA_MARK, load_views
from atelier.studio.models.jobs import JobsModel
from tests.fakes.crafted import encode, photo_like
from tests.fakes.openai_server import FakeOpenAI
from tests.support.qt import shopify_on_fake_openai, wait_until

GOOD = ("NH-CND-001", "NH-CND-003")


def _run(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    qa_retry: int = 0,
) -> None:
    """The Shopify export run on the fake OpenAI: flat images (near-uniform), but for the rows
    of ``GOOD``, which get photo-like ones."""
    flat_image = fake_openai.image  # one flat colour per prompt: "near-uniform"

    def image(
        w: int, h: int, fmt: str = "png", transparent: bool = False, prompt: str = ""
    ) -> bytes:
        for i, sku in enumerate(GOOD):
            if sku in prompt:
                return encode(photo_like(i + 1, (w, h)), {"jpeg": "JPEG"}.get(fmt, "PNG"))
        return flat_image(w, h, fmt, transparent, prompt)

    monkeypatch.setattr(fake_openai, "image", image)
    done = shopify_on_fake_openai(
        window, data_dir / "shopify-home-goods.csv", tmp_path / "out", fake_openai, monkeypatch
    )
    window.batch.qa_retry_spin.setValue(qa_retry)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 120, "the run"))


def test_progress_table_and_gallery_show_the_flags(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    qtmodeltester: Any,
) -> None:
    _run(window, qloop, data_dir, tmp_path, fake_openai, monkeypatch)
    assert window.spend_asked[0].qa_retry == 0 and window.spend_asked[0].remakes_text() == ""
    assert len(fake_openai.requests()) == 38  # by default nothing is made again

    jobs: JobsModel = window.progress.jobs_model
    qtmodeltester.check(jobs)
    col = JobsModel.QUALITY
    assert jobs.headerData(col, Qt.Orientation.Horizontal) == "Quality"
    by_file = {j.file: r for r, j in enumerate(jobs.jobs)}
    good = [by_file[f"{sku}.png"] for sku in GOOD]
    flat = [r for r in range(len(jobs.jobs)) if r not in good]
    for r in good:
        assert jobs.data(jobs.index(r, col)) == ""
    for r in flat:
        assert jobs.data(jobs.index(r, col)) == "near-uniform"
    tip = jobs.data(jobs.index(flat[0], col), Qt.ItemDataRole.ToolTipRole)
    assert tip == "Image 1: Quality check: near-uniform"

    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    qloop.run_until_complete(
        wait_until(lambda: gallery.gallery_proxy.rowCount() == 38, 10, "tiles")
    )
    qtmodeltester.check(gallery.gallery_model)
    tiles = {t.label: t for t in gallery.gallery_model.tiles}
    assert not tiles["NH-CND-001.png"].caption().startswith(QA_MARK)
    flagged = tiles["NH-CND-002.png"]
    assert flagged.caption().startswith(QA_MARK)
    assert "Quality check: near-uniform" in flagged.tip()
    qloop.run_until_complete(
        wait_until(lambda: "36 flagged" in gallery.qa_counts_label.text(), 5, "the count")
    )
    # A screen reader hears the file name, then the flags in words (not the ⚠ glyph).
    index = gallery.gallery_model.index(gallery.gallery_model.tiles.index(flagged), 0)
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == "NH-CND-002.png"
    assert "near-uniform" in index.data(Qt.ItemDataRole.AccessibleDescriptionRole)

    assert gallery.qa_filter.accessibleName() == "Only images the quality check flagged"
    gallery.qa_filter.setChecked(True)
    assert gallery.gallery_proxy.rowCount() == 36
    assert set(gallery.shown_image_ids()) == {
        t.image_id for t in gallery.gallery_model.tiles if t.qa_flags
    }
    gallery.flag_filter.setCurrentIndex(gallery.flag_filter.findData("unflagged"))
    assert gallery.gallery_proxy.rowCount() == 36  # the filters combine
    gallery.qa_filter.setChecked(False)
    assert gallery.gallery_proxy.rowCount() == 38

    # Opened again: the flags come from the store.
    views, reloaded = load_views(window.store, window.batch_id)
    assert sum(1 for v in views if v.qa_flags == ("uniform",)) == 36
    assert sum(1 for t in reloaded if t.qa_flags) == 36


def test_qa_retry_in_the_window_is_asked_priced_and_counted(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spin = window.batch.qa_retry_spin
    assert spin.accessibleName() == "Re-make flagged images" and spin.value() == 0
    assert spin.text() == "never"
    _run(window, qloop, data_dir, tmp_path, fake_openai, monkeypatch, qa_retry=1)
    (question,) = window.spend_asked
    worst = question.estimate.to_pay_usd
    assert question.qa_retry == 1 and worst
    assert f"at most ${worst:.3f} more" in question.remakes_text()
    assert "The spend cap bounds them" in question.remakes_text()
    # The cap is the estimate and its margin: re-makes take only the room the first makings
    # leave, so every job is made and a few flat ones are made again (flat again: kept flagged).
    assert window.progress.jobs_model.counts() == {"completed": 38}
    remakes = len(fake_openai.requests()) - 38
    assert 0 < remakes < 36
    jobs: JobsModel = window.progress.jobs_model
    one = {j.file: j for j in jobs.jobs}["NH-CND-001.png"].cost
    assert one
    # Prompts differ in length (input tokens), so prices differ a little between jobs.
    twice = [j for j in jobs.jobs if j.attempts == 2]
    assert len(twice) == remakes
    assert all(j.cost == pytest.approx(2 * one, rel=0.05) for j in twice)
    spent = window.store.known_spend_usd(window.batch_id)
    assert jobs.spend() == pytest.approx(spent)
    assert spent == pytest.approx((38 + remakes) * one, rel=0.05)
    cap = RunSettings.model_validate(window.store.batch(window.batch_id).settings).budget_usd
    assert cap is not None and spent <= cap + 1e-9
    assert window.progress.overrun_label.text() == ""  # asked-for re-makes are no overrun
    views, _ = load_views(window.store, window.batch_id)
    assert sum(1 for v in views if v.qa_flags) == 36
