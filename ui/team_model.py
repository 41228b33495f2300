"""The team's batches on the queue, as a table (``TeamPage``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.i18n import N_, tr
from app.team.queue import STATE_LABELS, TeamBatch
from ui.locale_format import local_datetime

Index = QModelIndex | QPersistentModelIndex
TeamIdRole = Qt.ItemDataRole.UserRole + 20


class TeamModel(QAbstractTableModel):
    """Team batches: name, submitted, by whom, provider/model, state, done/total."""

    COLUMNS = (
        N_("Batch"),
        N_("Submitted"),
        N_("By"),
        N_("Provider"),
        N_("State"),
        N_("Done"),
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.batches: list[TeamBatch] = []

    def set_batches(self, batches: list[TeamBatch]) -> None:
        self.beginResetModel()
        self.batches = list(batches)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.batches)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        b = self.batches[index.row()]
        if role == TeamIdRole:
            return b.id
        if role == Qt.ItemDataRole.ToolTipRole and b.reason:
            return b.reason
        if role == Qt.ItemDataRole.DisplayRole:
            submitted = datetime.fromtimestamp(b.submitted, UTC).isoformat()
            state = tr(STATE_LABELS.get(b.state, b.state))
            return (
                f"{b.name} · {b.id[:8]}",
                local_datetime(submitted),
                b.submitter,
                f"{b.provider} / {b.model}",
                state,
                f"{b.done}/{b.total}",
            )[index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.COLUMNS[section]) if 0 <= section < len(self.COLUMNS) else None
        return None
