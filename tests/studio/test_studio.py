"""What a designer does in the window, offscreen, against the fake OpenAI server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch
from tests.support.qt import imported, wait_until


def _yes(_parent: Any, question: Any) -> Any:
    from atelier.studio.widgets.spend_dialog import SpendAnswer

    return SpendAnswer(question.cap_usd)


def _click_action(qtbot: Any, window: Any, action: Any) -> None:
    toolbar = window.findChild(type(window.addToolBar("x")), "main_toolbar")
    button = toolbar.widgetForAction(action)
    assert isinstance(button, QToolButton) and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_designer_flow_with_failures_retry_and_gallery(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    qtmodeltester: Any,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    window.ask_spend = _yes  # the money question, answered with the cap it suggests
    fake_openai.state.retry_after_s = 0.05
    for sku in ("NH-CND-002", "MT-BLK-001", "AR-RUG-003"):
        fake_openai.script_for(sku, ["429"])
    for sku in ("NH-CND-003", "GL-POT-001"):
        fake_openai.script_for(sku, ["moderation_blocked"])

    # 1. import the Shopify export
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    assert window.sheet.sheet_model.rowCount() == 38
    assert window.sheet.sheet_model.headerData(13, Qt.Orientation.Horizontal) == "Variant SKU"
    qtmodeltester.check(window.sheet.sheet_model)

    # 2. write the templates: an unknown column is reported before anything runs
    window.sheet.prompt_edit.setPlainText("")
    qtbot.keyClicks(window.sheet.prompt_edit, "Product photo of {Titel}")
    assert (
        "{Titel}" in window.sheet.problems_label.text()
        and "did you mean {Title}" in window.sheet.problems_label.text()
    )
    window.sheet.prompt_edit.setPlainText(
        "Product photo of {Title} in {Option1 Value} ({Variant SKU}), linen backdrop"
    )
    window.sheet.filename_edit.clear()
    qtbot.keyClicks(window.sheet.filename_edit, "{Variant SKU}")
    assert window.sheet.problems_label.text() == ""
    assert window.sheet.preview_prompt.text() == (
        "Product photo of Nordic Scented Candle in Pine Forest (NH-CND-001), linen backdrop"
    )
    assert window.sheet.preview_file.text() == "→ NH-CND-001.png"

    # 3. settings and the estimate
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("openai"))
    window.batch.model_combo.setCurrentIndex(window.batch.model_combo.findData("gpt-image-1.5"))
    window.batch.quality_combo.setCurrentText("low")
    window.batch.size_combo.setCurrentText("1024x1024")
    window.batch.output_edit.setText(str(tmp_path / "shop"))
    window.update_estimate()
    # 38 × $0.009 (low, 1024²), and at half through the Batch API
    assert window.batch.estimate_label.text() == (
        "38 images · $0.342 now · $0.171 economy, within 24 h"
    )
    window.batch.economy_check.setChecked(True)
    window.update_estimate()
    assert window.batch.estimate_label.text() == (
        "38 images · $0.171 economy, within 24 h ($0.342 now)"
    )
    window.batch.economy_check.setChecked(False)
    window.update_estimate()

    # 4. run
    done: list[int] = []
    window.batch_done.connect(done.append)
    qtbot.mouseClick(window.batch.start_button, Qt.MouseButton.LeftButton)

    async def first_run() -> None:
        await wait_until(lambda: len(done) == 1, 60, "the batch to finish")

    qloop.run_until_complete(first_run())
    jobs = {j.file: j for j in window.progress.jobs_model.jobs}
    assert jobs["NH-CND-002.png"].status == "completed" and jobs["NH-CND-002.png"].attempts == 2
    assert jobs["NH-CND-003.png"].status == "failed" and jobs["NH-CND-003.png"].attempts == 1
    assert "content policy" in jobs["NH-CND-003.png"].error
    assert window.progress.jobs_model.counts() == {"completed": 36, "failed": 2}
    qtmodeltester.check(window.progress.jobs_model)
    # the failed rows are readable in the table, and the filter shows only them
    window.progress.job_filter.setCurrentIndex(2)
    assert window.progress.jobs_model.rowCount() == 2
    err = window.progress.jobs_model.index(0, 7).data()
    assert "refused this prompt under its content policy" in err
    # the prompt search narrows what the status filter shows, case-insensitively
    failed_prompt = jobs["NH-CND-003.png"].prompt
    window.progress.job_search.setText(failed_prompt.upper())
    shown = {
        window.progress.jobs_model.index(r, 2).data()
        for r in range(window.progress.jobs_model.rowCount())
    }
    assert "NH-CND-003.png" in shown and len(shown) <= 2  # still only failed rows
    window.progress.job_filter.setCurrentIndex(0)
    shown = {
        window.progress.jobs_model.index(r, 2).data()
        for r in range(window.progress.jobs_model.rowCount())
    }
    assert "NH-CND-003.png" in shown and len(shown) < 38
    window.progress.job_search.setText("no prompt says this")
    assert window.progress.jobs_model.rowCount() == 0
    window.progress.job_search.setText("")
    window.progress.job_filter.setCurrentIndex(0)
    assert window.progress.jobs_model.rowCount() == 38
    assert "36 done · 2 failed" in window.progress.counts_label.text()

    # 5. retry all failed (the content filter lets them through this time)
    _click_action(qtbot, window, window.acts.retry_failed)

    async def second_run() -> None:
        await wait_until(lambda: len(done) == 2, 60, "the retry to finish")

    qloop.run_until_complete(second_run())
    assert window.progress.jobs_model.counts() == {"completed": 38}
    assert jobs["NH-CND-003.png"].attempts == 2  # the same job, a new attempt: no duplicate row
    assert len(window.progress.jobs_model.jobs) == 38
    assert len(fake_openai.requests("NH-CND-001")) == 1  # finished images were not requested again

    # 6. the gallery shows thumbnails, loaded off the GUI thread
    window.tabs.setCurrentIndex(3)

    gm = window.gallery.gallery_model

    async def thumbnails() -> None:
        await wait_until(lambda: gm.is_loaded(0) and gm.loaded_count() >= 6, 30, "first thumbnails")
        window.gallery.gallery_view.scrollToBottom()  # the view asks only for the tiles it shows
        await wait_until(lambda: gm.is_loaded(37), 30, "thumbnails after scrolling")

    qloop.run_until_complete(thumbnails())
    qtmodeltester.check(window.gallery.gallery_model)
    assert window.gallery.gallery_proxy.rowCount() == 38
    viewer = window.gallery.open_item(window.gallery.gallery_proxy.index(0, 0))
    assert viewer is not None and viewer.original_size.width() == 1024
    viewer.close()
    assert sorted(p.name for p in (tmp_path / "shop").glob("*.png"))[0] == "AC-VAS-001.png"
    window.refresh_history()
    qtmodeltester.check(window.history.history_model)
    assert window.history.history_model.rowCount() == 1


def test_provider_switch_changes_what_is_offered(window: Any, data_dir: Path) -> None:
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    sizes = [window.batch.size_combo.itemText(i) for i in range(window.batch.size_combo.count())]
    assert "512x512" in sizes and window.batch.size_combo.isEditable()
    assert window.sheet.negative_edit.isEnabled() and window.batch.seed_widget.isEnabled()
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("openai"))
    sizes = [window.batch.size_combo.itemText(i) for i in range(window.batch.size_combo.count())]
    assert (
        sizes == ["1024x1024", "1536x1024", "1024x1536", "auto"]
        and not window.batch.size_combo.isEditable()
    )
    assert not window.sheet.negative_edit.isEnabled() and not window.batch.seed_widget.isEnabled()
    models = [window.batch.model_combo.itemData(i) for i in range(window.batch.model_combo.count())]
    # gpt-image-1, shut down on 2026-10-23, is no longer offered (the catalogue's dates)
    assert models[:3] == ["gpt-image-1.5", "gpt-image-2", "gpt-image-1-mini"]
    assert "gpt-image-2.6-sunburst" in models and "gpt-image-1" not in models
    mini = window.batch.model_combo.itemText(2)
    assert mini == "GPT Image 1 mini — deprecated by OpenAI"
    window.batch.format_combo.setCurrentText("jpeg")
    assert not window.batch.transparent_check.isEnabled()
    window.batch.format_combo.setCurrentText("webp")
    assert window.batch.transparent_check.isEnabled()

    def items(combo: Any) -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("stability"))
    assert window.sheet.negative_edit.isEnabled() and window.batch.seed_widget.isEnabled()
    assert not window.batch.style_combo.isHidden() and "photographic" in items(
        window.batch.style_combo
    )
    assert (
        not window.batch.transparent_check.isEnabled()
    )  # no Stability model makes transparent images
    window.batch.model_combo.setCurrentIndex(window.batch.model_combo.findData("sd3.5-large"))
    assert items(window.batch.format_combo) == ["png", "jpeg"]  # sd3 has no webp
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("a1111"))
    assert window.batch.concurrency_spin.value() == 1 and window.batch.style_combo.isHidden()
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("comfyui"))
    assert not window.batch.workflow_widget.isHidden()
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("bfl"))
    assert window.batch.workflow_widget.isHidden() and not window.sheet.negative_edit.isEnabled()
    assert "1440x800" in items(window.batch.size_combo) and window.batch.size_combo.isEditable()
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("gemini"))
    assert items(window.batch.quality_combo) == ["auto"] and "1344x768" in items(
        window.batch.size_combo
    )


def test_bad_spreadsheet_goes_to_the_error_funnel(window: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"not a zip")
    assert not window.load_spreadsheet(bad)
    assert not window.banner.isHidden()
    assert "broken.xlsx" in window.banner.label.text()


def test_unknown_price_is_not_zero(window: Any, data_dir: Path) -> None:
    window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    window.sheet.prompt_edit.setPlainText("{商品名}、{カラー}")
    window.sheet.filename_edit.setText("{品番}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("openai"))
    # gpt-image-2.6: token rates only, no published per-image price
    flare = window.batch.model_combo.findData("gpt-image-2.6-flare")
    window.batch.model_combo.setCurrentIndex(flare)
    window.update_estimate()
    assert window.batch.estimate_label.text() == "12 images · price unknown"
    assert window.sheet.preview_prompt.text() == "急須、黒"


def test_interrupted_batch_is_offered_for_resume(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, atelier_home: Path, tmp_path: Path, data_dir: Path
) -> None:
    from atelier.core import paths
    from atelier.core.models import RunSettings, load_batch_config
    from atelier.sheet.config_plan import plan_from_config
    from atelier.studio.app import build_window

    store = Store(paths.store_path())
    plan = plan_from_config(load_batch_config(data_dir / "batch-configs" / "batch-simple.json"))
    bid = store_batch(
        store,
        RunSettings(),
        plan.specs,
        tmp_path / "o",
        name="crashed",
        estimated_cost=0.0,
    )
    with store.tx() as db:  # as left by a process that died mid-batch
        db.execute("UPDATE batches SET status='running', owner_pid=999999 WHERE id=?", (bid,))
        db.execute("UPDATE jobs SET status='running', owner_pid=999999 WHERE seq=0")
    store.close()
    win, store2 = build_window()
    qtbot.addWidget(win)
    assert "was interrupted with 3 of 3 jobs not done" in win.banner.label.text()
    done: list[int] = []
    win.batch_done.connect(done.append)
    resume = next(b for b in win.banner.buttons if b.text() == "Resume")
    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)

    async def finished() -> None:
        await wait_until(lambda: bool(done), 30, "resumed batch")

    qloop.run_until_complete(finished())
    assert win.progress.jobs_model.counts() == {"completed": 3}
    win.close()
    store2.close()


def test_settings_test_connection(
    window: Any, qloop: asyncio.AbstractEventLoop, fake_openai: FakeOpenAI, qtmodeltester: Any
) -> None:
    dlg = window.open_settings()
    assert dlg.provider_model.rowCount() == 12  # every provider but the offline draft
    qtmodeltester.check(dlg.provider_model)
    dlg.provider_list.setCurrentIndex(dlg.provider_model.index(3))
    assert dlg.stack.currentWidget() is dlg.panels[dlg.provider_model.names[3]]
    assert dlg.panels["comfyui"].key_edit.isHidden()  # ComfyUI has no auth
    panel = dlg.panels["openai"]
    panel.url_edit.setText(fake_openai.base_url)
    panel.key_edit.setText("sk-wrong")
    assert "rejected the API key" in qloop.run_until_complete(panel.test_connection())
    panel.key_edit.setText(FAKE_KEY)
    assert "key accepted" in qloop.run_until_complete(panel.test_connection())
    panel.url_edit.setText("http://127.0.0.1:9/v1")
    assert "Cannot reach" in qloop.run_until_complete(panel.test_connection())
    dlg.reject()


def test_drop_a_spreadsheet_on_the_window(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(data_dir / "jp-zakka-shift_jis.csv"))])
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(ev)
    imported(qloop, window)
    assert window.sheet.table is not None and window.sheet.table.headers[0] == "品番"
    assert window.sheet.sheet_model.rowCount() == 12
    assert "CP932" in window.sheet.file_label.text()
    # the encoding override re-reads the file: a wrong choice shows mojibake, not a crash
    window.sheet.encoding_combo.setCurrentIndex(window.sheet.encoding_combo.findData("latin_1"))
    window.sheet.encoding_combo.activated.emit(window.sheet.encoding_combo.currentIndex())
    imported(qloop, window)
    assert window.sheet.table.headers[0] != "品番" and window.sheet.sheet_model.rowCount() == 12


def test_edit_rows_from_a_reference_column(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from PIL import Image

    Image.new("RGB", (400, 300), "orange").save(tmp_path / "mug.png")
    csv = tmp_path / "edits.csv"
    csv.write_text(
        "SKU,Colour,photo\nMUG-1,blue,mug.png\nMUG-2,green,mug.png\nMUG-3,plain,\n",
        encoding="utf-8",
    )
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    assert window.load_spreadsheet(csv)
    window.sheet.prompt_edit.setPlainText("Recolour the mug {Colour}")
    window.sheet.filename_edit.setText("{SKU}")
    window.sheet.reference_combo.setCurrentIndex(window.sheet.reference_combo.findData("photo"))
    window.batch.output_edit.setText(str(tmp_path / "out"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()

    async def finished() -> None:
        await wait_until(lambda: bool(done), 30, "edit batch")

    qloop.run_until_complete(finished())
    jobs = window.store.jobs(done[0])
    assert [j.spec.operation for j in jobs] == ["edit", "edit", "generate"]
    assert [j.status for j in jobs] == ["completed"] * 3
    with Image.open(tmp_path / "out" / "MUG-1.png") as im:
        assert im.size == (1024, 1024)


def test_budget_cap_is_said_in_the_window(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    window.sheet.prompt_edit.setPlainText("Photo of {Title}")
    window.sheet.filename_edit.setText("{Variant SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("openai"))
    window.batch.quality_combo.setCurrentText("low")
    window.ask_spend = _yes  # the cap set on the page is the one offered
    window.batch.budget_spin.setValue(0.10)  # 11 images at $0.009
    window.batch.new_images_check.setChecked(True)  # every image paid: the cap is what stops
    window.batch.output_edit.setText(str(tmp_path / "capped"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()

    async def finished() -> None:
        await wait_until(lambda: bool(done), 30, "capped batch")

    qloop.run_until_complete(finished())
    assert window.progress.jobs_model.counts() == {"completed": 11, "pending": 27}
    assert "Budget cap of $0.10 reached" in window.statusBar().currentMessage()
    assert (
        "Budget cap" in window.banner.label.text()
        and window.banner.buttons[0].text() == "Raise the cap…"
    )
    assert len(fake_openai.requests()) == 11
