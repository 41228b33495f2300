"""A team batch the queue lost (its Redis restarted without persistence): the window says so
and offers what ``atelier resume --requeue`` / ``--here`` do, queue its unfinished jobs
again or make them on this machine."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from atelier.core.i18n import tr
from atelier.engine.runner import EngineThread
from atelier.store import Store
from atelier.team.control import take_back
from atelier.team.follow import TeamBatchLostError

Offer = Callable[[str, list[tuple[str, Callable[[], object]]]], None]
"""Shows a sentence with ``(label, callback)`` choices (the window's banner)."""


class LostBatches(QObject):
    """Catches a run that ended because the team queue lost its batch, offers the choice
    (``offer``: "Queue again" / "Make here"), takes the batch back
    (``atelier.team.control.take_back``, on the engine thread) and runs it again: on the queue it
    was on, or here.

    Args:
        host: the engine thread.
        store: the window's store.
        run: ``run(batch id, queue URL)`` starts a batch (``""``: here).
        offer: shows the sentence and the choices.
        report: shows an error (the take-back could not be done).

    Signals:
        lost(int, str): a batch and the sentence saying it was lost (crosses to the GUI thread).
    """

    lost = Signal(int, str)
    _back = Signal(int, str)
    _failed = Signal(str)

    def __init__(
        self,
        host: EngineThread,
        store: Store,
        run: Callable[[int, str], None],
        offer: Offer,
        report: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host, self.store, self.run, self.offer = host, store, run, offer
        self.lost.connect(self._offer)
        self._back.connect(self.run)
        self._failed.connect(report)

    def caught(self, error: BaseException | None) -> bool:
        """Whether ``error`` (a run's, on any thread) is a lost team batch, now offered."""
        if not isinstance(error, TeamBatchLostError):
            return False
        self.lost.emit(error.batch_id, str(error))
        return True

    def _offer(self, batch_id: int, message: str) -> None:
        text = " ".join(
            (
                message,
                tr(
                    "Put its unfinished jobs on the team queue again, or make them on this machine?"
                ),
            )
        )
        self.offer(
            text,
            [
                (tr("Queue again"), lambda: self.take_back(batch_id, requeue=True)),
                (tr("Make here"), lambda: self.take_back(batch_id, requeue=False)),
            ],
        )

    def take_back(self, batch_id: int, requeue: bool) -> None:
        """Take lost batch ``batch_id`` back, then run it on its queue again (``requeue``)
        or here."""
        fut = self.host.submit(take_back(self.store, batch_id))

        def done(f: concurrent.futures.Future[TeamBatchLostError]) -> None:
            # On the engine thread: only signals cross back.
            e = f.exception()
            if e is not None:
                self._failed.emit(str(e))
            else:
                self._back.emit(batch_id, f.result().url if requeue else "")

        fut.add_done_callback(done)
