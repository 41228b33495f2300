"""The engine's typed event stream, consumed by the window and by the command line alike."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from atelier.core.i18n import tr
from atelier.core.models import BatchReport


@dataclass(frozen=True)
class BatchStarted:
    """A run of batch ``batch_id`` began; ``pending`` jobs will be worked on."""

    batch_id: int
    total: int
    pending: int


@dataclass(frozen=True)
class JobChanged:
    """A job's stored state changed.

    Attributes:
        status: pending, running, waiting, completed, failed or cancelled.
        attempts: requests sent for this job so far.
        cost: USD spent on it (``None`` = partly unknown).
        duration_ms: wall time of its last processing.
        retry_in_s: for ``waiting``: seconds until the next attempt.
        qa_remade_usd: the part of ``cost`` (USD) paid for images made again because the
            quality checks flagged them (``--qa-retry``), in this run.
    """

    batch_id: int
    job_id: int
    status: str
    attempts: int
    error: str | None = None
    error_type: str | None = None
    cost: float | None = 0.0
    duration_ms: int | None = None
    retry_in_s: float | None = None
    qa_remade_usd: float = 0.0


@dataclass(frozen=True)
class JobProgress:
    """Progress (0–1) of a running job's request, from providers that report it
    (AUTOMATIC1111's ``/sdapi/v1/progress``, ComfyUI's websocket, queue positions)."""

    batch_id: int
    job_id: int
    fraction: float


@dataclass(frozen=True)
class ImageSaved:
    """An image file was written (``thumb`` is its cached thumbnail, if made)."""

    batch_id: int
    job_id: int
    sample_index: int
    path: str
    thumb: str | None
    version: int = 1
    image_id: int = 0
    qa_flags: tuple[str, ...] = ()
    """What the quality checks on save flagged (``atelier.output.qa.FLAGS``); empty: passed."""


@dataclass(frozen=True)
class LaneWaiting:
    """A provider lane holds all requests for ``seconds`` (after a 429 with Retry-After)."""

    provider: str
    seconds: float


@dataclass(frozen=True)
class EconomyWaiting:
    """A provider batch (economy mode) was submitted or polled: ``state`` is the provider's
    word, ``done``/``total`` its lines (``done`` ``None`` while the provider does not tell),
    ``submitted_at`` an ISO time in UTC."""

    batch_id: int
    provider: str
    remote_id: str
    submitted_at: str
    state: str
    done: int | None
    total: int

    def describe(self) -> str:
        """``"waiting for OpenAI · submitted 14:02 · 120/300 done"`` (local time)."""
        when = self.submitted_at
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(when).astimezone().strftime("%H:%M")
        done = (
            tr("{done}/{total} done").format(done=self.done, total=self.total)
            if self.done is not None
            else tr("{total} sent").format(total=self.total)
        )
        return tr("waiting for {provider} · submitted {when} · {done}").format(
            provider=self.provider, when=when, done=done
        )


@dataclass(frozen=True)
class BatchStateChanged:
    """Running, paused, cancelling…"""

    batch_id: int
    state: str


@dataclass(frozen=True)
class BatchFinished:
    """The run ended (all done, cancelled or timed out); ``report`` is what was written."""

    batch_id: int
    report: BatchReport
    reason: str | None = None
    capped: bool = False
    """The run stopped at the batch's budget cap (``reason`` says so): a higher cap resumes it."""


@dataclass(frozen=True)
class DeliveryChanged:
    """An outbox row moved (``atelier.store.deliveries``): ``status`` is ``delivered``,
    ``pending`` (a retry is scheduled), ``sending`` or ``failed``; ``url`` what the target
    gave back; ``job_id`` ``None`` for a batch's own messages."""

    batch_id: int
    job_id: int | None
    image_id: int | None
    target: str
    status: str
    url: str | None = None
    error: str | None = None


Event = (
    BatchStarted
    | DeliveryChanged
    | JobChanged
    | JobProgress
    | ImageSaved
    | LaneWaiting
    | EconomyWaiting
    | BatchStateChanged
    | BatchFinished
)


@dataclass
class EventBus:
    """Synchronous fan-out: subscribers run on the engine's event-loop thread and must be quick
    (the window's adapter only queues and coalesces)."""

    subscribers: list[Callable[[Event], None]] = field(default_factory=list)

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """Add ``fn``; returns a function that removes it."""
        self.subscribers.append(fn)
        return lambda: self.subscribers.remove(fn)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber."""
        for fn in list(self.subscribers):
            fn(event)
