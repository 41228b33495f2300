"""Keeping a provider lane at its real limit: pacing, adaptive concurrency, learned limits.

* ``Pacer``: spaces requests (or images) at a steady rate with the Generic Cell Rate Algorithm
  (ITU-T I.371): no burst beyond ``burst`` units, so a provider's token bucket is never emptied.
* ``SlidingWindowLimiter``: at most N per sliding window, for limits published that way
  (Stability: 150 per 10 s).
* ``LaneRates``: a lane's request and image pacers, learned from ``x-ratelimit-*`` headers.
* ``AdaptiveGate``: how many requests may be in flight. It halves on a 429 and grows slowly on
  success (AIMD, as TCP congestion control); when the rate is known it also grows to what
  Little's law says the rate needs (rate × latency), so slow responses do not starve the lane.

``parse_rate_headers`` reads the OpenAI-style ``x-ratelimit-*`` headers (shared/docs/
providers.md: limits are per minute; resets are durations like ``12ms`` or ``1m30s``).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass


class Pacer:
    """Spaces units at ``per_minute`` (``None``: no pacing), allowing bursts of ``burst`` units.

    It runs 0.2 % under the limit it is given, so that over a long batch our clock and the
    provider's never drift into a 429; arrival jitter is absorbed by the ``SLACK`` units a learned
    bucket is kept above empty (see ``learn_bucket``). 0.2 % costs 0.2 % of wall time; one 429
    costs a Retry-After.
    """

    MARGIN = 0.998
    SLACK = 1  # units left in a learned bucket: at 10/s, 100 ms of arrival jitter

    def __init__(self, per_minute: float | None = None, burst: int = 1) -> None:
        self.per_minute = per_minute
        self.burst = max(1, burst)
        self._tat = 0.0  # theoretical arrival time (loop clock)
        self._lock = asyncio.Lock()

    def set_rate(self, per_minute: float | None) -> None:
        """Change the rate (a learned or user-set limit)."""
        self.per_minute = per_minute

    def learn_bucket(self, remaining: int, reset_s: float) -> None:
        """Learn the provider's bucket from one response's ``x-ratelimit-remaining-*`` and
        ``-reset-*`` (seconds until full): at our rate it holds ``remaining + reset_s × rate``,
        rounded up since ``remaining`` is a whole number of a fractional level.

        The burst is set ``SLACK`` under it. The first time, the schedule is also aligned with
        the bucket: GCRA's theoretical arrival time is ``reset_s`` ahead, so what the bucket holds
        (less the slack) goes at once and the rest at the rate, and no burst is spent twice.
        """
        if not self.per_minute:
            return
        per_s = self.per_minute / 60
        capacity = math.ceil(remaining + reset_s * per_s - 1e-6)
        if capacity <= self.SLACK + 1:
            return
        first = self.burst == 1
        self.burst = capacity - self.SLACK
        if first:
            now = asyncio.get_running_loop().time()
            self._tat = max(self._tat, now + reset_s / self.MARGIN)

    async def acquire(self, units: int = 1) -> None:
        """Wait until ``units`` more fit in the rate, and count them."""
        if not self.per_minute:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            interval = 60.0 / (self.per_minute * self.MARGIN)
            tolerance = interval * (self.burst - 1)
            now = loop.time()
            if self._tat - tolerance > now:
                await asyncio.sleep(self._tat - tolerance - now)
                now = loop.time()
            self._tat = max(self._tat, now) + interval * units


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window_s`` seconds.

    A leaky bucket such as aiolimiter lets a full burst through and then keeps dripping, which
    exceeds a sliding window within seconds; this limiter never does. A 2 % margin absorbs
    clock skew between us and the server.
    """

    def __init__(self, limit: int, window_s: float, margin: float = 0.02) -> None:
        self.limit = limit
        self.window_s = window_s * (1 + margin)
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._times and self._times[0] <= now - self.window_s:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                await asyncio.sleep(self._times[0] + self.window_s - now)


class AdaptiveGate:
    """Requests in flight, between 1 and ``maximum``.

    Waiters queue in order and are handed a slot directly, as ``asyncio.Semaphore`` does, so
    growing the limit (a synchronous call from a response handler) admits them at once without
    creating a task.

    Attributes:
        limit: the current allowance (a float; ``int(limit)`` requests may be in flight).
        in_flight: requests holding a slot.
        latency_s: exponentially weighted mean response time, seconds.
    """

    def __init__(self, start: int, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(min(max(1, start), self.maximum))
        self.in_flight = 0
        self.latency_s: float | None = None
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        """Wait for a slot (first come, first served)."""
        if not self._waiters and self.in_flight < int(self.limit):
            self.in_flight += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # a slot was handed over: give it back
                self.in_flight -= 1
                self._admit()
            raise

    async def release(self) -> None:
        """Give a slot back."""
        self.in_flight -= 1
        self._admit()

    def _admit(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    def on_success(self, latency_s: float, rate_per_s: float | None) -> None:
        """Grow by about one slot per window of successes; with a known rate, jump to the
        concurrency that rate × latency needs (Little's law), doubled: latencies vary (a p95
        three times the median) and the pacer, not the gate, keeps the rate."""
        self.latency_s = (
            latency_s if self.latency_s is None else 0.8 * self.latency_s + 0.2 * latency_s
        )
        grown = self.limit + 1.0 / self.limit
        if rate_per_s:
            grown = max(grown, math.ceil(rate_per_s * self.latency_s * 2.0) + 1)
        self.limit = min(float(self.maximum), grown)
        self._admit()

    def on_rate_limited(self) -> None:
        """Halve (at least one stays)."""
        self.limit = max(1.0, self.limit / 2)


class LaneRates:
    """The request and image pacing of one lane: what the user set, tightened or loosened by
    what each response's ``x-ratelimit-*`` headers teach (never above the user's cap).

    Attributes:
        requests, images: the pacers in force.
    """

    def __init__(self, rpm: int | None = None, ipm: int | None = None) -> None:
        self._user_rpm, self._user_ipm = rpm, ipm
        self.requests = Pacer(rpm)
        self.images = Pacer(ipm)

    def learn(self, headers: dict[str, str]) -> float | None:
        """Learn from a good response's headers; returns the seconds the whole lane should
        hold because the provider's bucket is empty (``None``: no hold)."""
        info = parse_rate_headers(headers)
        if info.limit_requests:
            learned = float(info.limit_requests)
            self.requests.set_rate(min(learned, self._user_rpm) if self._user_rpm else learned)
        if info.limit_images:
            learned = float(info.limit_images)
            self.images.set_rate(min(learned, self._user_ipm) if self._user_ipm else learned)
        if info.remaining_requests is not None and info.reset_requests_s is not None:
            self.requests.learn_bucket(info.remaining_requests, info.reset_requests_s)
        if info.remaining_requests == 0 and info.reset_requests_s:
            # Empty bucket: one request's worth of refill, not the time until it is full.
            per_min = self.requests.per_minute
            return min(info.reset_requests_s, 60 / per_min) if per_min else info.reset_requests_s
        return None

    def per_second(self) -> float | None:
        """The pace in force, units per second (requests, else images; ``None``: unpaced)."""
        per_min = self.requests.per_minute or self.images.per_minute
        return per_min / 60 if per_min else None

    async def acquire(self, images: int) -> None:
        """Wait until one request of ``images`` images may go."""
        await self.requests.acquire(1)
        await self.images.acquire(images)


@dataclass(frozen=True)
class RateInfo:
    """What ``x-ratelimit-*`` headers say. Limits per minute; reset in seconds."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_images: int | None = None


def parse_rate_headers(headers: dict[str, str]) -> RateInfo:
    """Read ``x-ratelimit-{limit,remaining,reset}-requests`` (and ``-images`` where a server sends
    it); unreadable values are ignored."""
    from atelier.providers.http import parse_duration_s

    def num(key: str) -> int | None:
        v = headers.get(key)
        try:
            return int(float(v)) if v is not None else None
        except ValueError:
            return None

    reset = headers.get("x-ratelimit-reset-requests")
    return RateInfo(
        num("x-ratelimit-limit-requests"),
        num("x-ratelimit-remaining-requests"),
        parse_duration_s(reset) if reset else None,
        num("x-ratelimit-limit-images"),
    )
