"""Accessible names a screen reader reads on every platform.

A control beside a visible label gets that label as its buddy (``QLabel.setBuddy``, which
``QFormLayout.addRow(text, field)`` does). A control without one, or inside a composite field
(a line edit with a "Choose…" button, a check box with its spin box) whose row label is the
container's, gets ``name(control, text)``.

Why a combo box needs more than ``setAccessibleName``: on Linux Qt hands a combo box's current
text to AT-SPI as its name and leaves the label to the "labelled by" relation, which Qt builds
only from a sibling ``QLabel`` whose buddy is the combo box. So ``name`` also gives a combo box
an invisible sibling label; Windows and macOS read the accessible name itself.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QToolButton, QWidget


def name(widget: QWidget, text: str) -> None:
    """Give ``widget`` the accessible name ``text`` (already translated), also on AT-SPI for a
    combo box. Call it at construction: a combo box's label follows it into its parent."""
    widget.setAccessibleName(text)
    if isinstance(widget, QComboBox):
        _HiddenLabel(widget, text)


def name_clear_button(edit: QLineEdit, text: str) -> None:
    """Name the clear button ``setClearButtonEnabled(True)`` puts inside ``edit``: a tool
    button of its own with no text, which a screen reader would read as "button"."""
    for button in edit.findChildren(QToolButton):
        button.setAccessibleName(text)


def name_editor(combo: QComboBox, text: str) -> None:
    """Name the text field of an editable combo box, which AT-SPI shows as a control of its
    own (``setEditable(True)`` makes a new one: call this after it)."""
    editor = combo.lineEdit()
    if editor is not None:
        editor.setAccessibleName(text)


class _HiddenLabel(QObject):
    """An invisible ``QLabel`` that labels ``combo`` and lives beside it (Qt looks for a
    combo box's labels among its siblings), following it whenever it is reparented."""

    def __init__(self, combo: QComboBox, text: str) -> None:
        super().__init__(combo)
        self.label = QLabel(text)
        self.label.setObjectName(f"{combo.objectName() or 'combo'}_a11y_label")
        self.label.setBuddy(combo)
        combo.installEventFilter(self)
        self._follow(combo)

    def _follow(self, combo: QWidget) -> None:
        parent = combo.parentWidget()
        if parent is not None and self.label.parentWidget() is not parent:
            self.label.setParent(parent)  # a reparented widget stays hidden until shown
            self.label.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ParentChange and isinstance(watched, QWidget):
            self._follow(watched)
        return False
