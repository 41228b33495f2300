"""The Team page: the team queue's batches (any member's), to pause, resume, cancel or retry;
and ``TeamLink``, which asks the queue on the engine thread and brings the answers back."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.core.settings import Settings
from atelier.engine.runner import EngineThread
from atelier.studio import a11y
from atelier.studio.look import theme
from atelier.studio.models.team import TeamIdRole, TeamModel
from atelier.team.control import control, failures, list_batches


class TeamPage(QWidget):
    """The team's batches, newest first.

    Signals:
        refresh_requested(): "Refresh".
        action_requested(str, str): an action (pause, resume, cancel, retry) and a team batch.
        cap_requested(str, float): resume a team batch with this budget cap (USD).
        failures_requested(str): the failed jobs of the team batch just selected.
    """

    refresh_requested = Signal()
    action_requested = Signal(str, str)
    cap_requested = Signal(str, float)
    failures_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.address = QLabel()
        self.address.setObjectName("team_address")
        self.address.setWordWrap(True)
        lay.addWidget(self.address)
        bar = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for text, action in (
            (tr("Pause"), "pause"),
            (tr("Resume"), "resume"),
            (tr("Cancel"), "cancel"),
            (tr("Retry failed"), "retry"),
        ):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, a=action: self._act(a))
            bar.addWidget(b)
            self.buttons.append(b)
        cap = QPushButton(tr("Raise budget cap…"))
        cap.setToolTip(tr("Resume a batch the budget cap halted, with a higher cap"))
        cap.clicked.connect(self._raise_cap)
        bar.addWidget(cap)
        self.buttons.append(cap)
        refresh = QPushButton(tr("Refresh"))
        refresh.clicked.connect(self.refresh_requested.emit)
        bar.addWidget(refresh)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.model = TeamModel(self)
        view = self.view = QTableView()
        view.setObjectName("team_view")
        a11y.name(view, tr("Team queue"))
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.verticalHeader().hide()
        view.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((300, 140, 160, 200, 110)):
            view.horizontalHeader().resizeSection(col, width)
        lay.addWidget(view, 1)
        view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.failures = QLabel("")
        self.failures.setObjectName("team_failures")
        self.failures.setWordWrap(True)
        self.failures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.failures)
        self.message = QLabel("")
        self.message.setObjectName("team_message")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.set_address("")

    def set_address(self, url: str) -> None:
        """Say which queue is shown (``""``: none set)."""
        self.address.setText(
            tr("Team queue: {url}").format(url=url)
            if url
            else tr("No team queue: set its address in Settings → Team queue.")
        )
        for b in self.buttons:
            b.setEnabled(bool(url))

    def set_batches(self, batches: list[Any]) -> None:
        """Show the team's batches (``TeamBatch``)."""
        self.model.set_batches(batches)

    def show_failures(self, tid: str, failures: list[tuple[int, str]]) -> None:
        """Show why the selected batch's jobs failed (``(job id, error)``), if it still is."""
        if tid != self.selected():
            return
        lines = [tr("Job {job}: {error}").format(job=j, error=e) for j, e in failures[:5]]
        more = len(failures) - len(lines)
        if more > 0:
            lines.append(tr("… and {count} more").format(count=more))
        self.failures.setText("\n".join(lines))

    def _selection_changed(self, *_: object) -> None:
        self.failures.setText("")
        tid = self.selected()
        rows = self.view.selectionModel().selectedRows()
        if tid is not None and self.model.batches[rows[0].row()].failed:
            self.failures_requested.emit(tid)

    def show_message(self, text: str, error: bool = False) -> None:
        """A sentence under the table (an error in the error colour)."""
        self.message.setText(text)
        theme.styled(self.message, "color: {error}" if error else "")

    def selected(self) -> str | None:
        """The selected team batch's id."""
        rows = self.view.selectionModel().selectedRows()
        return str(rows[0].data(TeamIdRole)) if rows else None

    def ask_cap(self, current: float | None) -> float | None:
        """Ask for a batch's new budget cap (USD); ``None``: the user changed their mind."""
        value, ok = QInputDialog.getDouble(
            self,
            tr("Raise budget cap"),
            tr("The batch's new budget cap (USD):"),
            (current or 0.0) * 2 or 10.0,
            0.01,
            1_000_000.0,
            2,
        )
        return float(value) if ok else None

    def _raise_cap(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            self.show_message(tr("Select a batch first."), error=True)
            return
        batch = self.model.batches[rows[0].row()]
        usd = self.ask_cap(batch.settings.budget_usd)
        if usd is not None:
            self.cap_requested.emit(batch.id, usd)

    def _act(self, action: str) -> None:
        tid = self.selected()
        if tid is None:
            self.show_message(tr("Select a batch first."), error=True)
            return
        self.action_requested.emit(action, tid)


class TeamLink(QObject):
    """Asks the team queue on the engine thread (never the GUI's), answering with signals.

    Signals:
        loaded(list): the team's batches.
        said(str, bool): a sentence, and whether it is an error.
        failed_jobs(str, list): a team batch and its failed jobs ``(job id, error)``.
    """

    loaded = Signal(list)
    said = Signal(str, bool)
    failed_jobs = Signal(str, list)

    def __init__(self, host: EngineThread, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.host, self.settings = host, settings

    def url(self) -> str:
        """The team queue's address in Settings (``""``: none)."""
        return self.settings.team_queue.strip()

    def queue_for_new_batches(self) -> str:
        """Where a batch started now goes: the team queue when Settings say so, else ``""``."""
        return self.url() if self.settings.use_team_queue else ""

    def attach(self, page: TeamPage, tabs: QTabWidget, index: int) -> None:
        """Connect ``page`` (tab ``index`` of ``tabs``): whenever it is shown or refreshed it
        shows the address Settings hold now, and loads."""

        def show() -> None:  # on the GUI thread (a widget's signal)
            page.set_address(self.url())
            self.refresh()

        show()
        page.refresh_requested.connect(show)
        page.action_requested.connect(self.act)
        page.cap_requested.connect(lambda tid, usd: self.act("resume", tid, usd))
        self.loaded.connect(page.set_batches)
        self.said.connect(page.show_message)
        page.failures_requested.connect(self.load_failures)
        self.failed_jobs.connect(page.show_failures)
        tabs.currentChanged.connect(lambda i: show() if i == index else None)

    def refresh(self) -> None:
        """Load the team's batches."""
        if self.url():
            self._on(self.host.submit(list_batches(self.url())), self.loaded.emit)

    def load_failures(self, tid: str) -> None:
        """Load why team batch ``tid``'s jobs failed."""
        if self.url():
            fut = self.host.submit(failures(self.url(), tid))
            self._on(fut, lambda got: self.failed_jobs.emit(tid, got))

    def act(self, action: str, tid: str, budget_usd: float | None = None) -> None:
        """Pause, resume (with ``budget_usd``: under that new cap), cancel or retry team batch
        ``tid``, then refresh."""
        if self.url():
            job = control(self.url(), tid, action, budget_usd)  # type: ignore[arg-type]
            fut = self.host.submit(job)
            self._on(fut, lambda text: (self.said.emit(text, False), self.refresh()))

    def _on(self, fut: concurrent.futures.Future[Any], done: Callable[[Any], Any]) -> None:
        # Runs on the engine thread: only signals cross back.
        def finished(f: concurrent.futures.Future[Any]) -> None:
            if f.cancelled():
                return
            e = f.exception()
            if e is not None:
                self.said.emit(str(e), True)
            else:
                done(f.result())

        fut.add_done_callback(finished)
