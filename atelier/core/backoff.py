"""The one backoff rule: how long to wait before the next try of anything Atelier tries again.

``Backoff.delay`` is the rule itself (capped exponential, optionally with full jitter, never
shorter than what the server asked for); ``retry`` and ``poll`` are the in-call loops built on
it (a result's download, a remote job's or a provider batch's polling). Retries that outlive a
call (a job's, a delivery's) are persisted by their owners (``atelier.engine.jobrun``,
``atelier.delivery.courier``), which ask ``Backoff.delay`` only for the wait.

Why not a library: ``tenacity`` (the well-kept one; ``backoff`` has had no release since
2022, ``stamina`` wraps tenacity) builds waits from a ``RetryCallState`` inside its own loop,
so the persisted retries, which need only "the wait before retry n", could not share it; it
has no notion of a server's ``Retry-After``, its jitter draws from the global ``random``
(tests seed ours), and its deadline stops before a sleep instead of refusing a sleep that
would end past it. The rule and both loops fit in this module.

Full jitter: AWS Architecture Blog, "Exponential Backoff And Jitter" (Marc Brooker, 2015).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Waits (seconds) before try ``n + 1``: ``base_s × factor^(n-1)``, at most ``max_s``.

    Attributes:
        base_s: the first wait.
        max_s: the longest wait the rule itself gives.
        factor: growth per retry (1: a fixed interval).
        jitter: draw the wait uniformly from ``[0, that]`` ("full jitter"), so many clients
            that failed together do not retry together.
        retry_after_cap_s: the longest server-asked wait honoured (``math.inf``: any).
    """

    base_s: float
    max_s: float
    factor: float = 2.0
    jitter: bool = False
    retry_after_cap_s: float = math.inf

    def delay(
        self, retry: int, retry_after_s: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds before retry number ``retry`` (1-based); never shorter than
        ``retry_after_s`` (the server's ``Retry-After``, up to ``retry_after_cap_s``).
        ``rng``: the jitter's source (default: the module's)."""
        cap = min(self.max_s, self.base_s * self.factor ** max(0, retry - 1))
        wait = (rng or random).uniform(0, cap) if self.jitter else cap
        return max(wait, min(retry_after_s or 0.0, self.retry_after_cap_s))


def retry_after_of(e: BaseException) -> float | None:
    """The wait an error says its server asked for (``retry_after_s`` of ``ProviderError``
    and ``DeliveryError``), else ``None``."""
    value = getattr(e, "retry_after_s", None)
    return float(value) if isinstance(value, int | float) else None


async def retry(
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    tries: int,
    when: Callable[[Exception], bool],
    deadline_s: float | None = None,
    rng: random.Random | None = None,
) -> T:
    """``await call()`` until it returns, at most ``tries`` times, waiting ``backoff``
    between tries (and what an error's ``retry_after_s`` asks).

    Raises:
        Exception: the last error of ``call``; at once when ``when(error)`` is false, or
            when the next wait would end more than ``deadline_s`` seconds after the start.
    """
    loop = asyncio.get_running_loop()
    end = None if deadline_s is None else loop.time() + deadline_s
    for n in range(1, tries + 1):
        try:
            return await call()
        except Exception as e:
            wait = backoff.delay(n, retry_after_of(e), rng)
            if n == tries or not when(e) or (end is not None and loop.time() + wait > end):
                raise
        await asyncio.sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")


async def poll(
    step: Callable[[], Awaitable[T | None]],
    backoff: Backoff,
    *,
    deadline_s: float | None = None,
    rng: random.Random | None = None,
) -> T:
    """``await step()`` until it returns a value, waiting ``backoff`` between calls; errors
    of ``step`` propagate (a step that tolerates some catches them and returns ``None``).
    Cancelling the task stops it.

    Raises:
        TimeoutError: no value within ``deadline_s`` seconds.
    """
    async with asyncio.timeout(deadline_s):
        n = 0
        while (result := await step()) is None:
            n += 1
            await asyncio.sleep(backoff.delay(n, rng=rng))
        return result
