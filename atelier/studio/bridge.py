"""The one QObject between the engine's event stream and the views.

Engine events arrive on the engine's thread at any rate; ``__call__`` only appends them to a
locked queue. Every 100 ms the GUI thread drains it and emits a few coalesced signals, so
10,000 updates a second cost the window a handful of repaints and never a lock held by Qt.

Everything it emits is typed: the engine's own event objects, and ``JobUpdate`` (a job's
newest ``JobChanged`` and progress since the last flush).

Signals:
    jobs_changed(object): ``dict[int, JobUpdate]``, job id → what changed, coalesced.
    images_saved(object): the ``ImageSaved`` events since the last flush.
    batch_started(object), batch_finished(object): those events, in order after the job updates.
    state_changed(int, str): batch id, running/paused/cancelling/halted.
    lane_waiting(str, float): provider, seconds held after a 429.
    economy_waiting(int, str): batch id, "waiting for OpenAI · submitted 14:02 · 120/300 done".
    deliveries_changed(object): the ``DeliveryChanged`` events since the last flush.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from atelier.core.events import (
    BatchFinished,
    BatchStarted,
    BatchStateChanged,
    DeliveryChanged,
    EconomyWaiting,
    Event,
    ImageSaved,
    JobChanged,
    JobProgress,
    LaneWaiting,
)


@dataclass
class JobUpdate:
    """What changed for one job since the last flush.

    Attributes:
        change: its newest ``JobChanged`` (``None``: only progress changed).
        progress: the request's progress (0–1) after that change, if any was reported.
        duration_ms: the newest duration any of the coalesced changes carried.
    """

    change: JobChanged | None = None
    progress: float | None = None
    duration_ms: int | None = None


class EngineBridge(QObject):
    jobs_changed = Signal(object)
    images_saved = Signal(object)
    batch_started = Signal(object)
    batch_finished = Signal(object)
    state_changed = Signal(int, str)
    lane_waiting = Signal(str, float)
    economy_waiting = Signal(int, str)
    deliveries_changed = Signal(object)

    def __init__(self, parent: QObject | None = None, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: list[Event] = []
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def stop(self) -> None:
        """The window closed: no more flushes, and what is queued is dropped (its views and
        its store are going; a flush after them read a closed store)."""
        self._timer.stop()
        with self._lock:
            self._queue.clear()

    def __call__(self, ev: Event) -> None:
        """EventBus subscriber, called on the engine's thread: queue only."""
        with self._lock:
            self._queue.append(ev)

    def flush(self) -> None:
        """Drain the queue on the GUI thread and emit what it held, in order."""
        with self._lock:
            events, self._queue = self._queue, []
        jobs: dict[int, JobUpdate] = {}
        images: list[ImageSaved] = []
        deliveries: list[DeliveryChanged] = []

        def emit_pending() -> None:
            if jobs:
                self.jobs_changed.emit(dict(jobs))
                jobs.clear()
            if images:
                self.images_saved.emit(list(images))
                images.clear()
            if deliveries:
                self.deliveries_changed.emit(list(deliveries))
                deliveries.clear()

        for ev in events:
            if isinstance(ev, JobChanged):
                before = jobs.get(ev.job_id)
                kept = before.duration_ms if before is not None else None
                # A new status clears the progress; a duration outlives a later change without one.
                jobs[ev.job_id] = JobUpdate(
                    ev, None, ev.duration_ms if ev.duration_ms is not None else kept
                )
            elif isinstance(ev, JobProgress):
                jobs.setdefault(ev.job_id, JobUpdate()).progress = ev.fraction
            elif isinstance(ev, ImageSaved):
                images.append(ev)
            elif isinstance(ev, DeliveryChanged):
                deliveries.append(ev)
            elif isinstance(ev, BatchStarted):
                emit_pending()
                self.batch_started.emit(ev)
            elif isinstance(ev, BatchFinished):
                emit_pending()
                self.batch_finished.emit(ev)
            elif isinstance(ev, BatchStateChanged):
                self.state_changed.emit(ev.batch_id, ev.state)
            elif isinstance(ev, LaneWaiting):
                self.lane_waiting.emit(ev.provider, ev.seconds)
            elif isinstance(ev, EconomyWaiting):
                self.economy_waiting.emit(ev.batch_id, ev.describe())
        emit_pending()
