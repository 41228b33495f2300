"""The window's side of delivery: the outbox's changes shown in the progress table, the
gallery and the progress page's delivery line; "Retry deliveries"; picks delivered at once.
Deliveries themselves run on the engine's loop (``atelier.delivery.courier``)."""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from atelier.core.errors import describe_exception
from atelier.core.events import DeliveryChanged
from atelier.core.i18n import tr
from atelier.delivery.target_states import States, TargetState, counts_text
from atelier.studio.actions.shell import Shell
from atelier.studio.pages.gallery import GalleryPage
from atelier.studio.pages.progress import ProgressPage


class DeliveryWindow(Shell, Protocol):
    """What delivery uses of the window besides the ``Shell``: the two pages that show the
    deliveries' states."""

    progress: ProgressPage
    gallery: GalleryPage


class DeliveryActions(QObject):
    """Delivery for ``win``'s open batch (``apply`` takes the bridge's
    ``deliveries_changed``).

    Signals:
        delivered(int, object): a batch id and its ``{status: rows}`` once ``send`` finished
            (emitted from the engine's thread, received on the GUI thread).
        failed(str): ``send`` stopped with an unexpected error.
    """

    delivered = Signal(int, object)
    failed = Signal(str)

    def __init__(self, win: DeliveryWindow) -> None:
        super().__init__(win.window())
        self.win = win
        self._batch: States = {}
        self.delivered.connect(self._done)
        self.failed.connect(
            lambda text: win.report_error(tr("Delivery stopped: {reason}").format(reason=text))
        )

    def show_batch(self, batch_id: int) -> None:
        """A batch was opened: its own messages' states (Slack, ``batch.finished``) and the
        delivery line."""
        self._batch = {
            r.target: TargetState(r.status, r.url, r.error)
            for r in self.win.store.batch_messages(batch_id)
        }
        self._refresh()

    def apply(self, events: list[DeliveryChanged]) -> None:
        """The outbox's changes since the last flush, for the batch on screen."""
        w = self.win
        mine = [e for e in events if e.batch_id == w.batch_id]
        if not mine:
            return
        w.progress.jobs_model.update_deliveries(mine)
        w.gallery.gallery_model.update_deliveries(mine)
        for e in mine:
            if e.job_id is None:
                self._batch[e.target] = TargetState(e.status, e.url, e.error)
        self._refresh()

    def retry(self) -> None:
        """ "Retry deliveries": failed deliveries of the open batch are tried again and what
        is waiting is sent now."""
        if self.win.batch_id is None:
            return
        self.send(self.win.batch_id, retry_failed=True)
        self.win.statusBar().showMessage(tr("Delivering again…"), 5000)

    def send(self, batch_id: int, retry_failed: bool = False) -> None:
        """Send what the outbox of ``batch_id`` holds (a pick just recorded its deliveries)
        on the engine's loop; nothing happens for a batch without delivery."""
        fut = self.win.host.submit(self.win.engine.deliver(batch_id, retry_failed))

        def finished(f: Any) -> None:  # on the engine's thread: only a signal crosses
            if f.cancelled():
                return
            if f.exception() is not None:
                self.failed.emit(describe_exception(f.exception()))
            else:
                self.delivered.emit(batch_id, f.result())

        fut.add_done_callback(finished)

    def _done(self, batch_id: int, counts: dict[str, int]) -> None:
        if batch_id == self.win.batch_id and any(counts.values()):
            self._refresh()
            if counts.get("failed"):
                self.win.statusBar().showMessage(
                    tr("{count} deliveries failed: the Delivery column says why.").format(
                        count=counts["failed"]
                    ),
                    10_000,
                )

    def _refresh(self) -> None:
        w = self.win
        if w.batch_id is None:
            return
        w.progress.delivery_label.setText(
            counts_text(w.store.delivery_counts(w.batch_id), self._batch)
        )
