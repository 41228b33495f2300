"""Page 4, gallery: the batch's images as thumbnails (loaded off the GUI thread), culled with
Lightroom's keys (P pick, X reject, U unflag, 0–5 stars, Space to open), filtered by status,
review flag and stars, with regenerate, export, the viewer, "Show in folder" and browsing any
folder of images. What a key or an action changes is done by ``atelier.studio.actions.review``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QRegularExpression,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core.events import ImageSaved
from atelier.core.i18n import N_, tr
from atelier.core.status import JobStatus
from atelier.studio import a11y
from atelier.studio.bridge import JobUpdate
from atelier.studio.models import (
    ChannelRole,
    ImageIdRole,
    JobIdRole,
    PathRole,
    ReviewRole,
    StatusFilterProxy,
)
from atelier.studio.models.channels import short_name
from atelier.studio.models.gallery import GalleryModel, Tile
from atelier.studio.pages.progress import STATUS_FILTERS
from atelier.studio.thumbnails import ThumbnailLoader
from atelier.studio.widgets.compare import MAX_IMAGES as MAX_COMPARE
from atelier.studio.widgets.compare import CompareView
from atelier.studio.widgets.viewer import ImageViewer, show_in_folder
from atelier.studio.widgets.views import CullDelegate, GalleryView

REVIEW_FILTERS = (
    (N_("any flag"), ""),
    (N_("picked"), "picked"),
    (N_("rejected"), "rejected"),
    (N_("unflagged"), "unflagged"),
)


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
    review_requested = Signal(object, object, object)
    """``(image ids, flag | None, stars | None)``: a culling key on the selection."""
    regenerate_requested = Signal(object)
    """``job ids``: regenerate these (an empty list: every rejected one)."""
    export_requested = Signal()
    channel_override_requested = Signal(object, str, bool)
    """``(image ids, channel, on)``: send them to the channel despite an unfixable rule."""
    channel_check_requested = Signal(object)
    """``image ids``: judge them against the batch's channels with text read (OCR)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = ThumbnailLoader(self)
        self.viewer_factory: Callable[[int], QDialog | None] | None = None
        lay = QVBoxLayout(self)
        lay.addLayout(self._build_bar())
        self.gallery_model = GalleryModel(self.thumbs.request, self)
        self.thumbs.loaded.connect(self.gallery_model.set_thumbnail)
        self.status_proxy = StatusFilterProxy(self)
        self.status_proxy.setSortRole(Qt.ItemDataRole.InitialSortOrderRole)
        self.status_proxy.setSourceModel(self.gallery_model)
        # "fails Rakuten": Qt's regex filter on the channels a tile fails (" amazon rakuten ").
        self.channel_proxy = QSortFilterProxyModel(self)
        self.channel_proxy.setFilterRole(ChannelRole)
        self.channel_proxy.setSourceModel(self.status_proxy)
        self.channels: list[str] = []
        # Qt's own regex filter on "flag:stars": no Python call per row while it is off.
        self.gallery_proxy = QSortFilterProxyModel(self)
        self.gallery_proxy.setFilterRole(ReviewRole)
        self.gallery_proxy.setSourceModel(self.channel_proxy)
        lay.addWidget(self._build_view(), 1)
        self.gallery_model.modelReset.connect(self.update_counts)
        self._counts_soon = QTimer(self, singleShot=True, interval=200)
        self._counts_soon.timeout.connect(self.update_counts)
        # While a batch runs, changes arrive ten times a second: restarting the timer on each
        # would hold the counts back until the run ends. The first change starts it, the
        # counts follow within 200 ms.
        for changed in (self.gallery_model.dataChanged, self.gallery_model.rowsInserted):
            changed.connect(self._counts_later)
        for keys, slot in (
            ("Ctrl+R", lambda: self.regenerate_requested.emit(self.selected_job_ids())),
            ("Ctrl+Shift+R", lambda: self.regenerate_requested.emit([])),
            ("Ctrl+E", self.export_requested.emit),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel(tr("Show")))
        self.gallery_filter = QComboBox()
        self.gallery_filter.setObjectName("gallery_filter")
        a11y.name(self.gallery_filter, tr("Show"))
        for label, statuses in STATUS_FILTERS:
            self.gallery_filter.addItem(tr(label), statuses)
        self.gallery_filter.currentIndexChanged.connect(self._show_filter_changed)
        bar.addWidget(self.gallery_filter)
        self.flag_filter = QComboBox()
        self.flag_filter.setObjectName("flag_filter")
        a11y.name(self.flag_filter, tr("Flag"))
        for label, flag in REVIEW_FILTERS:
            self.flag_filter.addItem(tr(label), flag)
        self.stars_filter = QComboBox()
        self.stars_filter.setObjectName("stars_filter")
        a11y.name(self.stars_filter, tr("Rating"))
        self.stars_filter.addItem(tr("any stars"), 0)
        for n in range(1, 6):
            self.stars_filter.addItem(tr("{stars} and up").format(stars="★" * n), n)
        for combo in (self.flag_filter, self.stars_filter):
            combo.currentIndexChanged.connect(self._review_filter_changed)
            bar.addWidget(combo)
        self._build_qa_filter(bar)
        self.counts_label = QLabel("")
        self.counts_label.setObjectName("review_counts")
        bar.addWidget(self.counts_label)
        bar.addWidget(self.qa_counts_label)
        bar.addStretch(1)
        regen = QPushButton(tr("Regenerate rejected…"))
        regen.setToolTip(
            tr(
                "Make every rejected image again as a new version, the old one kept "
                "(Ctrl+Shift+R; Ctrl+R: the selected ones)"
            )
        )
        regen.clicked.connect(lambda: self.regenerate_requested.emit([]))
        bar.addWidget(regen)
        export = QPushButton(tr("Export…"))
        export.setToolTip(
            tr("The picked images (or what the filters show) to a ZIP and a PDF (Ctrl+E)")
        )
        export.clicked.connect(self.export_requested)
        bar.addWidget(export)
        browse = QPushButton(tr("Open folder…"))
        browse.setToolTip(tr("Browse the images of any folder"))
        browse.clicked.connect(self._browse_folder)
        bar.addWidget(browse)
        folder = QPushButton(tr("Show in folder"))
        folder.clicked.connect(self.show_folder_requested)
        bar.addWidget(folder)
        return bar

    def _build_view(self) -> GalleryView:
        view = self.gallery_view = GalleryView()
        view.setObjectName("gallery_view")
        a11y.name(view, tr("Images"))
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setIconSize(QSize(180, 180))
        view.setGridSize(QSize(200, 224))
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setMovement(QListView.Movement.Static)
        view.setUniformItemSizes(True)
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # A file name elided in the middle keeps its SKU and its ``-2`` suffix in sight.
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        view.setItemDelegate(CullDelegate(view))
        view.setModel(self.gallery_proxy)
        view.doubleClicked.connect(self.open_item)
        view.review_key.connect(self._review_key)
        view.open_key.connect(lambda: self.open_item(view.currentIndex()))
        view.compare_key.connect(self.compare_selected)
        # Images drag out of the gallery into other applications as files.
        view.setDragEnabled(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._menu)
        return view

    # ---- public API --------------------------------------------------------------------------
    def set_channels(self, channels: list[str]) -> None:
        """The open batch's channels: the "Show" box offers "fails <channel>" for each."""
        combo = self.gallery_filter
        if combo.currentIndex() >= len(STATUS_FILTERS):
            combo.setCurrentIndex(0)
        while combo.count() > len(STATUS_FILTERS):
            combo.removeItem(combo.count() - 1)
        self.channels = list(channels)
        for c in channels:
            combo.addItem(tr("fails {channel}").format(channel=short_name(c)), f"fails:{c}")

    def show_fails(self, channel: str) -> None:
        """Show only the images failing ``channel`` (the "Show" box's "fails <channel>")."""
        i = self.gallery_filter.findData(f"fails:{channel}")
        if i >= 0:
            self.gallery_filter.setCurrentIndex(i)

    def set_tiles(self, tiles: list[Tile]) -> None:
        """Show these tiles (made off the GUI thread)."""
        self.gallery_model.set_tiles(tiles)

    def replace_tiles(self, tiles: list[Tile]) -> None:
        """The same batch's tiles, read in full: the current tile and the scroll stay."""
        view = self.gallery_view
        row, top = view.currentIndex().row(), view.verticalScrollBar().value()
        self.gallery_model.set_tiles(tiles)
        view.verticalScrollBar().setValue(top)
        if row >= 0:
            view.setCurrentIndex(self.gallery_proxy.index(row, 0))

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
                    ev.version,
                    ev.image_id,
                    ev.qa_flags,
                )

    def update_counts(self) -> None:
        """``12 picked · 3 rejected · 23 unflagged`` for the images the gallery holds."""
        c = self.gallery_model.counts()
        self.counts_label.setText(
            tr("{picked} picked · {rejected} rejected · {unflagged} unflagged").format(
                picked=c["picked"], rejected=c["rejected"], unflagged=c["unflagged"]
            )
        )
        flagged = self.gallery_model.qa_count()
        # Short, beside the counts: the sentence is its tooltip, so the gallery's bar fits a
        # 1280 px screen in every language (a wider bar widened the whole window past it).
        self.qa_counts_label.setText(
            tr("⚠ {count} flagged").format(count=flagged) if flagged else ""
        )
        self.qa_counts_label.setToolTip(
            tr("⚠ {count} flagged by the quality check").format(count=flagged) if flagged else ""
        )

    def shown_image_ids(self) -> list[int]:
        """Ids of the images the gallery shows through its filters, in view order."""
        proxy = self.gallery_proxy
        ids = (proxy.data(proxy.index(r, 0), ImageIdRole) for r in range(proxy.rowCount()))
        return [i for i in ids if i]

    def selected_image_ids(self) -> list[int]:
        """Ids of the images whose tiles are selected (placeholders have none)."""
        ids = {self.gallery_proxy.data(i, ImageIdRole) for i in self.gallery_view.selectedIndexes()}
        return sorted(i for i in ids if i)

    def source_rows(self, image_ids: set[int]) -> list[int]:
        """Rows of the gallery model holding these images."""
        return [r for r, t in enumerate(self.gallery_model.tiles) if t.image_id in image_ids]

    def compare_selected(self) -> CompareView | None:
        """Compare the two to four selected images side by side."""
        indexes = sorted(self.gallery_view.selectedIndexes(), key=lambda i: i.row())
        shown = [(Path(p), str(i.data())) for i in indexes if (p := i.data(PathRole))]
        if not 2 <= len(shown) <= MAX_COMPARE:
            self.message.emit(tr("Select 2 to {max} images to compare (C)").format(max=MAX_COMPARE))
            return None
        view = CompareView(shown, self)
        view.open()
        return view

    def selected_job_ids(self) -> list[int]:
        """Ids of the jobs whose tiles are selected."""
        return sorted(
            {self.gallery_proxy.data(i, JobIdRole) for i in self.gallery_view.selectedIndexes()}
        )

    def show_folder(self, folder: Path) -> None:
        """Show every image under ``folder``."""
        self.gallery_model.set_tiles(GalleryModel.tiles_for_folder(folder))
        self.message.emit(
            tr("{count} images in {folder}").format(
                count=f"{self.gallery_model.rowCount():,}", folder=folder
            )
        )

    def open_item(self, idx: QModelIndex) -> QDialog | None:
        """Open the image of tile ``idx`` (a proxy index) in the viewer: a batch's job in the
        viewer of its versions (``viewer_factory``), a file of a browsed folder as it is."""
        path = self.gallery_proxy.data(idx, PathRole)
        if not path:
            return None
        job_id = self.gallery_proxy.data(idx, JobIdRole)
        if self.viewer_factory is not None and job_id is not None and job_id > 0:
            return self.viewer_factory(job_id)
        viewer = ImageViewer(Path(path), self)
        viewer.open()
        return viewer

    def stop(self) -> None:
        """Stop loading thumbnails (the window is closing)."""
        self.thumbs.pool.clear()
        self.thumbs.pool.waitForDone(3000)

    # ---- internals ---------------------------------------------------------------------------
    def _browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, tr("Browse a folder of images"), str(Path.home())
        )
        if d:
            self.show_folder(Path(d))

    def _menu(self, pos: QPoint) -> None:
        idx = self.gallery_view.indexAt(pos)
        menu = QMenu(self)
        if idx.isValid() and self.gallery_proxy.data(idx, PathRole):
            menu.addAction(tr("Open"), lambda: self.open_item(idx))
            menu.addAction(
                tr("Show in folder"),
                lambda: show_in_folder(Path(self.gallery_proxy.data(idx, PathRole))),
            )
        menu.addAction(tr("Retry selected"), self.retry_requested)
        menu.addAction(
            tr("Regenerate selected…"),
            lambda: self.regenerate_requested.emit(self.selected_job_ids()),
        )
        menu.addAction(tr("Regenerate all rejected…"), lambda: self.regenerate_requested.emit([]))
        menu.addAction(tr("Compare selected (C)"), self.compare_selected)
        menu.addAction(tr("Export…"), self.export_requested)
        self._channel_menu(menu)
        menu.exec(self.gallery_view.viewport().mapToGlobal(pos))

    def _show_filter_changed(self) -> None:
        data = self.gallery_filter.currentData()
        if isinstance(data, str) and data.startswith("fails:"):
            self.status_proxy.set_statuses(set())
            channel = QRegularExpression.escape(data.removeprefix("fails:"))
            self.channel_proxy.setFilterRegularExpression(f" {channel} ")
            return
        self.channel_proxy.setFilterRegularExpression("")
        self.status_proxy.set_statuses(set(data or ()))

    def _channel_menu(self, menu: QMenu) -> None:
        """Per channel of the batch: send the selection anyway (or not); read text (OCR)."""
        ids = self.selected_image_ids()
        if not (self.channels and ids):
            return
        menu.addSeparator()
        menu.addAction(
            tr("Check text for the channels (OCR)"), lambda: self.channel_check_requested.emit(ids)
        )
        for c in self.channels:
            name = short_name(c)
            menu.addAction(
                tr("Send to {channel} anyway").format(channel=name),
                lambda c=c: self.channel_override_requested.emit(ids, c, True),
            )
            menu.addAction(
                tr("Do not send to {channel} when a rule fails").format(channel=name),
                lambda c=c: self.channel_override_requested.emit(ids, c, False),
            )

    def _counts_later(self, *_args: object) -> None:
        if not self._counts_soon.isActive():
            self._counts_soon.start()

    def _next_image(self, row: int) -> QModelIndex:
        """The first tile after view row ``row`` that holds an image (failed and waiting
        tiles are passed over); invalid when there is none."""
        proxy = self.gallery_proxy
        for r in range(row + 1, proxy.rowCount()):
            idx = proxy.index(r, 0)
            if proxy.data(idx, ImageIdRole):
                return idx
        return QModelIndex()

    def _review_key(self, flag: str | None, stars: int | None) -> None:
        """A culling key acts on the selected images. On a tile without an image (a failed
        or unfinished job) it moves on to the next image instead of stopping there; after a
        flag on one image it moves on too (Lightroom's auto-advance), past such tiles."""
        view = self.gallery_view
        current = view.currentIndex()
        ids = self.selected_image_ids()
        if not ids:
            nxt = self._next_image(current.row()) if current.isValid() else QModelIndex()
            if nxt.isValid():
                view.setCurrentIndex(nxt)
            return
        self.review_requested.emit(ids, flag, stars)
        if flag is not None and len(view.selectedIndexes()) == 1:
            nxt = self._next_image(current.row())
            if nxt.isValid():
                view.setCurrentIndex(nxt)

    def _build_qa_filter(self, bar: QHBoxLayout) -> None:
        """The "Flagged" filter (images the quality checks on save flagged) and their count."""
        self.qa_filter = QCheckBox(tr("Flagged"))
        self.qa_filter.setObjectName("qa_filter")
        a11y.name(self.qa_filter, tr("Only images the quality check flagged"))
        self.qa_filter.setToolTip(
            tr(
                "Only images the quality check flagged when they were saved: blank, black, "
                "near-uniform, wrong size or aspect, near-duplicate"
            )
        )
        self.qa_filter.toggled.connect(self._review_filter_changed)
        bar.addWidget(self.qa_filter)
        self.qa_counts_label = QLabel("")
        self.qa_counts_label.setObjectName("qa_counts")

    def _review_filter_changed(self) -> None:
        flag, stars = self.flag_filter.currentData(), self.stars_filter.currentData()
        qa = self.qa_filter.isChecked()
        if not flag and not stars and not qa:
            self.gallery_proxy.setFilterRegularExpression("")
            return
        flags = flag or "[a-z]+"
        checked = "qa" if qa else "[a-z]+"
        self.gallery_proxy.setFilterRegularExpression(f"^(?:{flags}):[{stars}-5]:{checked}$")
