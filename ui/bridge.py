"""The one QObject between the engine's event stream and the views.

Engine events arrive on the GUI thread (qasync) at any rate; they are only queued here and
flushed every 100 ms as a few coalesced signals, so 10,000 updates a second cost the window
a handful of repaints.

Signals:
    jobs_changed(dict): job id → changed fields (status, attempts, cost, …), coalesced.
    images_saved(list): ``ImageSaved`` events since the last flush.
    batch_finished(object): the ``BatchFinished`` event.
    state_changed(int, str): batch id, running/paused/cancelling.
    lane_waiting(str, float): provider, seconds held after a 429.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.events import (
    BatchFinished,
    BatchStarted,
    BatchStateChanged,
    Event,
    ImageSaved,
    JobChanged,
    LaneWaiting,
)


class EngineBridge(QObject):
    jobs_changed = Signal(object)
    images_saved = Signal(object)
    batch_started = Signal(object)
    batch_finished = Signal(object)
    state_changed = Signal(int, str)
    lane_waiting = Signal(str, float)

    def __init__(self, parent: QObject | None = None, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self._jobs: dict[int, dict[str, Any]] = {}
        self._images: list[ImageSaved] = []
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def __call__(self, ev: Event) -> None:
        """EventBus subscriber: queue, never touch widgets here."""
        if isinstance(ev, JobChanged):
            self._jobs.setdefault(ev.job_id, {}).update(
                status=ev.status,
                attempts=ev.attempts,
                error=ev.error,
                error_type=ev.error_type,
                cost=ev.cost,
                retry_in_s=ev.retry_in_s,
                **({"duration_ms": ev.duration_ms} if ev.duration_ms is not None else {}),
            )
        elif isinstance(ev, ImageSaved):
            self._images.append(ev)
        elif isinstance(ev, BatchFinished):
            self.flush()
            self.batch_finished.emit(ev)
        elif isinstance(ev, BatchStarted):
            self.flush()
            self.batch_started.emit(ev)
        elif isinstance(ev, BatchStateChanged):
            self.state_changed.emit(ev.batch_id, ev.state)
        elif isinstance(ev, LaneWaiting):
            self.lane_waiting.emit(ev.provider, ev.seconds)

    def flush(self) -> None:
        """Emit what was queued since the last flush."""
        if self._jobs:
            jobs, self._jobs = self._jobs, {}
            self.jobs_changed.emit(jobs)
        if self._images:
            images, self._images = self._images, []
            self.images_saved.emit(images)
