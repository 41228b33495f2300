"""Which visible texts of a window do not fit their widget: measured with the widget's own font
metrics against the room its style gives the text (the text rectangle of a label, the edit
field of a combo box, a button's contents, a line edit's text area, a tab, a group box title,
a table's header section and its visible cells).

Word-wrapped labels and rich text are left out: they wrap. A table cell may be elided only
when its tooltip holds the whole text (a long prompt); a header section is never cut, nor
pushed past the right edge of its table. A widget is cut too when it reaches past the edge of
its window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QTableView,
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


def _header(h: QHeaderView) -> list[str]:
    """Each visible section of a horizontal header: its title against the section (less the
    style's margins and, where the table sorts, the sort arrow), and the section against the
    table's right edge."""
    model = h.model()
    if model is None or h.orientation() != Qt.Orientation.Horizontal:
        return []
    style, fm = h.style(), h.fontMetrics()
    margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, h)
    arrow = (
        style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, h) + margin
        if h.isSortIndicatorShown() or h.sectionsClickable()
        else 0
    )
    out = []
    for logical in range(h.count()):
        if h.isSectionHidden(logical):
            continue
        title = str(model.headerData(logical, Qt.Orientation.Horizontal) or "")
        size, left = h.sectionSize(logical), h.sectionViewportPosition(logical)
        need = _width(fm, title) + 2 * margin + arrow
        if title and need > size + SLACK:
            out.append(f"header {title!r}: {need} px in {size}")
        if left + size > h.viewport().width() + SLACK and left < h.viewport().width():
            out.append(
                f"header {title!r} reaches past the table: {left + size} px in {h.viewport().width()}"
            )
    return out


def _cell_room(view: QTableView, rect: QRect, has_icon: bool) -> int:
    """The room a table cell gives its text: the cell less the focus frame's margins on both
    sides (QCommonStyle's item text rectangle) and, with an icon, the icon and its gap."""
    style = view.style()
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    room = rect.width() - 2 * margin
    if has_icon:
        room -= view.iconSize().width() if view.iconSize().isValid() else 16
        room -= 2 * margin
    return room


def _cells(view: QTableView) -> list[str]:
    """Visible cells whose text is cut where no tooltip gives it whole."""
    model = view.model()
    if model is None or not view.isVisible():
        return []
    fm = view.fontMetrics()
    height = view.viewport().height()
    out = []
    first = view.rowAt(0)
    if first < 0:
        return []
    last = view.rowAt(height - 1)
    last = model.rowCount() - 1 if last < 0 else last
    for row in range(first, last + 1):
        for col in range(model.columnCount()):
            if view.isColumnHidden(col):
                continue
            idx = model.index(row, col)
            text = str(model.data(idx, Qt.ItemDataRole.DisplayRole) or "")
            if not text:
                continue
            deco = model.data(idx, Qt.ItemDataRole.DecorationRole)
            has_icon = isinstance(deco, (QIcon, QPixmap)) and not (
                isinstance(deco, QIcon) and deco.isNull()
            )
            room = _cell_room(view, view.visualRect(idx), has_icon)
            need = _width(fm, text)
            if need <= room + SLACK:
                continue
            tip = str(model.data(idx, Qt.ItemDataRole.ToolTipRole) or "")
            if text not in tip:
                title = model.headerData(col, Qt.Orientation.Horizontal)
                out.append(f"cell ({row}, {title!r}) {text!r}: {need} px in {room}, no tooltip")
    return out


def _sideways(w: QScrollArea) -> str | None:
    """A page wider than its scroll area: cut where the area does not scroll sideways, half
    hidden where it does (at 1280 px nothing should need it); or taller than it, its bottom
    below the fold."""
    content = w.widget()
    if content is None:
        return None
    need, has = max(content.width(), content.minimumSizeHint().width()), w.viewport().width()
    tall, high = content.minimumSizeHint().height(), w.viewport().height()
    lay = content.layout()
    if w.widgetResizable() and lay is not None and lay.hasHeightForWidth():
        # With wrapped labels QScrollArea lays the page at its preferred height for the width
        # (QScrollAreaPrivate::updateScrollBars), not at its minimum.
        tall = max(tall, content.heightForWidth(w.viewport().width()))
    if tall > high + SLACK and content.layout() is not None:  # a page of controls, not a picture
        # Scrolling is the fallback for small screens; at 1280×800 what a page shows (the sheet
        # page's preview) is on screen without it.
        return f"content below the fold: needs {tall} px high, has {high}"
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
        if not w.isVisible() or w.window() is not window:
            continue
        if isinstance(w, QHeaderView) and w.isVisible():
            problems += [f"{_name(w.parentWidget() or w)}: {p}" for p in _header(w)]
            continue
        if isinstance(w, QTableView):
            problems += [f"{_name(w)}: {p}" for p in _cells(w)]
        if _inside_view(w):
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
