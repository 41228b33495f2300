"""The window's "Make one image per: product / each colour / every row" (issue 28, "Rows"):
offered from the open shop export, the estimate follows the choice, the batch stores one job
per product listing its rows; a template naming a column the sheet lacks suggests the closest
ones in the warning under the template."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel

from tests.sheet.test_products import woo_variable_csv
from tests.support.qt import wait_until


def _items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_one_image_per_product_in_the_window(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    sheet, batch = window.sheet, window.batch
    sheet.prompt_edit.setPlainText("Studio photo of {Title}")
    sheet.filename_edit.setText("{Variant SKU}")
    batch.provider_combo.setCurrentIndex(batch.provider_combo.findData("draft"))
    batch.output_edit.setText(str(tmp_path / "shop"))
    combo = window.findChild(QComboBox, "per_combo")
    assert combo is not None and combo.accessibleName() == "Make one image per"
    label = next(w for w in window.findChildren(QLabel) if w.buddy() is combo)
    assert label.text() == "Make one image per"
    # Offered from the file: Shopify's products, each option its products name, every row.
    assert _items(combo) == ["product", "each Scent", "each Color", "each Size", "every row"]
    assert combo.currentText() == "every row"
    assert "Handle" in combo.itemData(0, 3)  # the tip names the shop's product column
    window.update_estimate()
    assert batch.estimate_label.text() == "18 to make, 20 reused · $0.000"  # 20 copies
    assert "38 jobs" in batch.estimate_detail.text()

    # The estimate follows the choice at once (the page's own debounced estimate).
    combo.setCurrentIndex(combo.findText("product"))
    said = "18 jobs (38 rows: one image per product)"
    qloop.run_until_complete(
        wait_until(lambda: said in batch.estimate_detail.text(), 10, "the estimate")
    )
    assert batch.estimate_label.text() == "18 images · $0.000"
    assert "{Variant SKU}" in batch.plan_notes.toPlainText()  # the first row's SKU is used

    done: list[int] = []
    window.batch_done.connect(done.append)
    batch.start_button.click()
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the batch to finish"))
    jobs = window.store.jobs(done[0])
    assert len(jobs) == 18
    assert sorted(r for j in jobs for r in j.spec.source_rows()) == list(range(38))
    assert len(list((tmp_path / "shop").glob("*.png"))) == 18

    # Another sheet offers its own list; the choice it cannot keep goes back to every row.
    assert window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    assert _items(combo) == ["each カラー", "every row"]
    assert combo.currentText() == "every row"


def test_woocommerce_parents_and_a_template_naming_a_missing_column(
    window: Any, tmp_path: Path
) -> None:
    assert window.load_spreadsheet(woo_variable_csv(tmp_path))
    sheet, batch = window.sheet, window.batch
    sheet.prompt_edit.setPlainText("Photo of {Title}")
    assert "{Title} (did you mean {Name}?)" in sheet.problems_label.text()
    sheet.prompt_edit.setPlainText("Photo of {Name}")
    sheet.filename_edit.setText("{SKU}")
    assert sheet.problems_label.text() == ""
    batch.provider_combo.setCurrentIndex(batch.provider_combo.findData("draft"))
    combo = batch.per_combo
    assert _items(combo) == ["product", "each Color", "each Size", "each Logo", "every row"]
    window.update_estimate()
    assert "9 jobs" in batch.estimate_detail.text()
    assert batch.select_per(combo.itemData(0))
    window.update_estimate()
    assert "3 jobs (9 rows: one image per product)" in batch.estimate_detail.text()
