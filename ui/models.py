"""Qt item models: the spreadsheet, the jobs of a batch, the gallery and the batch history.

All are ``QAbstractItemModel`` subclasses (checked by ``qtmodeltester``); they hold display
state only and get their data from ``app`` (tables, store rows, engine events).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPixmap

from app.store import BatchRow, ImageRow, JobSummary
from app.tabular import Table
from ui.icons import STATUS_LABELS, placeholder_pixmap, status_icon

SortRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
JobIdRole = Qt.ItemDataRole.UserRole + 3
PathRole = Qt.ItemDataRole.UserRole + 4
Index = QModelIndex | QPersistentModelIndex


class SpreadsheetModel(QAbstractTableModel):
    """Read-only view of an imported ``Table``; 100,000 rows cost nothing until shown."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table: Table | None = None

    def set_table(self, table: Table | None) -> None:
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self.table is None else len(self.table.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self.table is None else len(self.table.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.table is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self.table.rows[index.row()][index.column()]
            if role == Qt.ItemDataRole.DisplayRole and len(value) > 120:
                return value[:117].replace("\n", " ") + "…"
            return value.replace("\n", " ") if role == Qt.ItemDataRole.DisplayRole else value
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or self.table is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.table.headers[section] if 0 <= section < len(self.table.headers) else None
        return str(section + 1) if 0 <= section < len(self.table.rows) else None


@dataclass
class JobView:
    """What the progress table shows of one job."""

    id: int
    seq: int
    prompt: str
    file: str
    status: str
    attempts: int = 0
    duration_ms: int | None = None
    cost: float | None = 0.0
    error: str | None = None
    error_type: str | None = None
    retry_in_s: float | None = None
    progress: float | None = None

    @classmethod
    def from_summary(cls, j: JobSummary) -> JobView:
        return cls(
            j.id,
            j.seq,
            j.prompt,
            j.output_path,
            j.status,
            j.attempts,
            j.duration_ms,
            j.cost,
            j.error,
            j.error_type,
        )


class JobsModel(QAbstractTableModel):
    """The jobs of the open batch. Columns: #, prompt, file, status, attempts, duration, cost, error."""

    COLUMNS = ("#", "Prompt", "File", "Status", "Attempts", "Duration", "Cost", "Error")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.jobs: list[JobView] = []
        self._row_of: dict[int, int] = {}

    def set_jobs(self, jobs: list[JobView]) -> None:
        self.beginResetModel()
        self.jobs = jobs
        self._row_of = {j.id: i for i, j in enumerate(jobs)}
        self.endResetModel()

    def update_jobs(self, changes: dict[int, dict[str, Any]]) -> None:
        """Apply coalesced field changes (job id → fields) with one ``dataChanged`` span."""
        rows = []
        for jid, fields in changes.items():
            r = self._row_of.get(jid)
            if r is None:
                continue
            job = self.jobs[r]
            for k, v in fields.items():
                setattr(job, k, v)
            rows.append(r)
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), 0), self.index(max(rows), len(self.COLUMNS) - 1)
            )

    def prompt_of(self, job_id: int, default: str = "") -> str:
        r = self._row_of.get(job_id)
        return default if r is None else self.jobs[r].prompt

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out

    def spend(self) -> float | None:
        total = 0.0
        for j in self.jobs:
            if j.cost is None:
                return None
            total += j.cost
        return total

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        # Qt's index() asks rowCount() and columnCount() first: two calls into Python for each
        # index a view or proxy makes (thousands per repaint, each waiting for the GIL while the
        # engine's thread runs); this is one.
        if parent.isValid() or not (0 <= row < len(self.jobs) and 0 <= column < len(self.COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.jobs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        j = self.jobs[index.row()]
        c = index.column()
        if role == JobIdRole:
            return j.id
        if role == StatusRole:
            return j.status
        if role == SortRole:
            return (
                j.seq,
                j.prompt,
                j.file,
                j.status,
                j.attempts,
                j.duration_ms or 0,
                -1.0 if j.cost is None else j.cost,
                j.error or "",
            )[c]
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return str(j.seq + 1)
            if c == 1:
                return j.prompt.replace("\n", " ")
            if c == 2:
                return j.file
            if c == 3:
                label = STATUS_LABELS.get(j.status, j.status)
                if j.status == "waiting" and j.retry_in_s is not None:
                    label += f" ({j.retry_in_s:.1f} s)"
                elif j.status == "running" and j.progress is not None:
                    label += f" {j.progress:.0%}"
                return label
            if c == 4:
                return str(j.attempts)
            if c == 5:
                return "" if j.duration_ms is None else f"{j.duration_ms / 1000:.1f} s"
            if c == 6:
                return "unknown" if j.cost is None else f"${j.cost:.3f}"
            if c == 7:
                return j.error or ""
        if role == Qt.ItemDataRole.DecorationRole and c == 3:
            return status_icon(j.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            if c == 7 and j.error:
                return f"{j.error_type}: {j.error}"
            if c == 1:
                return j.prompt
        if role == Qt.ItemDataRole.ForegroundRole and c == 7 and j.error:
            return QColor("#b3261e")
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section] if 0 <= section < len(self.COLUMNS) else None
        return None


class StatusFilterProxy(QSortFilterProxyModel):
    """Keeps only rows whose ``StatusRole`` (on column 0) is in ``statuses`` (empty = all).

    It uses Qt's own filter (a regular expression on ``StatusRole``) rather than a Python
    ``filterAcceptsRow``: with no filter set Qt then accepts a row without calling into Python,
    where an override costs a call per row (10,000 when a batch opens, each waiting for the GIL
    behind the engine's thread). The text search on prompts is a second proxy on top of this one.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.statuses: set[str] = set()
        self.setFilterRole(StatusRole)
        self.setFilterKeyColumn(0)

    def set_statuses(self, statuses: set[str]) -> None:
        """Show only these statuses (``running``, ``failed``…); an empty set shows every row."""
        self.statuses = set(statuses)
        alternatives = "|".join(QRegularExpression.escape(x) for x in sorted(self.statuses))
        self.setFilterRegularExpression(f"^(?:{alternatives})$" if self.statuses else "")


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
        self._icons: OrderedDict[Path, QIcon] = OrderedDict()
        self._requested: set[Path] = set()
        self._request = request_thumbnail
        self.cache_size = cache_size
        self._placeholders: dict[str, QIcon] = {}

    def _reindex(self) -> None:
        self._rows_of_job = {}
        self._rows_of_path = {}
        for r, t in enumerate(self.tiles):
            self._rows_of_job.setdefault(t.job_id, []).append(r)
            if t.path is not None:
                self._rows_of_path[t.path] = r

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.beginResetModel()
        self.tiles = tiles
        self._reindex()
        self.endResetModel()

    @staticmethod
    def tiles_for(jobs: list[JobSummary], images: list[ImageRow]) -> list[Tile]:
        """Images in job order; jobs without images as status placeholders."""
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
                        )
                    )
            else:
                tip = j.prompt + (f"\n{j.error_type}: {j.error}" if j.error else "")
                tiles.append(Tile(j.id, j.status, j.output_path.rsplit("/", 1)[-1], tooltip=tip))
        return tiles

    @staticmethod
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
        self, job_id: int, status: str, path: Path, thumb: Path | None, sample: int, prompt: str
    ) -> None:
        """Replace the job's placeholder by the image, or append a further sample."""
        rows = self._rows_of_job.get(job_id, [])
        for r in rows:
            t = self.tiles[r]
            if t.path is None or t.path == path:
                self.tiles[r] = Tile(
                    job_id, status, path.name, path, thumb, sample, f"{prompt}\n{path}"
                )
                self._rows_of_path[path] = r
                self.dataChanged.emit(self.index(r), self.index(r))
                return
        last = rows[-1] if rows else len(self.tiles) - 1
        self.beginInsertRows(QModelIndex(), last + 1, last + 1)
        self.tiles.insert(
            last + 1, Tile(job_id, status, path.name, path, thumb, sample, f"{prompt}\n{path}")
        )
        self._reindex()
        self.endInsertRows()

    def update_status(self, changes: dict[int, str], errors: dict[int, str]) -> None:
        rows = []
        for job_id, status in changes.items():
            for r in self._rows_of_job.get(job_id, []):
                t = self.tiles[r]
                t.status = status
                if t.path is None and job_id in errors:
                    t.tooltip = t.tooltip.split("\n")[0] + "\n" + errors[job_id]
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

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        t = self.tiles[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return t.label
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
            return t.tooltip
        if role == StatusRole:
            return t.status
        if role == JobIdRole:
            return t.job_id
        if role == PathRole:
            return str(t.path) if t.path else None
        return None


class HistoryModel(QAbstractTableModel):
    """Earlier batches: name, created, provider/model, status, progress, folder."""

    COLUMNS = ("Batch", "Created", "Provider", "Status", "Done", "Failed", "Folder")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.batches: list[BatchRow] = []

    def set_batches(self, batches: list[BatchRow]) -> None:
        self.beginResetModel()
        self.batches = batches
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.batches)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        b = self.batches[index.row()]
        if role == JobIdRole:
            return b.id
        if role == Qt.ItemDataRole.DisplayRole:
            c = index.column()
            return (
                f"#{b.id} {b.name}",
                b.created_at[:16].replace("T", " "),
                f"{b.provider} / {b.model}",
                b.status,
                f"{b.counts.get('completed', 0)}/{b.total}",
                str(b.counts.get("failed", 0)),
                str(b.output_dir),
            )[c]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section] if 0 <= section < len(self.COLUMNS) else None
        return None
