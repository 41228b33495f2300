"""Thumbnails loaded off the GUI thread.

A ``QThreadPool`` worker reads the cached thumbnail (making it with Pillow via
``atelier.output.images.ensure_thumbnail`` when missing) into a ``QImage`` — safe outside the GUI
thread — and the GUI thread turns it into a ``QPixmap``.

Signals:
    loaded(object, QImage): image path, thumbnail.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from atelier.core import paths
from atelier.output.images import ensure_thumbnail


class _Signals(QObject):
    loaded = Signal(object, QImage)


class _Job(QRunnable):
    def __init__(self, path: Path, thumb: Path | None, cache: Path, signals: _Signals) -> None:
        super().__init__()
        self.path, self.thumb, self.cache, self.signals = path, thumb, cache, signals

    def run(self) -> None:
        thumb = (
            self.thumb
            if self.thumb is not None and self.thumb.exists()
            else ensure_thumbnail(self.path, self.cache)
        )
        if thumb is None:
            return
        img = QImage(str(thumb))
        if not img.isNull():
            self.signals.loaded.emit(self.path, img)


class ThumbnailLoader(QObject):
    loaded = Signal(object, QPixmap)

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._signals = _Signals()
        self._signals.loaded.connect(self._on_loaded)
        self.cache = paths.thumbnail_dir()

    def request(self, path: Path, thumb: Path | None) -> None:
        self.pool.start(_Job(path, thumb, self.cache, self._signals))

    def _on_loaded(self, path: Path, img: QImage) -> None:
        self.loaded.emit(path, QPixmap.fromImage(img))
