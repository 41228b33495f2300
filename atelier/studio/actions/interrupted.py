"""Batches that stopped without finishing, offered back by the window: the newest one a crash
or a quit interrupted (at start, its spreadsheet opened again) and a team batch the queue
lost (``atelier.studio.team_lost``: queue it again or make it here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from atelier.store import BatchRow
from atelier.studio.team_lost import LostBatches
from atelier.studio.widgets.banner import startup_notices

if TYPE_CHECKING:
    from atelier.studio.main_window import MainWindow

SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""A batch whose source has one of these was made from a spreadsheet (not a batch config)."""


class InterruptedBatches(QObject):
    """What ``win`` offers about its batches that stopped without finishing.

    Attributes:
        lost: catches a run that ended because the team queue lost its batch.
    """

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
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
        startup_notices(w.banner, w.store, w.resume_batch, w.open_batch, self.reopen_sheet_of)

    def reopen_sheet_of(self, b: BatchRow) -> None:
        """An interrupted batch offered at start: its spreadsheet opens again (the template is
        the one last used) and its output folder is the batch page's, so Start continues it."""
        source = Path(b.source) if b.source else None
        if source is None or source.suffix.lower() not in SHEET_SUFFIXES or not source.is_file():
            return
        if self.win.load_spreadsheet(source):
            self.win.batch.output_edit.setText(str(b.output_dir))

    def _run_again(self, batch_id: int, queue_url: str) -> None:
        """A team batch the queue lost, taken back: on the queue again, or here (``""``),
        where this machine's keys pay: a paid batch without a cap asks first (the spend
        question, priced on what is left), and a no leaves it paused."""
        if queue_url == "" and not self.win.spending.resume_agreed(batch_id):
            return
        self.win.open_batch(batch_id)
        self.win.run_batch(batch_id, queue_url=queue_url)

    def _offer_lost(self, text: str, choices: list[tuple[str, Callable[[], object]]]) -> None:
        """The team queue lost a batch: the banner offers the choices, the Team page says it."""
        self.win.banner.show_message(text, "warning", choices)
        self.win.team.show_message(text, error=True)
        self.win._update_actions()  # the run has ended (paused)
