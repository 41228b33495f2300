"""The window with real-shaped exports: the header-row control, the template library and a
variations batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from tests.data import exports


def test_header_row_control_detects_and_overrides(window: Any, tmp_path: Path) -> None:
    p = exports.rakuten_item_csv(tmp_path)
    assert window.load_spreadsheet(p)
    sheet = window.sheet
    assert sheet.header_spin.value() == 0 and sheet.header_spin.text() == "Auto (5)"
    assert sheet.sheet_model.headerData(2, Qt.Orientation.Horizontal) == "商品名"
    assert "header on line 5" in sheet.file_label.text()
    assert "楽天市場" in sheet.notes_label.text()
    sheet.header_spin.setValue(2)  # the user's choice is read at once
    assert sheet.table.header_line == 2 and sheet.table.headers[0] == "出力日時"
    sheet.header_spin.setValue(4)  # a blank line: said in the banner, the table kept
    assert "no row starts on line 4" in window.banner.label.text()
    sheet.header_spin.setValue(0)
    assert sheet.table.header_line == 5
    assert window.load_spreadsheet(exports.pantry_xlsx(tmp_path))
    assert sheet.header_spin.text() == "Auto (3)" and "Section" in sheet.table.headers


async def test_reference_urls_show_in_the_preview(window: Any, tmp_path: Path) -> None:
    from tests.fakes.image_host import ImageHost
    from tests.ui.conftest import wait_until

    with ImageHost() as host:
        urls = [[host.url("/napkin.jpg"), host.url("/napkin-2.webp")], [host.url("/missing.jpg")]]
        assert window.load_spreadsheet(exports.woocommerce_csv(tmp_path, urls))
        sheet = window.sheet
        sheet.prompt_edit.setPlainText("{Name} on a marble table")
        sheet.reference_combo.setCurrentIndex(sheet.reference_combo.findData("Images"))
        label = sheet.preview_reference
        await wait_until(lambda: not label.pixmap().isNull(), what="the reference thumbnail")
        assert label.pixmap().width() == 160 and "napkin.jpg" in label.toolTip()
        assert host.hits["/napkin.jpg"] == 1 and host.hits["/napkin-2.webp"] == 0
        sheet.sheet_view.selectRow(1)
        await wait_until(lambda: "HTTP 404" in label.text(), what="the download error")
        sheet.sheet_view.selectRow(0)  # cached now: shown at once, no new request
        assert not label.pixmap().isNull() and host.hits["/napkin.jpg"] == 1
