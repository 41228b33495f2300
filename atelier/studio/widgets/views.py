"""Item views that do no work for changes off screen.

When a changed range is wider than the viewport (the jobs table's 8 columns are),
``QAbstractItemView.dataChanged`` works out what to repaint cell by cell, on screen or not:
about 2.5 calls from Qt into the Python model per cell (tests/studio/test_views.py counts them), and
each call waits for the GIL behind the engine's thread. ``QListView`` in icon mode also
re-measures every changed item through the delegate, even while the gallery tab is hidden.
While a batch runs the models report a few dozen changed rows ten times a second, mostly off
screen; these views look at the first and last changed rows only and update the band of the
viewport between them, or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QAccessible, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from atelier.studio.models import ReviewRole

Index = QModelIndex | QPersistentModelIndex


def changed_band(view: QAbstractItemView, top_left: Index, bottom_right: Index) -> QRect | None:
    """The viewport rectangle (full width) from the first changed row's top to the last one's
    bottom, clipped to the viewport: empty when nothing changed is on screen. ``None`` when it
    cannot be told (an item not laid out yet), so the caller falls back to Qt's own update."""
    first = view.visualRect(top_left.siblingAtColumn(0))
    last = view.visualRect(bottom_right.siblingAtColumn(0))
    if first.isNull() or last.isNull():
        return None
    viewport = view.viewport().rect()
    top, bottom = min(first.top(), last.top()), max(first.bottom(), last.bottom())
    return QRect(0, top, viewport.width(), bottom - top + 1).intersected(viewport)


# Lightroom's culling keys (Library module): P pick, X reject, U unflag, 0–5 stars.
KEYS_FLAG = {Qt.Key.Key_P: "picked", Qt.Key.Key_X: "rejected", Qt.Key.Key_U: "unflagged"}
KEYS_STARS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(6)}


class _VisibleUpdates:
    """Mixin for a ``QAbstractItemView`` subclass (listed first among the bases)."""

    def dataChanged(self, topLeft: Index, bottomRight: Index, roles: Sequence[int] = ()) -> None:
        view: QAbstractItemView = self  # type: ignore[assignment]
        if QAccessible.isActive() or not (topLeft.isValid() and bottomRight.isValid()):
            # Screen readers are told about every changed cell by Qt's own implementation.
            super().dataChanged(topLeft, bottomRight, roles)  # type: ignore[misc]
            return
        band = changed_band(view, topLeft, bottomRight)
        if band is None:
            super().dataChanged(topLeft, bottomRight, roles)  # type: ignore[misc]
        elif not band.isEmpty():
            view.viewport().update(band)


class JobsTableView(_VisibleUpdates, QTableView):
    """The progress table (it has no editors, so a change off screen needs no work at all)."""


class GalleryView(_VisibleUpdates, QListView):
    """The gallery grid. Safe only with a fixed ``gridSize`` and uniform item sizes, which make
    Qt's per-item re-measuring on change pointless."""

    review_key = Signal(object, object)
    """``(flag | None, stars | None)``: a culling key pressed on the selection."""
    open_key = Signal()
    """Space: open the current image."""
    compare_key = Signal()
    """C: compare the selected images (Lightroom's Compare view)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if plain and key in KEYS_FLAG:
            self.review_key.emit(KEYS_FLAG[key], None)
        elif plain and key in KEYS_STARS:
            self.review_key.emit(None, KEYS_STARS[key])
        elif plain and key == Qt.Key.Key_Space:
            self.open_key.emit()
        elif plain and key == Qt.Key.Key_C:
            self.compare_key.emit()
        else:
            super().keyPressEvent(event)


REJECTED_OPACITY = 0.35
"""How much of a rejected tile shows (Lightroom dims rejected photos in the grid)."""


class CullDelegate(QStyledItemDelegate):
    """Gallery tiles as the style draws them, a rejected one dimmed (thumbnail and caption),
    so what is left to look at stands out while culling."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        review = index.data(ReviewRole)
        if isinstance(review, str) and review.startswith("rejected:"):
            painter.save()
            painter.setOpacity(REJECTED_OPACITY)
            super().paint(painter, option, index)
            painter.restore()
        else:
            super().paint(painter, option, index)
