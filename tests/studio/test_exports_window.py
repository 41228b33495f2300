"""The window with real-shaped exports: the header-row control, the template library and a
variations batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from tests.data import exports
from tests.support.qt import imported, wait_until


def test_header_row_control_detects_and_overrides(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    p = exports.rakuten_item_csv(tmp_path)
    assert window.load_spreadsheet(p)
    sheet = window.sheet
    assert sheet.header_spin.value() == 0 and sheet.header_spin.text() == "Auto (5)"
    assert sheet.sheet_model.headerData(2, Qt.Orientation.Horizontal) == "商品名"
    assert "header on line 5" in sheet.file_label.text()
    assert "楽天市場" in sheet.notes_label.text()
    sheet.header_spin.setValue(2)  # the user's choice is read at once
    imported(qloop, window)
    assert sheet.table.header_line == 2 and sheet.table.headers[0] == "出力日時"
    sheet.header_spin.setValue(4)  # a blank line: said in the banner, the table kept
    imported(qloop, window)
    assert "no row starts on line 4" in window.banner.label.text()
    sheet.header_spin.setValue(0)
    imported(qloop, window)
    assert sheet.table.header_line == 5
    assert window.load_spreadsheet(exports.pantry_xlsx(tmp_path))
    assert sheet.header_spin.text() == "Auto (3)" and "Section" in sheet.table.headers


def test_reference_urls_show_in_the_preview(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    qloop.run_until_complete(_reference_urls(window, tmp_path))


async def _reference_urls(window: Any, tmp_path: Path) -> None:
    from tests.fakes.image_host import ImageHost

    with ImageHost() as host:
        urls = [[host.url("/napkin.jpg"), host.url("/napkin-2.webp")], [host.url("/missing.jpg")]]
        assert await window.sheet.open_file(exports.woocommerce_csv(tmp_path, urls))
        sheet = window.sheet
        sheet.prompt_edit.setPlainText("{Name} on a marble table")
        sheet.reference_combo.setCurrentIndex(sheet.reference_combo.findData("Images"))
        label = sheet.preview_reference
        await wait_until(lambda: not label.pixmap().isNull(), what="the reference thumbnail")
        assert label.pixmap().width() == 160 and "napkin.jpg" in label.toolTip()
        assert label.minimumHeight() == 160  # the preview box may not squeeze it away
        assert host.hits["/napkin.jpg"] == 1 and host.hits["/napkin-2.webp"] == 0
        sheet.sheet_view.selectRow(1)
        await wait_until(lambda: "HTTP 404" in label.text(), what="the download error")
        sheet.sheet_view.selectRow(0)  # cached now: shown at once, no new request
        assert not label.pixmap().isNull() and host.hits["/napkin.jpg"] == 1


def test_template_library_load_save_export_import(
    window: Any, data_dir: Path, tmp_path: Path, atelier_home: Path
) -> None:
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    box = window.sheet.library
    names = [box.combo.itemData(i) for i in range(box.combo.count())]
    assert names == ["Product hero on white", "Lifestyle scene", "Blog header 1200×630", "Social post per platform"]  # fmt: skip
    box.combo.setCurrentIndex(box.combo.findData("Lifestyle scene"))
    box.buttons["load"].click()
    sheet, batch = window.sheet, window.batch
    assert sheet.prompt().startswith("{Title} {Option1 Value} on {scene}")
    assert sheet.variations_edit.toPlainText() == (
        "scene: a marble table | a linen tablecloth | an outdoor café table"
    )
    assert batch.size_combo.currentText() == "1536x1024"
    assert batch.quality_combo.currentText() == "medium"
    assert sheet.preview_prompt.text().startswith("Nordic Scented Candle Pine Forest on a marble")
    assert sheet.preview_file.text() == (
        "→ NH-CND-001-a marble table.png   (the first of 3 variations of this row)"
    )
    # save the edited template under a name of the user's, export it, delete it, import it
    sheet.prompt_edit.setPlainText("{Title} on {scene}, golden hour")
    sheet.library.save_requested.emit("Golden hour")
    saved = list((atelier_home / "templates").glob("*.json"))
    assert len(saved) == 1 and box.combo.currentData() == "Golden hour"
    box.export_file(tmp_path / "golden.json")
    box.delete()
    assert box.combo.findData("Golden hour") == -1
    box.import_file(tmp_path / "golden.json")
    assert box.combo.currentData() == "Golden hour"
    sheet.prompt_edit.setPlainText("something else")
    box.load()
    assert sheet.prompt() == "{Title} on {scene}, golden hour"
    # a broken file says why, in the status bar, and changes nothing
    (tmp_path / "bad.json").write_text('{"name": "x"}', encoding="utf-8")
    box.import_file(tmp_path / "bad.json")
    assert "bad.json: prompt: required, missing" in window.statusBar().currentMessage()


def test_variations_batch_runs_rows_times_values(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    assert window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    sheet, batch = window.sheet, window.batch
    sheet.prompt_edit.setPlainText("{商品名}、{scene}の上")
    sheet.filename_edit.setText("{品番}")
    sheet.variations_edit.setPlainText("scene: 大理石 | 畳")
    assert sheet.preview_file.text().startswith("→ JP-TEA-001-大理石.png   (the first of 2")
    batch.provider_combo.setCurrentIndex(batch.provider_combo.findData("draft"))
    batch.output_edit.setText(str(tmp_path / "vary"))
    window.update_estimate()
    # 12 rows × 2 scenes; 急須, 湯呑み and 風呂敷 each name two rows: 6 prompts repeat, copied
    assert batch.estimate_label.text() == "18 to make, 6 reused · $0.000"
    assert "12 rows × 2 scene = 24 jobs" in batch.estimate_detail.text()
    sheet.variations_edit.setPlainText("scene 大理石")  # unreadable: said, nothing planned
    assert "Variations line 1" in sheet.problems_label.text()
    sheet.variations_edit.setPlainText("scene: 大理石 | 畳")
    done: list[int] = []
    window.batch_done.connect(done.append)
    batch.start_button.click()
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the batch to finish"))
    assert window.progress.jobs_model.counts() == {"completed": 24}
    files = sorted(p.name for p in (tmp_path / "vary").glob("*.png"))
    assert len(files) == 24 and "JP-TEA-001-畳.png" in files


def test_a_typed_size_that_cannot_be_read_is_said_not_raised(window: Any, data_dir: Path) -> None:
    window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    window.sheet.prompt_edit.setPlainText("{商品名}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.size_combo.setEditText("huge")
    window.update_estimate()
    said = "size: size must look like 1024x1024 or be 'auto', got 'huge'"
    assert window.batch.estimate_detail.text() == said
    window.start_batch()
    assert window.banner.label.text() == f"Not started. {said}"
    assert "Value error" not in window.banner.label.text()
