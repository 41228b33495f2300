"""Page 4, gallery: the batch's images as thumbnails (loaded off the GUI thread), filtered by
status, with the viewer, "Show in folder" and browsing any folder of images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.events import ImageSaved
from app.status import JobStatus
from ui.bridge import JobUpdate
from ui.gallery_model import GalleryModel, Tile
from ui.models import JobIdRole, PathRole, StatusFilterProxy
from ui.pages.progress import STATUS_FILTERS
from ui.thumbnails import ThumbnailLoader
from ui.viewer import ImageViewer, show_in_folder
from ui.views import GalleryView


class GalleryPage(QWidget):
    """Thumbnails of the open batch (or of a folder).

    Signals:
        retry_requested(): "Retry selected" from the context menu.
        show_folder_requested(): "Show in folder" for the batch's output folder.
        message(str): something to show in the status bar.
    """

    retry_requested = Signal()
    show_folder_requested = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = ThumbnailLoader(self)
        lay = QVBoxLayout(self)
        lay.addLayout(self._build_bar())
        self.gallery_model = GalleryModel(self.thumbs.request, self)
        self.thumbs.loaded.connect(self.gallery_model.set_thumbnail)
        self.gallery_proxy = StatusFilterProxy(self)
        self.gallery_proxy.setSortRole(Qt.ItemDataRole.InitialSortOrderRole)
        self.gallery_proxy.setSourceModel(self.gallery_model)
        lay.addWidget(self._build_view(), 1)

    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        self.gallery_filter = QComboBox()
        self.gallery_filter.setObjectName("gallery_filter")
        for label, statuses in STATUS_FILTERS:
            self.gallery_filter.addItem(label, statuses)
        self.gallery_filter.currentIndexChanged.connect(
            lambda: self.gallery_proxy.set_statuses(set(self.gallery_filter.currentData()))
        )
        bar.addWidget(self.gallery_filter)
        bar.addStretch(1)
        browse = QPushButton("Open folder…")
        browse.setToolTip("Browse the images of any folder")
        browse.clicked.connect(self._browse_folder)
        bar.addWidget(browse)
        folder = QPushButton("Show in folder")
        folder.clicked.connect(self.show_folder_requested)
        bar.addWidget(folder)
        return bar

    def _build_view(self) -> GalleryView:
        view = self.gallery_view = GalleryView()
        view.setObjectName("gallery_view")
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setIconSize(QSize(180, 180))
        view.setGridSize(QSize(200, 224))
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setMovement(QListView.Movement.Static)
        view.setUniformItemSizes(True)
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setModel(self.gallery_proxy)
        view.doubleClicked.connect(self.open_item)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._menu)
        return view

    # ---- public API --------------------------------------------------------------------------
    def set_tiles(self, tiles: list[Tile]) -> None:
        """Show these tiles (made off the GUI thread)."""
        self.gallery_model.set_tiles(tiles)

    def apply(self, updates: dict[int, JobUpdate]) -> None:
        """New job statuses from the engine."""
        self.gallery_model.update_jobs(updates)

    def add_images(
        self, images: list[ImageSaved], batch_id: int | None, prompt_of: Callable[[int, str], str]
    ) -> None:
        """Images just written for batch ``batch_id`` (others are ignored)."""
        for ev in images:
            if ev.batch_id == batch_id:
                self.gallery_model.add_image(
                    ev.job_id,
                    JobStatus.COMPLETED,
                    Path(ev.path),
                    Path(ev.thumb) if ev.thumb else None,
                    ev.sample_index,
                    prompt_of(ev.job_id, ""),
                )

    def selected_job_ids(self) -> list[int]:
        """Ids of the jobs whose tiles are selected."""
        return sorted(
            {self.gallery_proxy.data(i, JobIdRole) for i in self.gallery_view.selectedIndexes()}
        )

    def show_folder(self, folder: Path) -> None:
        """Show every image under ``folder``."""
        self.gallery_model.set_tiles(GalleryModel.tiles_for_folder(folder))
        self.message.emit(f"{self.gallery_model.rowCount():,} images in {folder}")

    def open_item(self, idx: QModelIndex) -> ImageViewer | None:
        """Open the image of tile ``idx`` (a proxy index) in the viewer."""
        path = self.gallery_proxy.data(idx, PathRole)
        if not path:
            return None
        viewer = ImageViewer(Path(path), self)
        viewer.open()
        return viewer

    def stop(self) -> None:
        """Stop loading thumbnails (the window is closing)."""
        self.thumbs.pool.clear()
        self.thumbs.pool.waitForDone(3000)

    # ---- internals ---------------------------------------------------------------------------
    def _browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Browse a folder of images", str(Path.home()))
        if d:
            self.show_folder(Path(d))

    def _menu(self, pos: QPoint) -> None:
        idx = self.gallery_view.indexAt(pos)
        menu = QMenu(self)
        if idx.isValid() and self.gallery_proxy.data(idx, PathRole):
            menu.addAction("Open", lambda: self.open_item(idx))
            menu.addAction(
                "Show in folder",
                lambda: show_in_folder(Path(self.gallery_proxy.data(idx, PathRole))),
            )
        menu.addAction("Retry selected", self.retry_requested)
        menu.exec(self.gallery_view.viewport().mapToGlobal(pos))
