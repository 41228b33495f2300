"""What the jobs of one provider share in a run (a lane), and what a run shares (``Run``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from atelier.core.events import EventBus, LaneWaiting
from atelier.core.models import JobSpec, RunSettings
from atelier.engine.ratelimit import (
    AdaptiveGate,
    LaneRates,
    SlidingWindowLimiter,
    parse_rate_headers,
)
from atelier.output.qa import HashIndex
from atelier.providers.base import Provider
from atelier.providers.economy import ECONOMY_TIMEOUT_S
from atelier.providers.registry import resolve_target
from atelier.store.deliveries import JobOutbox, Outbox

ECONOMY_IN_FLIGHT = 50_000
"""Jobs an economy lane holds at once: OpenAI's most lines in one provider batch."""


class SharedPacing(Protocol):
    """Pacing shared with other processes (the team queue's workers on one key:
    ``atelier.team.limits.SharedLimit``)."""

    async def acquire(self, images: int) -> None:
        """Return when a request of ``images`` images may go."""

    def hold(self, seconds: float) -> None:
        """Every process on the key waits ``seconds`` (a 429)."""

    def learn(self, rpm: float | None, ipm: float | None) -> None:
        """Every process on the key paces at these per-minute limits (learned from a
        response's ``x-ratelimit-limit-*`` headers; ``None``: not given)."""


class Lane:
    """Everything shared by the jobs of one provider in a run.

    Attributes:
        provider: the adapter instance (one connection pool per provider).
        concurrency: the most requests in flight (the run's setting, capped by the provider's
            ``max_concurrency``: BFL's 24 active tasks, A1111's one at a time); ``gate`` adapts
            below it.
        blocked_until: ``loop.time()`` before which nobody sends (429 + Retry-After, lockout).
        queue: pending job ids of this lane, in order.
        rates: the request and image pacing in force (user-set or learned).
        lockout_s: how long the provider locks a key out after a 429 (Stability: 60 s).
        rate_limited: 429s met so far.
        shared: pacing and 429 holds shared with other processes (team workers), on top of
            this lane's own.
        economy: the lane goes through the provider's batch API (``atelier.providers.economy``): every job
            waits at once, unpaced (the provider batch is paced by the provider), for up to a
            day.
    """

    def __init__(
        self,
        name: str,
        provider: Provider,
        concurrency: int,
        events: EventBus,
        rpm: int | None = None,
        ipm: int | None = None,
        economy: bool = False,
        shared: SharedPacing | None = None,
    ) -> None:
        caps = provider.capabilities
        self.name = name
        self.provider = provider
        self.economy = economy
        if economy:
            concurrency = ECONOMY_IN_FLIGHT
        elif provider.fixed_concurrency:
            concurrency = provider.fixed_concurrency
        self.concurrency = max(1, min(concurrency, caps.max_concurrency or concurrency))
        self.gate = AdaptiveGate(
            min(self.concurrency, max(caps.default_concurrency, 1)), self.concurrency
        )
        self.blocked_until = 0.0
        self.queue: deque[int] = deque()
        self.lockout_s = caps.rate_limit_lockout_s
        self._window = SlidingWindowLimiter(*caps.rate_limit) if caps.rate_limit else None
        self.rates = LaneRates(rpm, ipm)
        self.rate_limited = 0
        self.shared = shared
        self._events = events

    def block(self, seconds: float) -> None:
        """Hold every request of this lane for ``seconds``."""
        until = asyncio.get_running_loop().time() + seconds
        if until > self.blocked_until:
            self.blocked_until = until
            self._events.emit(LaneWaiting(self.name, seconds))

    async def wait(self) -> None:
        """Return once the lane is open (no 429 wait or lockout pending)."""
        loop = asyncio.get_running_loop()
        # A loop, not an Event: another 429 may push the deadline further while we sleep.
        while (delay := self.blocked_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def timeout_s(self, job_timeout_s: float) -> float:
        """How long one request may take: the job timeout, or a provider batch's window."""
        return ECONOMY_TIMEOUT_S if self.economy else job_timeout_s

    @contextlib.asynccontextmanager
    async def slot(self, images: int) -> AsyncIterator[None]:
        """Hold one request's place: lane open, a concurrency slot, and the request and image
        pacing (and a published window limit) allow it."""
        if self.economy:
            await self.wait()
            yield
            return
        await self.gate.acquire()
        try:
            # Wait out a 429 hold *before* taking a pacing slot: slots taken during a hold
            # would all be released at once when it ends, as a burst.
            await self.wait()
            await self.rates.acquire(images)
            if self._window is not None:
                await self._window.acquire()
            if self.shared is not None:
                await self.shared.acquire(images)
            yield
        finally:
            await self.gate.release()

    def on_success(self, latency_s: float, headers: dict[str, str]) -> None:
        """Learn from a good response: its ``x-ratelimit-*`` headers and its latency (s)."""
        hold = self.rates.learn(headers)
        if hold:
            self.block(hold)
        if self.shared is not None:
            info = parse_rate_headers(headers)
            self.shared.learn(info.limit_requests, info.limit_images)
            if hold:  # the key's bucket is empty for every process on it
                self.shared.hold(hold)
        self.gate.on_success(latency_s, self.rates.per_second())

    def on_rate_limited(self, wait_s: float | None) -> None:
        """A 429: the whole lane waits what the server asked (else the provider's lockout,
        else 1 s), and fewer requests go at once."""
        self.rate_limited += 1
        self.gate.on_rate_limited()
        hold = wait_s if wait_s is not None else (self.lockout_s or 1.0)
        self.block(hold)
        if self.shared is not None:
            self.shared.hold(hold)


@dataclass
class Run:
    """One run of a batch in this process.

    Attributes:
        unpaused: set while the run may start requests.
        stop_reason: why the run was cancelled (user, signal, timeout): unfinished jobs are
            cancelled with it (``stop_only_mine``: only the jobs this process holds).
        halt_reason: why the run starts no more jobs (budget cap, broken output folder): jobs
            not started stay pending.
        spent_usd: known spend so far; reserved_usd: worst-case cost of requests in flight.
    """

    batch_id: int
    settings: RunSettings
    out_dir: Path
    lanes: dict[str, Lane] = field(default_factory=dict)
    unpaused: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[Any] | None = None
    stop_reason: str | None = None
    stop_only_mine: bool = False
    halt_reason: str | None = None
    capped: bool = False
    """The halt is the budget cap's: raising the cap lets the batch go on."""
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    started_wall: str = ""
    started_mono: float = 0.0
    known_keys: set[str] = field(default_factory=set)
    """Image content keys the store holds (read at the start, grown as images are made)."""
    first_left_usd: float = 0.0
    """List price (USD) of the first makings not requested yet, kept only with ``qa_retry``
    and a spend cap: a re-make of a flagged image never takes cap room they need."""
    qa_index: HashIndex | None = None
    """The batch's perceptual hashes for near-duplicate checks (``atelier.output.qa``), read
    from the store at the first image saved."""
    makers: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    """Request key → done when the job making it ends: later jobs asking the same wait, then
    copy its images (``atelier.pricing.reuse``)."""
    outbox: Outbox | None = None
    """The deliveries an image of this run causes, written with it (``Store.add_image``)."""
    failed_outbox: JobOutbox | None = None
    """The deliveries a job failing for good causes, written with the move."""

    def job_target(self, spec: JobSpec) -> tuple[str, str]:
        """``(provider, model)`` of a job of this run (its own, else the batch's)."""
        s = self.settings
        return resolve_target(s.provider, s.model, spec.provider, spec.model)

    @property
    def ended_reason(self) -> str | None:
        """Why the run ended early, if it did."""
        return self.stop_reason or self.halt_reason
