"""The History page: earlier batches, to open with their images or resume."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.store import BatchRow
from atelier.studio import a11y
from atelier.studio.look.fit import fit_columns
from atelier.studio.models import BATCH_STATUS_LABELS, HistoryModel, JobIdRole


class HistoryPage(QWidget):
    """Batches, newest first.

    Signals:
        open_requested(int): a batch id to show.
        resume_requested(int): a batch id to resume.
        refresh_requested(): "Refresh".
    """

    open_requested = Signal(int)
    resume_requested = Signal(int)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        bar = QHBoxLayout()
        for text, slot in (
            (tr("Open batch"), lambda: self._emit(self.open_requested)),
            (tr("Resume batch"), lambda: self._emit(self.resume_requested)),
            (tr("Refresh"), self.refresh_requested.emit),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            bar.addWidget(b)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.history_model = HistoryModel(self)
        view = self.history_view = QTableView()
        view.setObjectName("history_view")
        a11y.name(view, tr("History"))
        view.setModel(self.history_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.verticalHeader().hide()
        # Long folders elide in the middle (their tooltip is whole); the other columns are
        # widened to their titles and statuses in the language in force ("キャンセル済み").
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        statuses = [tr(label) for label in BATCH_STATUS_LABELS.values()]
        fit_columns(view, (260, 140, 200, 90, 80, 70, 200), stretch=6, samples={3: statuses})
        view.doubleClicked.connect(lambda idx: self.open_requested.emit(int(idx.data(JobIdRole))))
        lay.addWidget(view, 1)

    def set_batches(self, batches: list[BatchRow]) -> None:
        """Show these batches (from ``Store.batches``: one query)."""
        self.history_model.set_batches(batches)

    def selected_batch(self) -> int | None:
        """The selected batch's id."""
        rows = self.history_view.selectionModel().selectedRows()
        return int(rows[0].data(JobIdRole)) if rows else None

    def _emit(self, signal: Signal) -> None:  # type: ignore[valid-type]
        bid = self.selected_batch()
        if bid is not None:
            signal.emit(bid)  # type: ignore[attr-defined]
