"""The gallery's item model: one tile per image, or a placeholder per job without one.

Thumbnails arrive from ``atelier.studio.thumbnails`` off the GUI thread; only the most recent few hundred
pixmaps are kept.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, Qt, QUrl
from PySide6.QtGui import QColor, QIcon, QPixmap

from atelier.core.events import DeliveryChanged
from atelier.core.i18n import tr
from atelier.delivery.target_states import (
    MARKS,
    States,
    TargetState,
    by_job_and_image,
    details,
    worst,
)
from atelier.output.qa import describe
from atelier.store import ChannelVerdict, ImageRow, JobSummary, Store
from atelier.studio.bridge import JobUpdate
from atelier.studio.look.icons import placeholder_pixmap
from atelier.studio.models import (
    ChannelRole,
    ImageIdRole,
    Index,
    JobIdRole,
    JobView,
    PathRole,
    ReviewRole,
    StatusRole,
)
from atelier.studio.models import channels as marks

_REJECTED = QColor("#9aa0a6")


@dataclass
class Tile:
    """One gallery item: an image, or a placeholder for a job with no image yet."""

    job_id: int
    status: str
    label: str
    path: Path | None = None
    thumb: Path | None = None
    sample: int = 0
    tooltip: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    image_id: int = 0
    version: int = 1
    versions: int = 1
    """How many versions the job has made (a "v3" badge when more than one)."""
    flag: str = "unflagged"
    stars: int = 0
    deliveries: States = field(default_factory=dict)
    """Target → state of this image's deliveries (``atelier.delivery.target_states``)."""
    qa_flags: tuple[str, ...] = ()
    """What the quality checks on save flagged (``atelier.output.qa``); empty: passed."""
    qa_detail: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, ChannelVerdict] = field(default_factory=dict)
    """Channel → this image's verdict, in the batch's channel order (``atelier.store.channels``)."""

    def caption(self) -> str:
        """The label under the thumbnail: the quality mark (⚠ flagged), review marks, version
        badge, file name, delivery mark (☁✓ delivered, ☁… on its way, ☁✗ failed); below it
        each channel's mark."""
        mark = QA_MARK if self.qa_flags else ""
        mark += {"picked": "✓ ", "rejected": "✗ "}.get(self.flag, "")
        badge = f"v{self.version} " if self.versions > 1 else ""
        stars = f" {'★' * self.stars}" if self.stars else ""
        state = worst(self.deliveries)
        sent = f" {MARKS.get(state, '')}" if state else ""
        line = f"{mark}{badge}{self.label}{stars}{sent}"
        return f"{line}\n{marks.badges(self.channels)}" if self.channels else line

    def spoken(self) -> tuple[str, str]:
        """What a screen reader says of the tile (``AccessibleTextRole``,
        ``AccessibleDescriptionRole``): its file name, then its states in words, where the
        caption shows glyphs (✓ ✗ ⚠ ☁, a channel's ✗)."""
        states = []
        if self.flag in ("picked", "rejected"):
            states.append(tr("picked") if self.flag == "picked" else tr("rejected"))
        if self.stars:
            states.append(tr("{n} stars").format(n=self.stars))
        if self.versions > 1:
            states.append(tr("version {n}").format(n=self.version))
        if self.qa_flags:
            states.append(describe(self.qa_flags, self.qa_detail))
        failing = [c for c, v in self.channels.items() if v.passed is False]
        if failing:
            states.append(tr("fails {channel}").format(channel=", ".join(failing)))
        return self.label, "; ".join(states)

    def tip(self) -> str:
        """The tooltip: prompt and path, the quality check's flags, each delivery's state and
        URL, the failed channel rules."""
        tip = self.tooltip
        if self.qa_flags:
            tip += "\n" + describe(self.qa_flags, self.qa_detail)
        if self.deliveries:
            tip += f"\n{details(self.deliveries)}"
        failed = marks.failed_text(self.channels) if self.channels else ""
        return f"{tip}\n{failed}" if failed else tip

    def review_key(self) -> str:
        """``ReviewRole``: ``flag:stars:qa`` (``qa`` flagged by the quality check, else ``ok``),
        filtered by a regular expression."""
        return f"{self.flag}:{self.stars}:{'qa' if self.qa_flags else 'ok'}"


QA_MARK = "⚠ "
"""The caption's mark of an image the quality checks on save flagged."""


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class GalleryModel(QAbstractListModel):
    """Gallery tiles. Thumbnails arrive asynchronously via ``set_thumbnail``; until then a
    placeholder is shown and ``request_thumbnail`` asks the loader (once per path while cached).

    Pixmaps are kept for the ``cache_size`` most recent thumbnails only: 10,000 of them at
    256 px would be 2.6 GB. An evicted one is asked for again when its tile shows again.
    """

    def __init__(self, request_thumbnail: Any, parent: Any = None, cache_size: int = 600) -> None:
        super().__init__(parent)
        self.tiles: list[Tile] = []
        self._rows_of_job: dict[int, list[int]] = {}
        self._rows_of_path: dict[Path, int] = {}
        self._rows_of_image: dict[int, int] = {}
        self._icons: OrderedDict[Path, QIcon] = OrderedDict()
        self._requested: set[Path] = set()
        self._request = request_thumbnail
        self.cache_size = cache_size
        self._placeholders: dict[str, QIcon] = {}

    def _reindex(self) -> None:
        self._rows_of_job = {}
        self._rows_of_path = {}
        self._rows_of_image = {}
        for r, t in enumerate(self.tiles):
            if t.image_id:
                self._rows_of_image[t.image_id] = r
            self._rows_of_job.setdefault(t.job_id, []).append(r)
            if t.path is not None:
                self._rows_of_path[t.path] = r

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.beginResetModel()
        self.tiles = tiles
        self._reindex()
        self.endResetModel()

    @staticmethod
    def tiles_for(
        jobs: list[JobSummary], images: list[ImageRow], versions: dict[int, int] | None = None
    ) -> list[Tile]:
        """The images each job shows, in job order (``versions``: how many each has made);
        jobs without images as status placeholders."""
        counts = versions or {}
        by_job: dict[int, list[ImageRow]] = {}
        for im in images:
            by_job.setdefault(im.job_id, []).append(im)
        tiles: list[Tile] = []
        for j in jobs:
            ims = by_job.get(j.id, [])
            if ims:
                for im in ims:
                    tiles.append(
                        Tile(
                            j.id,
                            j.status,
                            im.path.name,
                            im.path,
                            im.thumb,
                            im.sample_index,
                            f"{j.prompt}\n{im.path}",
                            image_id=im.id,
                            version=im.version,
                            versions=counts.get(j.id, 1),
                            flag=im.flag,
                            stars=im.stars,
                            qa_flags=im.qa_flags or (),
                            qa_detail=im.qa_detail,
                        )
                    )
            else:
                tip = j.prompt + (f"\n{j.error_type}: {j.error}" if j.error else "")
                tiles.append(Tile(j.id, j.status, j.output_path.rsplit("/", 1)[-1], tooltip=tip))
        return tiles

    @staticmethod
    def tiles_for_folder(folder: Path) -> list[Tile]:
        """Every image under ``folder`` (sorted by path), for browsing any output folder.

        ``os.scandir`` answers "is it a file?" from the directory entry itself; ``Path.rglob``
        plus ``is_file`` costs a stat per file (0.2 s for 10,000)."""
        found: list[str] = []
        stack = [str(folder)]
        while stack:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.name.lower().endswith(IMAGE_SUFFIXES) and entry.is_file():
                        found.append(entry.path)
        found.sort()
        return [
            Tile(-1 - i, "completed", Path(p).name, Path(p), None, 0, p)
            for i, p in enumerate(found)
        ]

    def add_image(
        self,
        job_id: int,
        status: str,
        path: Path,
        thumb: Path | None,
        sample: int,
        prompt: str,
        version: int = 1,
        image_id: int = 0,
        qa_flags: tuple[str, ...] = (),
    ) -> None:
        """Replace the job's placeholder (or, for a new version, its sample's tile) by the
        image, or append a further sample (``qa_flags``: what the quality checks flagged)."""
        rows = self._rows_of_job.get(job_id, [])
        new = Tile(job_id, status, path.name, path, thumb, sample, f"{prompt}\n{path}",
                   image_id=image_id, version=version, qa_flags=qa_flags)  # fmt: skip
        for r in rows:
            t = self.tiles[r]
            if t.path is None or t.path == path or (t.sample == sample and t.version < version):
                newer = t.path is not None and t.version < version
                new.versions = t.versions + 1 if newer else t.versions
                self.tiles[r] = new
                if t.path is not None:
                    self._rows_of_path.pop(t.path, None)
                self._rows_of_path[path] = r
                self._rows_of_image.pop(t.image_id, None)
                if image_id:
                    self._rows_of_image[image_id] = r
                self.dataChanged.emit(self.index(r), self.index(r))
                return
        last = rows[-1] if rows else len(self.tiles) - 1
        self.beginInsertRows(QModelIndex(), last + 1, last + 1)
        self.tiles.insert(last + 1, new)
        self._reindex()
        self.endInsertRows()

    def update_deliveries(self, events: Iterable[DeliveryChanged]) -> None:
        """Show the outbox's changes on the tiles of the images they name."""
        rows = []
        for ev in events:
            r = self._rows_of_image.get(ev.image_id) if ev.image_id is not None else None
            if r is not None:
                self.tiles[r].deliveries[ev.target] = TargetState(ev.status, ev.url, ev.error)
                rows.append(r)
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def set_verdicts(self, verdicts: dict[int, dict[str, ChannelVerdict]]) -> None:
        """Show channel verdicts just stored (image id → channel → verdict)."""
        rows = []
        for image_id, by_channel in verdicts.items():
            r = self._rows_of_image.get(image_id)
            if r is not None:
                self.tiles[r].channels = by_channel
                rows.append(r)
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def set_review(self, rows: list[int], flag: str | None, stars: int | None) -> None:
        """Show a review just stored for the tiles at ``rows`` (source rows)."""
        for r in rows:
            t = self.tiles[r]
            if flag is not None:
                t.flag = flag
            if stars is not None:
                t.stars = stars
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def counts(self) -> dict[str, int]:
        """Images per review flag (``picked``, ``rejected``, ``unflagged``)."""
        out = {"picked": 0, "rejected": 0, "unflagged": 0}
        for t in self.tiles:
            if t.path is not None:
                out[t.flag] = out.get(t.flag, 0) + 1
        return out

    def qa_count(self) -> int:
        """Images the quality checks on save flagged."""
        return sum(1 for t in self.tiles if t.path is not None and t.qa_flags)

    def update_jobs(self, changes: dict[int, JobUpdate]) -> None:
        """New statuses (and a failed placeholder's reason) of the jobs' tiles."""
        rows = []
        for job_id, update in changes.items():
            ev = update.change
            if ev is None:
                continue
            for r in self._rows_of_job.get(job_id, []):
                t = self.tiles[r]
                t.status = ev.status
                if t.path is None and ev.error:
                    t.tooltip = t.tooltip.split("\n")[0] + f"\n{ev.error_type}: {ev.error}"
                rows.append(r)
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def set_thumbnail(self, path: Path, pixmap: QPixmap) -> None:
        self._icons[path] = QIcon(pixmap)
        self._icons.move_to_end(path)
        while len(self._icons) > self.cache_size:
            old, _ = self._icons.popitem(last=False)
            self._requested.discard(old)
        r = self._rows_of_path.get(path)
        if r is not None:
            self.dataChanged.emit(self.index(r), self.index(r), [Qt.ItemDataRole.DecorationRole])

    def loaded_count(self) -> int:
        return sum(1 for p in self._icons if p in self._rows_of_path)

    def is_loaded(self, row: int) -> bool:
        t = self.tiles[row]
        return t.path is not None and t.path in self._icons

    def _placeholder(self, status: str) -> QIcon:
        icon = self._placeholders.get(status)
        if icon is None:
            icon = self._placeholders[status] = QIcon(placeholder_pixmap(status))
        return icon

    def index(self, row: int, column: int = 0, parent: Index = QModelIndex()) -> QModelIndex:
        # One call into Python where Qt's index() makes two (see JobsModel.index).
        if parent.isValid() or column != 0 or not 0 <= row < len(self.tiles):
            return QModelIndex()
        return self.createIndex(row, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.tiles)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and self.tiles[index.row()].path is not None:
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """The dragged tiles as files (``text/uri-list``), for other applications."""
        data = QMimeData()
        paths = {self.tiles[i.row()].path for i in indexes if i.isValid()}
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in sorted(paths) if p is not None])
        return data

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        t = self.tiles[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return t.caption()
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return t.spoken()[0]
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return t.spoken()[1]
        if role == ReviewRole:
            return t.review_key()
        if role == ImageIdRole:
            return t.image_id
        if role == ChannelRole:
            return marks.failing(t.channels)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _REJECTED if t.flag == "rejected" else None
        if role == Qt.ItemDataRole.DecorationRole:
            if t.path is not None:
                icon = self._icons.get(t.path)
                if icon is not None:
                    return icon
                if t.path not in self._requested:
                    self._requested.add(t.path)
                    self._request(t.path, t.thumb)
                return self._placeholder("running" if t.status != "completed" else "pending")
            return self._placeholder(t.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return t.tip()
        if role == StatusRole:
            return t.status
        if role == JobIdRole:
            return t.job_id
        if role == PathRole:
            return str(t.path) if t.path else None
        return None


def load_views(
    store: Store, batch_id: int, first: int | None = None
) -> tuple[list[JobView], list[Tile]]:
    """A batch's progress-table rows and gallery tiles (``first``: of its first that many
    jobs), read from ``store`` (no Qt object is made: call it from a worker thread for a big
    batch)."""
    jobs = store.job_summaries(batch_id, first)
    images = store.images(batch_id, first=first)
    tiles = GalleryModel.tiles_for(jobs, images, store.version_counts(batch_id))
    views = [JobView.from_summary(j) for j in jobs]
    qa = store.qa_flags_by_job(batch_id)
    if qa:
        for v in views:
            v.qa = dict(qa.get(v.id, {}))
    channels = store.run_settings(batch_id).channels
    if channels:
        verdicts = store.verdicts(batch_id)
        for t in tiles:
            if t.image_id:
                got = verdicts.get(t.image_id, {})
                t.channels = {c: got[c] for c in channels if c in got}
    by_job, by_image = by_job_and_image(store.deliveries(batch_id))
    if by_job:
        for v in views:
            v.deliveries = by_job.get(v.id, {})
        for t in tiles:
            t.deliveries = dict(by_image.get(t.image_id, {}))
    return views, tiles
