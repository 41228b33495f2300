"""Widths that follow the text of the language in force, so a translation is never cut."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLineEdit,
    QScrollArea,
    QStyle,
    QTableView,
    QWidget,
)

_TEXT_ROOM = 16
"""Pixels a QLineEdit keeps beside its text: its frame, text margins and 2 px either side."""


def fit_placeholder(edit: QLineEdit) -> QLineEdit:
    """Make ``edit`` at least as wide as its placeholder, measured in its own font (a Japanese
    placeholder is about twice as wide as the English one); returns ``edit``."""
    need = edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + _TEXT_ROOM
    edit.setMinimumWidth(max(edit.minimumWidth(), need))
    return edit


WINDOW_SIZE = QSize(1400, 880)
"""The studio window's size where the screen has room for it."""

_FRAME = QSize(16, 40)
"""Room the window manager's frame and title bar take around a window, in pixels."""


def window_size(available: QSize) -> QSize:
    """The studio window's first size on a screen whose available area (less panels and
    docks: ``QScreen.availableGeometry``) is ``available``: ``WINDOW_SIZE``, or less so that
    the window with its frame fits (a 1280×800 laptop gets a 1264×…, not a 1400×880 window
    cut at the screen's edges)."""
    return WINDOW_SIZE.boundedTo(available - _FRAME)


def resize_within(dialog: QWidget, width: int, height: int) -> None:
    """Resize ``dialog`` to ``width`` × ``height`` px, or less where its parent window (else
    the screen's available area) is smaller: on a 1280×800 laptop a viewer opens inside the
    window, not past the screen's bottom edge."""
    parent = dialog.parentWidget()
    if parent is not None:
        room = parent.window().size()
    else:
        screen = dialog.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size()
    dialog.resize(QSize(width, height).boundedTo(room))


def scrolling(content: QWidget, horizontal: bool = True) -> QScrollArea:
    """``content`` in a frameless scroll area that resizes it: a page or column taller (or
    wider) than a 1280×800 screen leaves in CJK fonts scrolls instead of being clipped or
    growing the window past the screen."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    if not horizontal:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Room for the vertical scroll bar too, or it covers the content's right edge.
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(content.minimumSizeHint().width() + bar)
    return scroll


def fit_columns(
    view: QTableView,
    widths: tuple[int, ...],
    stretch: int,
    samples: dict[int, list[str]] | None = None,
) -> None:
    """Size ``view``'s columns for the language in force: each at least its width in
    ``widths`` (px), its title (with the sort arrow's room) and its ``samples`` (the longest
    short texts it shows: "Cancelled", "copied"), measured in the view's font; column
    ``stretch`` takes what the view has left, so the right-most column is never pushed past
    the table's edge (a long prompt elides there, its tooltip whole).

    Call it again after the language or font changed; the user may still drag a column."""
    hh = view.horizontalHeader()
    model = view.model()
    fm = view.fontMetrics()
    # A cell's text room: the focus frame's margin on both sides, and a status icon's room.
    pad = 2 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1) + 24
    for col, width in enumerate(widths):
        if model is None or col >= model.columnCount():
            break
        need = hh.sectionSizeFromContents(col).width()
        for text in (samples or {}).get(col, []):
            need = max(need, fm.horizontalAdvance(text) + pad)
        hh.resizeSection(col, max(width, need))
    hh.setStretchLastSection(False)
    hh.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
