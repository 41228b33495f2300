"""Batches that stopped without finishing, offered back by the window: the newest one a crash
or a quit interrupted (at start, its spreadsheet opened again) and a team batch the queue
lost (``atelier.studio.team_lost``: queue it again or make it here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject

from atelier.engine import controller
from atelier.store import BatchRow
from atelier.studio.actions.shell import Runs, Shell
from atelier.studio.actions.spending import Agreed, SpendActions
from atelier.studio.pages.batch import BatchPage
from atelier.studio.pages.team import TeamPage
from atelier.studio.tasks import when_done
from atelier.studio.team_lost import LostBatches
from atelier.studio.widgets.banner import Banner, startup_notices

SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""A batch whose source has one of these was made from a spreadsheet (not a batch config)."""


class InterruptedWindow(Shell, Runs, Protocol):
    """What the interrupted batches use of the window besides the ``Shell``: the banner and
    the Team page that say so, the batch page (an output folder), spending (the question
    before a batch is resumed or made here) and opening a spreadsheet."""

    banner: Banner
    team: TeamPage
    batch: BatchPage
    spending: SpendActions

    def load_spreadsheet(self, path: Path) -> asyncio.Future[Any] | None:
        """Import ``path`` into the spreadsheet page (the task's result: imported or not)."""
        ...


class InterruptedBatches(QObject):
    """What ``win`` offers about its batches that stopped without finishing.

    Attributes:
        lost: catches a run that ended because the team queue lost its batch.
    """

    def __init__(self, win: InterruptedWindow) -> None:
        super().__init__(win.window())
        self.win = win
        # A method of this object (it lives on the GUI thread): a batch taken back on the
        # engine thread runs again from the GUI thread.
        self.lost = LostBatches(
            win.host, win.store, self._run_again, self._offer_lost, win.report_error, self
        )

    def offer_at_start(self) -> None:
        """What the studio says when it starts (``startup_notices``): the newest interrupted
        batch, offered for resume, its spreadsheet opened again."""
        w = self.win
        startup_notices(w.banner, w.store, self.resume, w.open_batch, self.reopen_sheet_of)

    def resume(self, batch_id: int, agreed: Agreed | None = None) -> asyncio.Future[Any] | None:
        """Resume a stored batch (``controller.resume_batch`` says what that resets, in a
        store op). A paid batch without a spend cap asks first (``SpendActions.resume_agreed``);
        one with a cap goes on under the cap the user agreed to (``agreed``: the question was
        just answered). Returns the store op (``None``: nothing to do)."""
        w = self.win
        if w.host.is_running(batch_id):
            return None
        yes = agreed or w.spending.resume_agreed(batch_id)
        if yes is None:
            return None

        def resume() -> None:  # the store-op thread
            w.spending.store_cap(yes)
            controller.resume_batch(w.store, batch_id)

        def resumed(_: None) -> None:
            w.spending.agreed(yes)
            if w.host.is_running(batch_id):  # resumed twice before the first op ended
                return
            w.open_batch(batch_id)
            w.spending.watch_prices(batch_id)
            w.run_batch(batch_id)

        return w.ops.run(resume, resumed)

    def reopen_sheet_of(self, b: BatchRow) -> None:
        """An interrupted batch offered at start: its spreadsheet opens again (the template is
        the one last used) and its output folder is the batch page's, so Start continues it."""
        source = Path(b.source) if b.source else None
        if source is None or source.suffix.lower() not in SHEET_SUFFIXES or not source.is_file():
            return
        w = self.win

        def imported(ok: bool) -> None:
            if ok:
                w.batch.output_edit.setText(str(b.output_dir))

        when_done(w.load_spreadsheet(source), imported)

    def _run_again(self, batch_id: int, queue_url: str) -> None:
        """A team batch the queue lost, taken back: on the queue again, or here (``""``),
        where this machine's keys pay: a paid batch without a cap asks first (the spend
        question, priced on what is left), and a no leaves it paused."""
        w = self.win
        yes = Agreed(batch_id) if queue_url else w.spending.resume_agreed(batch_id)
        if yes is None:
            return

        def run(_: None) -> None:
            w.spending.agreed(yes)
            w.open_batch(batch_id)
            w.run_batch(batch_id, queue_url=queue_url)

        w.ops.run(lambda: w.spending.store_cap(yes), run)

    def _offer_lost(self, text: str, choices: list[tuple[str, Callable[[], object]]]) -> None:
        """The team queue lost a batch: the banner offers the choices, the Team page says it."""
        self.win.banner.show_message(text, "warning", choices)
        self.win.team.show_message(text, error=True)
        self.win.update_actions()  # the run has ended (paused)
