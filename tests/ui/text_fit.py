"""Which visible texts of a window do not fit their widget: measured with the widget's own font
metrics against the room its style gives the text (the text rectangle of a label, the edit
field of a combo box, a button's contents, a line edit's text area, a tab, a group box title).

Word-wrapped labels, rich text and item views are left out: they wrap, or elide and show the
whole text in a tooltip; a widget is cut too when it reaches past the edge of its window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QToolBar,
    QWidget,
)

SLACK = 1
"""Pixels of rounding allowed between a measured text and its room."""


def _inside_view(w: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractItemView):
            return True
        p = p.parentWidget()
    return False


def _name(w: QWidget) -> str:
    return w.objectName() or type(w).__name__


def _width(fm: QFontMetrics, text: str) -> int:
    return max(
        (fm.horizontalAdvance(line) for line in text.replace("&&", "&").split("\n")), default=0
    )


def _label(w: QLabel) -> str | None:
    text = w.text()
    if (
        not text
        or w.wordWrap()
        or w.textFormat() == Qt.TextFormat.RichText
        or ("<" in text and ">" in text)
    ):
        return None
    room = w.contentsRect().width() - 2 * w.margin() - max(w.indent(), 0)
    need = _width(w.fontMetrics(), text)
    return f"label {text!r}: {need} px in {room}" if need > room + SLACK else None


def _button(w: QAbstractButton) -> str | None:
    text = w.text().replace("&", "") if "&&" not in w.text() else w.text()
    if not text:
        return None
    hint = w.sizeHint().width()
    if hint > w.width() + SLACK:
        return f"button {text!r}: needs {hint} px, has {w.width()}"
    return None


def _combo(w: QComboBox) -> str | None:
    text = w.currentText() or (w.placeholderText() if w.currentIndex() < 0 else "")
    if not text:
        return None
    opt = QStyleOptionComboBox()
    w.initStyleOption(opt)
    field = w.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, w
    )
    room = field.width() - (
        w.iconSize().width() + 4 if not w.itemIcon(w.currentIndex()).isNull() else 0
    )
    need = _width(w.fontMetrics(), text)
    return f"combo {text!r}: {need} px in {room}" if need > room + SLACK else None


def _line_edit(w: QLineEdit) -> str | None:
    text = w.placeholderText()
    if w.text() or not text:
        return None  # a typed value scrolls; only the placeholder must be read whole
    m = w.textMargins()
    # QLineEdit's text area: the contents rect less the frame (QStyle::PM_DefaultFrameWidth),
    # the text margins and the 2 px "horizontalMargin" Qt keeps on each side.
    frame = (
        w.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, w)
        if w.hasFrame()
        else 0
    )
    room = w.contentsRect().width() - 2 * frame - m.left() - m.right() - 4
    for action in w.actions():
        if action.isVisible():
            room -= w.height()  # a trailing or leading action takes about a square
    need = _width(w.fontMetrics(), text)
    return f"placeholder {text!r}: {need} px in {room}" if need > room + SLACK else None


def _spin(w: QAbstractSpinBox) -> str | None:
    """The value (or its special text, "Auto (1)") against the spin box's own line edit."""
    edit = w.findChild(QLineEdit)
    if edit is None or not w.text():
        return None
    room = edit.width() - 4  # QLineEdit's 2 px horizontal margin on each side
    need = _width(w.fontMetrics(), w.text())
    return f"spin box {w.text()!r}: {need} px in {room}" if need > room + SLACK else None


def _tabs(w: QTabBar) -> list[str]:
    out = []
    for i in range(w.count()):
        if not w.isTabVisible(i):
            continue
        need, has = w.tabSizeHint(i).width(), w.tabRect(i).width()
        if need > has + SLACK:
            out.append(f"tab {w.tabText(i)!r}: needs {need} px, has {has}")
    if w.sizeHint().width() > w.width() + SLACK and not w.expanding():
        out.append(f"tab bar needs {w.sizeHint().width()} px, has {w.width()} (scrolls)")
    return out


def _group(w: QGroupBox) -> str | None:
    if not w.title():
        return None
    need = _width(w.fontMetrics(), w.title()) + (20 if w.isCheckable() else 0)
    room = w.width() - 12
    return f"group {w.title()!r}: {need} px in {room}" if need > room + SLACK else None


def _toolbar(w: QToolBar) -> list[str]:
    return [
        f"toolbar action {a.text()!r} pushed into the overflow menu"
        for a in w.actions()
        if a.isVisible()
        and not a.isSeparator()
        and (b := w.widgetForAction(a)) is not None
        and not b.isVisible()
    ]


def _sideways(w: QScrollArea) -> str | None:
    """A page wider than its scroll area: cut where the area does not scroll sideways, half
    hidden where it does (at 1280 px nothing should need it)."""
    content = w.widget()
    if content is None:
        return None
    need, has = max(content.width(), content.minimumSizeHint().width()), w.viewport().width()
    if need <= has + SLACK:
        return None
    if w.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
        return f"content cut at the right: {need} px wide in {has}"
    return f"scrolls sideways: needs {need} px, has {has}"


def _scrolls(w: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p.parentWidget(), QAbstractScrollArea) and p is p.parentWidget().viewport():  # type: ignore[attr-defined]
            return True
        p = p.parentWidget()
    return False


def _past_edge(w: QWidget, window: QWidget) -> str | None:
    """The widget reaching past its window's right or bottom edge, where no scroll area can
    bring it into view."""
    rect = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
    edge = window.rect()
    if rect.right() > edge.right() + SLACK or rect.bottom() > edge.bottom() + SLACK:
        if _scrolls(w):
            return None
        return f"reaches past the window: {rect.right()}×{rect.bottom()} in {edge.width()}×{edge.height()}"
    return None


def cut_texts(window: QWidget) -> list[str]:
    """Every visible text of ``window`` and its children that is cut, one line each:
    ``"<object name>: <what> …"``; ``[]`` when everything fits."""
    problems: list[str] = []
    if window.width() > window.maximumWidth() or window.minimumSizeHint().width() > window.width():
        problems.append(
            f"{_name(window)}: needs {window.minimumSizeHint().width()} px wide, has {window.width()}"
        )
    if window.minimumSizeHint().height() > window.height():
        problems.append(
            f"{_name(window)}: needs {window.minimumSizeHint().height()} px high, has {window.height()}"
        )
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.window() is not window or _inside_view(w):
            continue
        found: list[str | None] = []
        if isinstance(w, QLabel):
            found.append(_label(w))
        elif isinstance(w, QAbstractButton) and not isinstance(w.parentWidget(), QTabBar):
            found.append(_button(w))
        elif isinstance(w, QComboBox):
            found.append(_combo(w))
        elif isinstance(w, QAbstractSpinBox):
            found.append(_spin(w))
        elif isinstance(w, QLineEdit) and not isinstance(
            w.parentWidget(), (QComboBox, QAbstractSpinBox)
        ):
            found.append(_line_edit(w))
        elif isinstance(w, QTabBar):
            found.extend(_tabs(w))
        elif isinstance(w, QGroupBox):
            found.append(_group(w))
        elif isinstance(w, QToolBar):
            found.extend(_toolbar(w))
        elif isinstance(w, QScrollArea):
            found.append(_sideways(w))
        if isinstance(w, (QLabel, QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit)):
            found.append(_past_edge(w, window))
        problems += [f"{_name(w)}: {p}" for p in found if p]
    return problems
