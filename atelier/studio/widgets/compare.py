"""Compare: two to four images side by side (versions of one job, or different jobs), zoomed
and panned together, as Lightroom's Compare and Survey views do. The wheel zooms (around the
cursor) every image at once; dragging one pans them all; 0 fits them again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.studio.look.fit import resize_within

MAX_IMAGES = 4


class _SyncedView(QGraphicsView):
    def __init__(self, owner: CompareView) -> None:
        super().__init__()
        self.owner = owner
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.owner.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)


class CompareView(QDialog):
    """``images``: ``(path, caption)`` pairs, two to four.

    Raises:
        ValueError: fewer than two or more than four images.
    """

    def __init__(self, images: list[tuple[Path, str]], parent: QWidget | None = None) -> None:
        if not 2 <= len(images) <= MAX_IMAGES:
            raise ValueError(f"compare takes 2 to {MAX_IMAGES} images, got {len(images)}")
        super().__init__(parent)
        self.setWindowTitle(tr("Compare {count} images").format(count=len(images)))
        row = QHBoxLayout(self)
        self.views: list[_SyncedView] = []
        self.scale = 1.0
        self._syncing = False
        for path, caption in images:
            col = QVBoxLayout()
            view = _SyncedView(self)
            scene = QGraphicsScene(view)
            scene.addItem(QGraphicsPixmapItem(QPixmap(str(path))))
            view.setScene(scene)
            for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
                bar.valueChanged.connect(self._follow)
            self.views.append(view)
            col.addWidget(view, 1)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(label)
            row.addLayout(col)
        resize_within(self, 1400, 820)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self.fit()

    def fit(self) -> None:
        """Every image whole in its pane, all at one scale (the smallest pane's fit)."""
        fits = []
        for v in self.views:
            v.resetTransform()
            v.fitInView(v.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            fits.append(v.transform().m11())
        self.scale = min(fits)
        for v in self.views:
            v.resetTransform()
            v.scale(self.scale, self.scale)

    def zoom(self, factor: float) -> None:
        """Zoom every image by ``factor`` (kept between 1/16 and 16 times)."""
        new = min(16.0, max(1 / 16, self.scale * factor))
        for v in self.views:
            v.scale(new / self.scale, new / self.scale)
        self.scale = new

    def _follow(self) -> None:
        """One pane was panned: the others show the same place."""
        if self._syncing:
            return
        src = next((v for v in self.views if v.horizontalScrollBar() is self.sender() or v.verticalScrollBar() is self.sender()), None)  # fmt: skip
        if src is None:
            return
        self._syncing = True
        try:
            for v in self.views:
                if v is not src:
                    v.horizontalScrollBar().setValue(src.horizontalScrollBar().value())
                    v.verticalScrollBar().setValue(src.verticalScrollBar().value())
        finally:
            self._syncing = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_0:
            self.fit()
        elif event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom(0.8)
        else:
            super().keyPressEvent(event)
