"""The jobs of a batch (the progress table) and the proxy filtering them by status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from atelier.core.events import DeliveryChanged, ImageSaved
from atelier.core.i18n import N_, tr
from atelier.delivery.target_states import Keyed, TargetState, details, fold, summary
from atelier.output.qa import FLAGS as QA_FLAGS
from atelier.output.qa import describe, flag_label
from atelier.store import JobSummary
from atelier.studio.bridge import JobUpdate
from atelier.studio.look import theme
from atelier.studio.look.icons import STATUS_LABELS, status_icon
from atelier.studio.models.roles import (
    Index,
    JobIdRole,
    SortRole,
    StatusRole,
)


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
    deliveries: Keyed = field(default_factory=dict)
    """(image id, target) → state of its deliveries (``atelier.delivery.target_states``)."""
    qa: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Sample → the quality-check flags of its image (``atelier.output.qa``), flagged ones only."""

    @property
    def qa_flags(self) -> tuple[str, ...]:
        """Every flag of the job's images, each once, in ``atelier.output.qa.FLAGS`` order."""
        have = {f for flags in self.qa.values() for f in flags}
        return tuple(f for f in QA_FLAGS if f in have)

    def qa_text(self) -> str:
        """The Quality column: the flags' names, or nothing when every image passed."""
        return ", ".join(flag_label(f) for f in self.qa_flags)

    @property
    def copied(self) -> bool:
        """Finished at $0 without a request of its own: its images were copied from an
        identical one made earlier (``atelier.pricing.reuse``)."""
        return self.status == "completed" and self.attempts == 0

    def status_text(self) -> str:
        """The Status column: the status, with a retry's wait or a request's progress."""
        label = tr(STATUS_LABELS.get(self.status, self.status))
        if self.status == "waiting" and self.retry_in_s is not None:
            label += f" ({self.retry_in_s:.1f} s)"
        elif self.status == "running" and self.progress is not None:
            label += f" {self.progress:.0%}"
        return label

    def attempts_text(self) -> str:
        """The Attempts column: the requests sent, or "copied" (no request: reused at $0)."""
        return tr("copied") if self.copied else str(self.attempts)

    @staticmethod
    def copied_tip() -> str:
        """The tooltip of a copied job's Attempts cell."""
        return tr("Copied from an identical image made earlier: no request, $0.")

    def apply(self, u: JobUpdate) -> None:
        """Take what the engine reported since the last flush."""
        ev = u.change
        if ev is not None:
            self.status = ev.status
            self.attempts = ev.attempts
            self.error = ev.error
            self.error_type = ev.error_type
            self.cost = ev.cost
            self.retry_in_s = ev.retry_in_s
        if u.duration_ms is not None:
            self.duration_ms = u.duration_ms
        if ev is not None or u.progress is not None:
            self.progress = u.progress

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
    """The jobs of the open batch. Columns: #, prompt, file, status, attempts, duration, cost,
    error, quality (the quality-check flags of its images), delivery (each target's state
    over the job's images).

    The model filters (statuses, a prompt search) and sorts (a header click) its own rows,
    where Qt's ``QSortFilterProxyModel`` would stand between it and the view: through two
    proxies a painted cell cost 15 calls into Python (seven ``data`` roles, each mapped to
    this model by an ``index`` call), each waiting for the interpreter while the engine's
    threads hold it; here it costs two (``index`` and ``multiData``, all roles in one call).
    That made the progress table's repaint the window's longest stall just after Start
    (``bench/window.py``). ``jobs`` holds every job in job order; table rows are the ones
    shown, in the order shown. As with the proxies before, rows are not filtered or sorted
    again as jobs change: a row keeps its place while a batch runs.
    """

    COLUMNS = (
        "#",
        N_("Prompt"),
        N_("File"),
        N_("Status"),
        N_("Attempts"),
        N_("Duration"),
        N_("Cost"),
        N_("Error"),
        N_("Quality"),
        N_("Delivery"),
    )
    QUALITY = 8
    """The Quality column (``atelier.output.qa``'s flags)."""
    DELIVERY = 9
    """The Delivery column (``atelier.delivery.target_states``)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.jobs: list[JobView] = []
        self._row_of: dict[int, int] = {}
        # Kept as rows change, not counted over every row at each flush: 10,000 rows walked
        # ten times a second, while the engine's threads took the interpreter in turns, made
        # the window's longest stalls just after Start (bench/window.py: 35-60 ms a count).
        self._counts: Counter[str] = Counter()
        self._cost_nano = 0  # the known costs' sum in 1e-9 USD: exact under + and -
        self._cost_unknown = 0
        self._shown: list[int] = []  # the index in ``jobs`` of each table row
        self._row_at: list[int] = []  # the table row of each job (-1: filtered out)
        self._statuses: frozenset[str] = frozenset()
        self._search = ""
        self._sort: tuple[int, bool] | None = None  # (column, descending)

    def set_jobs(self, jobs: list[JobView]) -> None:
        self.beginResetModel()
        self.jobs = jobs
        self._row_of = {j.id: i for i, j in enumerate(jobs)}
        self._counts = Counter(j.status for j in jobs)
        self._cost_nano, self._cost_unknown = 0, 0
        for j in jobs:
            self._count_cost(j, 1)
        self._set_shown(self._chosen())
        self.endResetModel()

    # ---- filtering and sorting ---------------------------------------------------------------
    def set_filter(self, statuses: Iterable[str] = (), search: str = "") -> None:
        """Show only jobs whose status is in ``statuses`` (empty: all) and whose prompt holds
        ``search`` (any case; empty: all). The table is reset: a view's selection is cleared
        (the progress page selects the rows still shown again, ``rows_of``)."""
        self.beginResetModel()
        self._statuses, self._search = frozenset(statuses), search.casefold()
        self._set_shown(self._chosen())
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by ``column`` (-1: job order), as a header click asks; rows that
        compare equal keep their job order. Selected rows stay selected."""
        self._sort = None if column < 0 else (column, order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        jobs_of = [self._shown[i.row()] for i in before]
        self._set_shown(self._ordered(sorted(self._shown)))  # the same rows, not filtered again
        self.changePersistentIndexList(
            before,
            [
                self.createIndex(self._row_at[j], i.column())
                if self._row_at[j] >= 0
                else QModelIndex()
                for i, j in zip(before, jobs_of, strict=True)
            ],
        )
        self.layoutChanged.emit()

    def rows_of(self, job_ids: Iterable[int]) -> list[int]:
        """The table rows showing these jobs (those filtered out, or not in the table, have
        none)."""
        rows = (self._row_at[r] for j in job_ids if (r := self._row_of.get(j)) is not None)
        return sorted(r for r in rows if r >= 0)

    def job_at(self, row: int) -> JobView:
        """The job shown on table row ``row``."""
        return self.jobs[self._shown[row]]

    def _chosen(self) -> list[int]:
        statuses, search = self._statuses, self._search
        shown = [
            i
            for i, j in enumerate(self.jobs)
            if (not statuses or j.status in statuses)
            and (not search or search in j.prompt.replace("\n", " ").casefold())
        ]
        return self._ordered(shown)

    def _ordered(self, shown: list[int]) -> list[int]:
        """``shown`` (indexes in ``jobs``, in job order) in the sort's order, stable."""
        if self._sort is not None:
            column, descending = self._sort
            jobs = self.jobs
            shown.sort(key=lambda i: self._sort_key(jobs[i], column), reverse=descending)
        return shown

    def _set_shown(self, shown: list[int]) -> None:
        self._shown = shown
        self._row_at = [-1] * len(self.jobs)
        for row, i in enumerate(shown):
            self._row_at[i] = row

    def _changed(self, rows: list[int], first: int, last: int) -> None:
        """``dataChanged`` over the table rows showing jobs ``rows`` (indexes in ``jobs``),
        columns ``first`` to ``last``: one span, as the proxies emitted it."""
        shown = [r for r in map(self._row_at.__getitem__, rows) if r >= 0]
        if shown:
            self.dataChanged.emit(self.index(min(shown), first), self.index(max(shown), last))

    def _count_cost(self, j: JobView, sign: int) -> None:
        if j.cost is None:
            self._cost_unknown += sign
        else:
            self._cost_nano += sign * round(j.cost * 1e9)

    def update_jobs(self, changes: dict[int, JobUpdate]) -> None:
        """Apply coalesced updates (job id → ``JobUpdate``) with one ``dataChanged`` span."""
        rows = []
        counts = self._counts
        for jid, update in changes.items():
            r = self._row_of.get(jid)
            if r is None:
                continue
            j = self.jobs[r]
            counts[j.status] -= 1
            self._count_cost(j, -1)
            j.apply(update)
            counts[j.status] += 1
            self._count_cost(j, 1)
            rows.append(r)
        self._changed(rows, 0, len(self.COLUMNS) - 1)

    def set_prompt(self, job_id: int, prompt: str) -> None:
        """Show the prompt a job is made with now (a row fixed in place with an edited
        prompt); a job not in the table is ignored."""
        r = self._row_of.get(job_id)
        if r is None:
            return
        self.jobs[r].prompt = prompt
        self._changed([r], 1, 1)

    def update_deliveries(self, events: Iterable[DeliveryChanged]) -> None:
        """Show the outbox's changes for the jobs they name (a batch's own messages have no
        job and are shown by the progress page's counts)."""
        rows = []
        for ev in events:
            r = self._row_of.get(ev.job_id) if ev.job_id is not None else None
            if r is None:
                continue
            self.jobs[r].deliveries[(ev.image_id, ev.target)] = TargetState(
                ev.status, ev.url, ev.error
            )
            rows.append(r)
        self._changed(rows, len(self.COLUMNS) - 1, len(self.COLUMNS) - 1)

    def update_qa(self, images: Iterable[ImageSaved]) -> None:
        """Show the quality-check flags of images just saved (a re-made sample's new image
        replaces its earlier flags)."""
        rows = []
        for ev in images:
            r = self._row_of.get(ev.job_id)
            if r is None:
                continue
            qa = self.jobs[r].qa
            if ev.qa_flags:
                qa[ev.sample_index] = ev.qa_flags
            elif qa.pop(ev.sample_index, None) is None:
                continue
            rows.append(r)
        self._changed(rows, self.QUALITY, self.QUALITY)

    def prompt_of(self, job_id: int, default: str = "") -> str:
        r = self._row_of.get(job_id)
        return default if r is None else self.jobs[r].prompt

    def cost_of(self, job_id: int) -> float | None:
        """What the job has cost so far (USD, ``None``: unknown or not in the table)."""
        r = self._row_of.get(job_id)
        return None if r is None else self.jobs[r].cost

    def counts(self) -> dict[str, int]:
        """Rows per status (statuses no row has are left out)."""
        return {status: n for status, n in self._counts.items() if n}

    def spend(self) -> float | None:
        """The rows' costs added up, USD; ``None`` when any row's cost is unknown."""
        return None if self._cost_unknown else self._cost_nano / 1e9

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        # Qt's index() asks rowCount() and columnCount() first: two calls into Python for each
        # index a view or proxy makes (thousands per repaint, each waiting for the GIL while the
        # engine's thread runs); this is one.
        if parent.isValid() or not (
            0 <= row < len(self._shown) and 0 <= column < len(self.COLUMNS)
        ):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self._cell(self.jobs[self._shown[index.row()]], index.column(), role)

    def multiData(self, index: Index, roleDataSpan: QModelRoleDataSpan) -> None:
        # Qt's item delegate asks for its seven roles in one call (see the class's docstring).
        if not index.isValid():
            return
        j, c = self.jobs[self._shown[index.row()]], index.column()
        for wanted in roleDataSpan:
            wanted.setData(self._cell(j, c, wanted.role()))

    def _cell(self, j: JobView, c: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(j, c)
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(j.status) if c == 3 else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(j, c)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(j, c)
        if role == JobIdRole:
            return j.id
        if role == StatusRole:
            return j.status
        if role == SortRole:
            return self._sort_key(j, c)
        return None

    def _text(self, j: JobView, c: int) -> str | None:
        if c == 0:
            return str(j.seq + 1)
        if c == 1:
            return j.prompt.replace("\n", " ")
        if c == 2:
            return j.file
        if c == 3:
            return j.status_text()
        if c == 4:
            return j.attempts_text()
        if c == 5:
            return "" if j.duration_ms is None else f"{j.duration_ms / 1000:.1f} s"
        if c == 6:
            return "unknown" if j.cost is None else f"${j.cost:.3f}"
        if c == 7:
            return j.error or ""
        if c == self.QUALITY:
            return j.qa_text()
        if c == self.DELIVERY:
            return summary(fold(j.deliveries))
        return None

    def _sort_key(self, j: JobView, c: int) -> Any:
        """What column ``c`` sorts ``j`` by (numbers as numbers; an unknown cost first)."""
        if c == 0:
            return j.seq
        if c == 1:
            return j.prompt
        if c == 3:
            return j.status
        if c == 4:
            return j.attempts
        if c == 5:
            return j.duration_ms or 0
        if c == 6:
            return -1.0 if j.cost is None else j.cost
        return self._text(j, c)

    def _tooltip(self, j: JobView, c: int) -> str | None:
        if c == 7 and j.error:
            return f"{j.error_type}: {j.error}"
        if c == 4 and j.copied:
            return j.copied_tip()
        if c == 1:
            return j.prompt
        if c == self.QUALITY and j.qa:
            return "\n".join(
                tr("Image {n}: {flags}").format(n=s + 1, flags=describe(f))
                for s, f in sorted(j.qa.items())
            )
        if c == self.DELIVERY and j.deliveries:
            return details(fold(j.deliveries))
        return None

    def _foreground(self, j: JobView, c: int) -> QColor | None:
        if c == 7 and j.error:
            return QColor(theme.tone("error"))
        if c == self.QUALITY and j.qa:
            return QColor(theme.tone("warning"))
        if c == self.DELIVERY and any(s.status == "failed" for s in j.deliveries.values()):
            return QColor(theme.tone("error"))
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.COLUMNS[section]) if 0 <= section < len(self.COLUMNS) else None
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
