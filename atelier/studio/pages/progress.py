"""Page 3, progress: the batch's jobs with status, attempts, cost and error, filtered by status
and searched by prompt, with the run's counts and spend."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from atelier.core.events import BatchFinished
from atelier.core.i18n import N_, tr
from atelier.core.status import JobStatus
from atelier.studio import a11y
from atelier.studio.bridge import JobUpdate
from atelier.studio.look import theme
from atelier.studio.look.fit import fit_columns
from atelier.studio.look.icons import STATUS_LABELS
from atelier.studio.models import JobIdRole, JobsModel, JobView
from atelier.studio.widgets.views import JobsTableView

STATUS_FILTERS: list[tuple[str, set[str]]] = [
    (N_("All"), set()),
    (N_("Done"), {JobStatus.COMPLETED}),
    (N_("Failed"), {JobStatus.FAILED}),
    (N_("Running"), {JobStatus.RUNNING, JobStatus.WAITING}),
    (N_("Pending"), {JobStatus.PENDING}),
    (N_("Cancelled"), {JobStatus.CANCELLED}),
]
"""The status filters of the progress table and the gallery: label (English, shown through
``tr``) → statuses (empty: all)."""


def finished_text(ev: BatchFinished) -> str:
    """The one-line summary of a finished run: counts, spend (USD) and why it stopped."""
    r = ev.report
    spent = tr("unknown") if r.total_cost is None else f"${r.total_cost:.3f}"
    msg = tr(
        "Batch #{id} finished: {done} done, {failed} failed, {cancelled} cancelled · spent {spent}."
    ).format(id=ev.batch_id, done=r.succeeded, failed=r.failed, cancelled=r.cancelled, spent=spent)
    return f"{msg} {ev.reason}" if ev.reason else msg


def failed_hint() -> str:
    """What to do about the failed rows of a finished run, for the banner."""
    return tr(
        "Failed rows keep their reason in the Error column; use “Retry all failed” once fixed."
    )


class ProgressPage(QWidget):
    """The jobs table of the open batch.

    Signals:
        open_image_requested(int): a job id whose first image should open.
        edit_prompt_requested(int): "Edit prompt and regenerate…" on a job id.
        show_folder_requested(): "Show in folder" from the context menu.

    Args:
        retry_actions: the window's "Retry selected" and "Retry all failed", for the menu.
    """

    open_image_requested = Signal(int)
    edit_prompt_requested = Signal(int)
    show_folder_requested = Signal()

    def __init__(self, retry_actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._retry_actions = retry_actions
        self._estimate_usd: float | None = None
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progress_bar")
        # i18n: %v and %m are Qt's progress bar fields (value, maximum), kept as they are
        self.progress_bar.setFormat(tr("%v / %m jobs"))
        top.addWidget(self.progress_bar, 2)
        self.counts_label = QLabel(tr("No batch running."))
        self.counts_label.setObjectName("counts_label")
        top.addWidget(self.counts_label, 3)
        lay.addLayout(top)
        self.lane_label = QLabel("")
        theme.styled(self.lane_label, "color: {warning}")
        lay.addWidget(self.lane_label)
        self.economy_label = QLabel("")
        self.economy_label.setObjectName("economy_label")
        theme.styled(self.economy_label, "color: {accent}; font-weight: 600")
        lay.addWidget(self.economy_label)
        self.delivery_label = QLabel("")
        self.delivery_label.setObjectName("delivery_label")
        lay.addWidget(self.delivery_label)
        self.overrun_label = QLabel("")
        self.overrun_label.setObjectName("overrun_label")
        self.overrun_label.setWordWrap(True)
        theme.styled(self.overrun_label, "color: {warning}")
        lay.addWidget(self.overrun_label)
        lay.addLayout(self._build_filters())
        self._build_models()
        lay.addWidget(self._build_view(), 1)

    def _build_filters(self) -> QHBoxLayout:
        filt = QHBoxLayout()
        filt.addWidget(QLabel(tr("Show")))
        self.job_filter = QComboBox()
        self.job_filter.setObjectName("job_filter")
        a11y.name(self.job_filter, tr("Show"))
        for label, statuses in STATUS_FILTERS:
            self.job_filter.addItem(tr(label), statuses)
        self.job_filter.currentIndexChanged.connect(self._filter)
        filt.addWidget(self.job_filter)
        self.job_search = QLineEdit()
        self.job_search.setPlaceholderText(tr("Search prompts…"))
        self.job_search.setObjectName("job_search")
        a11y.name(self.job_search, tr("Search prompts…"))
        self.job_search.textChanged.connect(self._filter)
        filt.addWidget(self.job_search, 1)
        return filt

    def _build_models(self) -> None:
        # The model filters and sorts its rows itself (no proxy between it and the view: see
        # JobsModel); the table sorts when a header is clicked, and rows keep their place
        # while a batch runs.
        self.jobs_model = JobsModel(self)

    def _filter(self) -> None:
        # Selected rows still shown stay selected, as with Qt's filter proxy.
        kept = self.selected_job_ids()
        self.jobs_model.set_filter(self.job_filter.currentData() or (), self.job_search.text())
        m, chosen = self.jobs_model, QItemSelection()
        for row in m.rows_of(kept):
            chosen.select(m.index(row, 0), m.index(row, m.columnCount() - 1))
        if not chosen.isEmpty():
            self.jobs_view.selectionModel().select(chosen, QItemSelectionModel.SelectionFlag.Select)

    def _build_view(self) -> JobsTableView:
        view = self.jobs_view = JobsTableView()
        view.setObjectName("jobs_view")
        a11y.name(view, tr("Jobs"))
        view.setModel(self.jobs_model)
        view.setSortingEnabled(True)
        # Rows come in job order already (no sort column); a header click sorts.
        view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(24)
        view.setWordWrap(False)
        # Widths for English, widened to each title and status in the language in force; the
        # prompt takes the rest, so the Delivery column stays inside the table at 1280 px.
        statuses = [tr(label) for label in STATUS_LABELS.values()]
        fit_columns(
            view,
            (50, 300, 150, 130, 70, 80, 80, 220, 110, 150),
            stretch=1,
            samples={3: [s + " 100%" for s in statuses], 4: [tr("copied")]},
        )
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._menu)
        view.doubleClicked.connect(self._open)
        return view

    # ---- public API --------------------------------------------------------------------------
    def set_jobs(self, rows: list[JobView]) -> None:
        """Show a batch's jobs (rows made off the GUI thread)."""
        self.jobs_model.set_jobs(rows)

    def apply(self, updates: dict[int, JobUpdate]) -> None:
        """Take the engine's coalesced job updates."""
        self.jobs_model.update_jobs(updates)

    def show_failed(self) -> None:
        """Filter the table to failed jobs."""
        self.job_filter.setCurrentIndex(2)

    def selected_job_ids(self) -> list[int]:
        """Ids of the selected jobs, in job order."""
        m = self.jobs_model
        jobs = sorted(
            (m.job_at(i.row()) for i in self.jobs_view.selectionModel().selectedRows()),
            key=lambda j: j.seq,
        )
        return [j.id for j in jobs]

    def show_lane_wait(self, provider: str, seconds: float) -> None:
        """A provider lane is held after a 429 ("" clears)."""
        self.lane_label.setText(
            tr("{provider}: rate limited, all requests wait {seconds} s").format(
                provider=provider, seconds=f"{seconds:.1f}"
            )
            if provider
            else ""
        )

    def clear_waits(self) -> None:
        """No 429 hold and no provider batch shown (a run starts or ends)."""
        self.lane_label.setText("")
        self.economy_label.setText("")

    def show_economy_wait(self, batch_id: int, text: str) -> None:
        """A provider batch this batch waits on (economy mode): its state as the engine
        words it."""
        self.economy_label.setText(text)

    def set_estimate(self, usd: float | None, cap_usd: float | None) -> None:
        """What the open batch is expected to have spent (USD, ``None``: unknown) and its spend
        cap (USD, ``None``: none): the counts show spend against the estimate, the cap in
        their tooltip. A new estimate clears an earlier overrun line."""
        self._estimate_usd = usd
        self.overrun_label.setText("")
        self.counts_label.setToolTip(
            tr("Spend cap: {usd}").format(usd=f"${cap_usd:.2f}")
            if cap_usd is not None
            else tr("Spend cap: no cap")
        )

    def show_overrun(self, text: str) -> None:
        """The run costs more than its estimate's margin allows (``text`` has the figures)."""
        self.overrun_label.setText(text)

    def refresh_counts(self, state: str | None) -> None:
        """Counts, progress and spend from the table's rows; ``state`` (paused, cancelling) is
        shown first when the run is in it."""
        c = self.jobs_model.counts()
        # The bar shows the jobs that were worked to an end (made, or failed with a reason);
        # cancelled jobs were not done, so a batch cancelled at 120 of 5,000 shows 120 / 5,000,
        # not a full bar, and the counts say how many were cancelled.
        finished = c.get(JobStatus.COMPLETED, 0) + c.get(JobStatus.FAILED, 0)
        self.progress_bar.setMaximum(max(1, len(self.jobs_model.jobs)))
        self.progress_bar.setValue(finished)
        spend = self.jobs_model.spend()
        parts = [
            tr("{count} done").format(count=c.get(JobStatus.COMPLETED, 0)),
            tr("{count} failed").format(count=c.get(JobStatus.FAILED, 0)),
            tr("{count} running").format(
                count=c.get(JobStatus.RUNNING, 0) + c.get(JobStatus.WAITING, 0)
            ),
            tr("{count} pending").format(count=c.get(JobStatus.PENDING, 0)),
        ]
        if c.get(JobStatus.CANCELLED):
            parts.append(tr("{count} cancelled").format(count=c[JobStatus.CANCELLED]))
        spent = tr("unknown") if spend is None else f"${spend:.3f}"
        if self._estimate_usd is None:
            parts.append(tr("spent {usd}").format(usd=spent))
        else:
            parts.append(
                tr("spent {usd} of {estimate}").format(
                    usd=spent, estimate=f"${self._estimate_usd:.3f}"
                )
            )
        if state == "paused":
            parts.insert(0, tr("Paused"))
        elif state == "cancelling":
            parts.insert(0, tr("Cancelling"))
        self.counts_label.setText(" · ".join(parts))

    # ---- internals ---------------------------------------------------------------------------
    def _open(self, idx: QModelIndex) -> None:
        self.open_image_requested.emit(int(self.jobs_model.data(idx, JobIdRole)))

    def _menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in self._retry_actions:
            menu.addAction(action)
        menu.addSeparator()
        idx = self.jobs_view.indexAt(pos)
        if idx.isValid():
            menu.addAction(tr("Open image"), lambda: self._open(idx))
            menu.addAction(
                tr("Edit prompt and regenerate…"),
                lambda: self.edit_prompt_requested.emit(int(self.jobs_model.data(idx, JobIdRole))),
            )
            menu.addAction(tr("Show in folder"), self.show_folder_requested)
        menu.exec(self.jobs_view.viewport().mapToGlobal(pos))
