"""Batches as table rows: the history's, the Team page's (``atelier.studio.models.team``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    Qt,
)

from atelier.core.i18n import N_, tr
from atelier.store import BatchRow
from atelier.studio.look.locale_format import local_datetime
from atelier.studio.models.roles import (
    Index,
    JobIdRole,
)

BATCH_STATUS_LABELS = {
    "ready": N_("Ready"),
    "running": N_("Running"),
    "paused": N_("Paused"),
    "finished": N_("Finished"),
    "cancelled": N_("Cancelled"),
}
"""A batch's status (``atelier.core.status.BatchStatus``) → its label, shown through ``tr``."""


class BatchListModel(QAbstractTableModel):
    """A table of batches, a row each: subclasses give ``COLUMNS`` (``N_`` titles) and
    ``cells(batch)`` (the row's texts), and the id ``JobIdRole`` returns."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.batches: list[Any] = []

    def set_batches(self, batches: Iterable[Any]) -> None:
        self.beginResetModel()
        self.batches = list(batches)
        self.endResetModel()

    def cells(self, b: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def tooltip(self, b: Any) -> str | None:
        return None

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
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(b)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(b)[index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.COLUMNS[section]) if 0 <= section < len(self.COLUMNS) else None
        return None


class HistoryModel(BatchListModel):
    """Earlier batches: name, created, provider/model, status, progress, folder."""

    COLUMNS = (
        N_("Batch"),
        N_("Created"),
        N_("Provider"),
        N_("Status"),
        N_("Done"),
        N_("Failed"),
        N_("Folder"),
    )

    def cells(self, b: BatchRow) -> tuple[str, ...]:
        return (
            f"#{b.id} {b.name}",
            local_datetime(b.created_at),
            f"{b.provider} / {b.model}",
            tr(BATCH_STATUS_LABELS.get(b.status, b.status)),
            f"{b.counts.get('completed', 0)}/{b.total}",
            str(b.counts.get("failed", 0)),
            str(b.output_dir),
        )

    def tooltip(self, b: BatchRow) -> str | None:
        """The batch's name and folder whole (the table elides long ones)."""
        return f"#{b.id} {b.name}\n{b.output_dir}"
