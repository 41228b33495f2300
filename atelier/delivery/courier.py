"""The courier: drains a batch's outbox (``atelier.store.deliveries``) alongside its run, or on
its own (``atelier deliver``, "Retry deliveries", a pick after review).

One drain per batch and process. It sends due rows through each target's ``Sender`` within
the target's concurrency and pacing, records every attempt, schedules a retry with backoff
(``Delivery.backoff_s`` × 2ⁿ, at most ``max_backoff_s``; the target's ``Retry-After`` when
longer) or fails the row after ``max_attempts``. A failed delivery never touches its job or
image. Runs on the engine's event loop; emits ``DeliveryChanged``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from atelier.core.backoff import Backoff
from atelier.core.delivery_config import (
    CmsTarget,
    Delivery,
    S3Target,
    ShopifyTarget,
    SlackTarget,
    WebhookTarget,
    attempt_deadline_s,
    run_wait_s,
)
from atelier.core.errors import describe_exception
from atelier.core.events import DeliveryChanged, Event, EventBus, ImageSaved, JobChanged
from atelier.core.i18n import tr
from atelier.core.status import JobStatus
from atelier.delivery.base import DeliveryError, Sender, redact_for
from atelier.delivery.http_targets import CmsSender, SlackSender, WebhookSender
from atelier.delivery.plan import (
    batch_deliveries,
    delivery_of,
    parcel_for,
)
from atelier.delivery.s3 import S3Sender
from atelier.delivery.shopify_api import ShopifySender
from atelier.store import DeliveryRow, Store

log = logging.getLogger("atelier.delivery")

SenderFactory = Callable[[object, float], Sender]

_LEAVE_S = 5.0
"""How long a drain being left may take to wind down (close its connections)."""


def make_sender(target: object, timeout_s: float) -> Sender:
    """The sender of one target."""
    if isinstance(target, S3Target):
        return S3Sender(target, timeout_s)
    if isinstance(target, WebhookTarget):
        return WebhookSender(target, timeout_s)
    if isinstance(target, SlackTarget):
        return SlackSender(target, timeout_s)
    if isinstance(target, CmsTarget):
        return CmsSender(target, timeout_s)
    if isinstance(target, ShopifyTarget):
        return ShopifySender(target, timeout_s)
    raise TypeError(f"no sender for {type(target).__name__}")


@dataclass
class _Lane:
    sender: Sender
    gate: asyncio.Semaphore
    pace: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = 0.0


@dataclass
class _Drain:
    batch_id: int
    delivery: Delivery
    lanes: dict[str, _Lane]
    poke: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    """No more rows will come from a run: the drain ends once the outbox is settled."""
    inflight: set[int] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class Courier:
    """Drains outboxes for an ``Engine`` (see the module docstring).

    Args:
        store: the store holding the outbox.
        events: where ``DeliveryChanged`` goes.
        sender_factory: builds a target's sender (tests may count or wrap them).
    """

    def __init__(
        self, store: Store, events: EventBus, sender_factory: SenderFactory = make_sender
    ) -> None:
        self.store = store
        self.events = events
        self._make = sender_factory
        self._drains: dict[int, _Drain] = {}

    # ---- what a run tells it -----------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """The engine's events that cause deliveries: an image recorded, a job failed."""
        if isinstance(event, ImageSaved) and event.image_id:
            self.image_added(event.batch_id, event.image_id)
        elif isinstance(event, JobChanged) and event.status == JobStatus.FAILED:
            self.job_failed(event.batch_id, event.job_id)

    def begin(self, batch_id: int, run_tag: str, delivery: Delivery | None = None) -> None:
        """A run of ``batch_id`` starts: rows of a dead process are recovered, the start
        message is recorded, and a drain starts (an image's rows are written with it:
        ``atelier.delivery.plan.made_outbox``).
        ``delivery``: what to deliver, when not all the batch's (``atelier.team.split``)."""
        delivery = delivery or delivery_of(self.store, batch_id)
        if delivery is None:
            return
        drain = self._drain(batch_id, delivery, closing=False)
        self.store.add_deliveries(batch_id, batch_deliveries(delivery, "batch.started", run_tag))
        drain.poke.set()

    def image_added(self, batch_id: int, image_id: int) -> None:
        """An image was written and recorded, its rows with it (``made_outbox``): send them."""
        drain = self._drains.get(batch_id)
        if drain is not None and not drain.delivery.after_review:
            drain.poke.set()

    def job_failed(self, batch_id: int, job_id: int) -> None:
        """A job failed for good, its rows with it (``failed_outbox``): send them."""
        drain = self._drains.get(batch_id)
        if drain is not None:
            drain.poke.set()

    async def end(self, batch_id: int, run_tag: str) -> int:
        """The run's jobs are settled: record its end messages and wait until the outbox is
        (every row delivered or failed for good), but at most ``run_wait_s(delivery)``
        seconds: a target that never answers must not hold the run (its images are made).
        Then the drain stops and what is unfinished stays in the outbox as ``pending``, for
        ``atelier deliver`` or "Retry deliveries". Cancelled from outside (the window
        closes), the drain stops the same way. Returns how many rows are left unfinished."""
        drain = self._drains.get(batch_id)
        if drain is None:
            return 0
        self.store.add_deliveries(
            batch_id, batch_deliveries(drain.delivery, "batch.finished", run_tag)
        )
        drain.closing = True
        drain.poke.set()
        if drain.task is not None:
            wait_s = run_wait_s(drain.delivery)
            try:
                await asyncio.wait_for(asyncio.shield(drain.task), wait_s)
            except TimeoutError:
                log.warning(
                    "batch %s: deliveries still unfinished after %g s; left in the outbox",
                    batch_id,
                    wait_s,
                )
                await self._leave(drain)
            except asyncio.CancelledError:
                # Without awaiting: the app's shutdown cancels every task it finds next.
                self._put_back(drain)
                raise
        return self.store.unsettled_deliveries(batch_id)

    async def _leave(self, drain: _Drain) -> None:
        """Stop ``drain`` where it is: its calls in flight are abandoned (given a moment to
        close their connections) and their rows put back (``_put_back``)."""
        task = drain.task
        try:
            if task is not None and not task.done():
                task.cancel()
                # Its senders close within moments; a thread stuck in a call is not waited for.
                await asyncio.wait({task}, timeout=_LEAVE_S)
        finally:  # also when the app's shutdown cancels this wait
            self._put_back(drain)

    def _put_back(self, drain: _Drain) -> None:
        """Rows of ``drain``'s batch this process holds as ``sending`` go back to ``pending``
        at once (their calls are abandoned), so the report, the window and ``atelier
        deliver`` see them as the outbox's, not as in flight; the window is told."""
        held = [r for r in self.store.deliveries(drain.batch_id) if r.status == "sending"]
        if drain.task is not None:
            drain.task.cancel()
        self.store.recover_deliveries(drain.batch_id)
        now = {r.id: r for r in self.store.deliveries(drain.batch_id)}
        for r in held:
            back = now.get(r.id)
            if back is not None and back.status == "pending":
                self._emit(back, "pending", error=back.error)

    def abort(self, batch_id: int) -> None:
        """The run was cancelled from outside (the app quits): stop sending; rows in flight
        are recovered by the next drain."""
        drain = self._drains.get(batch_id)
        if drain is not None and drain.task is not None:
            drain.task.cancel()

    async def deliver(
        self, batch_id: int, retry_failed: bool = True, wait_s: float | None = None
    ) -> dict[str, int]:
        """Deliver what the outbox of ``batch_id`` holds, outside a run (``atelier deliver``,
        "Retry deliveries", picks after review); with ``retry_failed``, failed rows are tried
        again. Joins a drain already running. ``wait_s``: stop after that many seconds, what
        is unfinished left ``pending`` in the outbox (``None``: until the outbox is settled).
        Returns ``delivery_counts``."""
        delivery = delivery_of(self.store, batch_id)
        if delivery is None:
            return self.store.delivery_counts(batch_id)
        if retry_failed:
            self.store.retry_deliveries(batch_id)
        drain = self._drains.get(batch_id)
        if drain is None:
            drain = self._drain(batch_id, delivery, closing=True)
        drain.poke.set()
        if drain.closing and drain.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(drain.task), wait_s)
            except TimeoutError:
                await self._leave(drain)
        return self.store.delivery_counts(batch_id)

    # ---- draining ----------------------------------------------------------------------
    def _drain(self, batch_id: int, delivery: Delivery, closing: bool) -> _Drain:
        self.store.recover_deliveries(batch_id)
        lanes = {
            t.name: _Lane(s, asyncio.Semaphore(s.concurrency))
            for t in delivery.targets
            for s in [self._make(t, delivery.timeout_s)]
        }
        drain = _Drain(batch_id, delivery, lanes, closing=closing)
        self._drains[batch_id] = drain
        drain.task = asyncio.get_running_loop().create_task(self._run(drain))
        return drain

    async def _run(self, drain: _Drain) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                drain.poke.clear()
                for row in self.store.due_deliveries(drain.batch_id):
                    if row.id in drain.inflight:
                        continue
                    if row.target not in drain.lanes:
                        self._orphan(row)
                        continue
                    drain.inflight.add(row.id)
                    task = asyncio.create_task(self._send(drain, row))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if (
                    drain.closing
                    and not tasks
                    and not self.store.unsettled_deliveries(drain.batch_id)
                ):
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(drain.poke.wait(), self._sleep_for(drain))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._drains.get(drain.batch_id) is drain:
                del self._drains[drain.batch_id]
            for lane in drain.lanes.values():
                with contextlib.suppress(Exception):
                    await asyncio.shield(lane.sender.aclose())

    def _orphan(self, row: DeliveryRow) -> None:
        """A row whose target the batch no longer has (its settings changed) fails, so the
        outbox can settle."""
        attempt = self.store.claim_delivery(row.id)
        if attempt is not None:
            msg = tr("the batch no longer delivers to {target!r}").format(target=row.target)
            self.store.end_delivery(row.id, attempt, "failed", error=msg)
            self._emit(row, "failed", error=msg)

    def _sleep_for(self, drain: _Drain) -> float:
        nxt = self.store.next_delivery_at(drain.batch_id)
        if nxt is None:
            return 1.0
        return min(1.0, max(0.01, nxt - time.time()))

    async def _send(self, drain: _Drain, row: DeliveryRow) -> None:
        lane = drain.lanes[row.target]
        try:
            async with lane.gate:
                async with lane.pace:
                    wait = lane.last + lane.sender.min_interval_s - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    lane.last = time.monotonic()
                attempt = self.store.claim_delivery(row.id)
                if attempt is None:
                    return
                self._emit(row, "sending")
                await self._attempt(drain, lane, row, attempt)
                # Paced from the end of a call too: a slow call must not let the next one
                # arrive sooner than ``min_interval_s`` after it (Slack counts arrivals).
                lane.last = time.monotonic()
        finally:
            drain.inflight.discard(row.id)
            drain.poke.set()

    async def _attempt(self, drain: _Drain, lane: _Lane, row: DeliveryRow, attempt: int) -> None:
        d = drain.delivery
        try:
            # In a thread: a channel's rendition is decoded, fitted and encoded to make it.
            parcel = await asyncio.to_thread(parcel_for, self.store, row)
            # One deadline for the whole attempt: the clients' timeouts bound each read, so a
            # target sending a byte now and then would hold a call (and the run) for ever.
            deadline_s = attempt_deadline_s(d)
            try:
                async with asyncio.timeout(deadline_s):
                    url = await lane.sender.send(parcel)
            except TimeoutError as e:
                raise DeliveryError(
                    tr("delivery {name}: no complete answer within {seconds:g} s").format(
                        name=row.target, seconds=deadline_s
                    ),
                    retryable=True,
                ) from e
        except DeliveryError as e:
            error = redact_for(lane.sender, str(e))
            tries = row.attempts + 1
            if e.retryable and tries < d.max_attempts:
                pace = Backoff(d.backoff_s, d.max_backoff_s, retry_after_cap_s=d.max_backoff_s)
                delay = pace.delay(tries, e.retry_after_s)
                status = "pending"
            else:
                delay, status = 0.0, "failed"
            self.store.end_delivery(
                row.id,
                attempt,
                status,
                error=error,
                http_status=e.http_status,
                next_at=time.time() + delay,
            )
            log.warning("delivery %s to %s: %s (%s)", row.id, row.target, error, status)
            self._emit(row, status, error=error)
            return
        except Exception as e:  # the image or job is gone, a bad file, a bug: the row fails
            log.exception("delivery %s to %s failed unexpectedly", row.id, row.target)
            msg = redact_for(lane.sender, describe_exception(e))
            self.store.end_delivery(row.id, attempt, "failed", error=msg)
            self._emit(row, "failed", error=msg)
            return
        # What is recorded and shown passes the redaction of errors, with this target's own
        # secrets (a token in the address's query, percent-encoded there).
        url = redact_for(lane.sender, url) if url else url
        self.store.end_delivery(row.id, attempt, "delivered", url=url)
        self._emit(row, "delivered", url=url)

    def _emit(
        self, row: DeliveryRow, status: str, url: str | None = None, error: str | None = None
    ) -> None:
        self.events.emit(
            DeliveryChanged(row.batch_id, row.job_id, row.image_id, row.target, status, url, error)
        )
