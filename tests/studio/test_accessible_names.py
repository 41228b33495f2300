"""Every control of the studio has a name a screen reader reads.

The window is built, a small shop export imported and run on the draft provider, then every
page and the main dialogs (Settings, the image viewer, Compare) are shown in turn, and every
interactive widget and every menu item is asked, through Qt's accessibility layer
(what the AT-SPI bridge hands to Orca), for its name.

What counts as a name is what a screen reader says before the control's role and value: the
interface's ``Name`` text (an explicit accessible name, a button's text, a line edit's label
buddy), or the label that the control is *labelled by* (``QLabel.setBuddy``; ``QFormLayout``
sets it). On Linux, Qt gives a combo box's current text as its ``Name`` and leaves the label to
the relation, so a name equal to the control's value is its value, not a name.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAccessible, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QSlider,
    QTextEdit,
    QWidget,
)

from tests.data.exports import woocommerce_csv
from tests.support.qt import wait_until

INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QSlider,
    QTextEdit,
    QPlainTextEdit,
)


def spoken_name(widget: QWidget) -> str:
    """The name a screen reader says for ``widget`` ("" when it has none)."""
    iface = QAccessible.queryAccessibleInterface(widget)
    assert iface is not None and iface.isValid(), f"no accessible interface for {widget!r}"
    name = iface.text(QAccessible.Text.Name).strip()
    value = iface.text(QAccessible.Text.Value).strip()
    if name and name == value and isinstance(widget, QComboBox | QLineEdit | QAbstractSpinBox):
        name = ""  # the value read back, not a name (a combo box's Name on Linux)
    if name:
        return name
    labels = [
        other.text(QAccessible.Text.Name).strip()
        for other, _rel in iface.relations(QAccessible.RelationFlag.Label)
    ]
    return next((t for t in labels if t), "")


def _internal(widget: QWidget) -> bool:
    """Parts of another control, which the accessibility layer reads as that control."""
    parent = widget.parentWidget()
    if isinstance(widget, QLineEdit) and isinstance(parent, QAbstractSpinBox):
        return True  # a spin box's own text field (an editable combo box's is a control)
    if isinstance(widget, QLineEdit) and isinstance(parent, QComboBox):
        return False
    ancestor = parent
    while ancestor is not None:
        if isinstance(ancestor, QComboBox):
            return True  # a combo box's pop-up list, read as the combo box's items
        ancestor = ancestor.parentWidget()
    if isinstance(widget, QHeaderView) and isinstance(parent, QAbstractItemView):
        return True  # the table's headers are read as its column and row names
    # The corner button is not among a table's accessible children (cells and headers only).
    return widget.objectName() == "qt_tableview_cornerbutton"


def describe(widget: QWidget) -> str:
    """A control in a failure message: class, objectName, and where it lives."""
    chain = []
    w: QWidget | None = widget.parentWidget()
    while w is not None and len(chain) < 3:
        chain.append(w.objectName() or type(w).__name__)
        w = w.parentWidget()
    tip = widget.toolTip()[:40]
    text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
    return (
        f"{type(widget).__name__}({widget.objectName()!r}, text={text!r}, tip={tip!r}) "
        f"in {' < '.join(chain)}"
    )


class Unnamed:
    """The controls found without a name, each once, with where it was first seen."""

    def __init__(self) -> None:
        self.found: dict[object, str] = {}

    def walk(self, top: QWidget, where: str) -> None:
        """Every interactive widget under ``top`` (and every item of its menus) that a screen
        reader would announce without a name. Hidden ones too: the AT-SPI tree holds them,
        and some show only in a state the walk does not reach (the tool bar's ">>" button
        appears when a translation is too long for the screen)."""
        for w in [top, *top.findChildren(QWidget)]:
            if not isinstance(w, INTERACTIVE) or _internal(w) or w in self.found:
                continue
            if not spoken_name(w):
                shown = "" if w.isVisible() else " (hidden)"
                self.found[w] = f"{where}{shown}: {describe(w)}"
        for menu in top.findChildren(QMenu):
            iface = QAccessible.queryAccessibleInterface(menu)
            for i in range(iface.childCount()):
                item = iface.child(i)
                if item.role() == QAccessible.Role.Separator:
                    continue
                if not item.text(QAccessible.Text.Name).strip():
                    self.found[(menu, i)] = f"{where}: menu {menu.title()!r} item {i}"


def test_every_control_has_an_accessible_name(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    unnamed = Unnamed()
    # The empty sheet page first (its "open" and "sample" buttons), then every page with a
    # spreadsheet open and a draft batch run, so that the tables and the gallery hold rows.
    unnamed.walk(window, "empty sheet page")
    sheet = woocommerce_csv(tmp_path, [[], [], []])
    assert window.load_spreadsheet(sheet)
    window.sheet.prompt_edit.setPlainText("Studio photo of {Name}")
    window.sheet.filename_edit.setText("{SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(tmp_path / "out"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the draft run"))
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(20)
        unnamed.walk(window, f"page {window.tabs.tabText(index)!r}")
    # The batch page shows each provider's own fields (style presets, a workflow, …).
    window.tabs.setCurrentIndex(1)
    combo = window.batch.provider_combo
    for i in range(combo.count()):
        combo.setCurrentIndex(i)
        unnamed.walk(window.batch, f"batch page, provider {combo.itemData(i)}")

    settings = window.open_settings()
    qtbot.waitExposed(settings)
    for row in range(settings.provider_model.rowCount()):
        settings.provider_list.setCurrentIndex(settings.provider_model.index(row))
        unnamed.walk(settings, f"Settings, provider row {row}")
    settings.reject()

    job_id = window.progress.jobs_model.jobs[0].id
    viewer = window.review.open_viewer(job_id)
    assert viewer is not None
    qtbot.waitExposed(viewer)
    unnamed.walk(viewer, "image viewer")
    viewer.reject()

    from atelier.studio.widgets.compare import CompareView

    images = []
    for n in (1, 2):
        p = tmp_path / f"v{n}.png"
        img = QImage(32, 32, QImage.Format.Format_RGB32)
        img.fill(0x808080 * n)
        img.save(str(p))
        images.append((p, f"v{n}"))
    compare = CompareView(images, window)
    compare.open()
    qtbot.waitExposed(compare)
    unnamed.walk(compare, "compare")
    compare.reject()

    missing = list(unnamed.found.values())
    assert not missing, "controls without an accessible name:\n" + "\n".join(missing)


def test_spoken_name_reads_labels_not_values(qtbot: Any) -> None:
    """The measure itself: a labelled combo box has a name, an unlabelled one with a value
    does not, and neither does a bare line edit."""
    from PySide6.QtWidgets import QFormLayout

    box = QWidget()
    qtbot.addWidget(box)
    form = QFormLayout(box)
    labelled, bare, edit = QComboBox(), QComboBox(), QLineEdit()
    labelled.addItem("PNG")
    bare.addItem("PNG")
    form.addRow("Format", labelled)
    form.addRow(bare)
    form.addRow(edit)
    box.show()
    assert spoken_name(labelled) == "Format"
    assert spoken_name(bare) == ""
    assert spoken_name(edit) == ""
