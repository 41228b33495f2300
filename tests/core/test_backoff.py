"""The one backoff rule (``atelier.core.backoff``): its delays, and the retry and poll loops."""

from __future__ import annotations

import asyncio
import random

import pytest

from atelier.core.backoff import Backoff, poll, retry
from atelier.core.errors import ErrorClass, ProviderError


def test_delays_grow_to_their_cap_and_a_retry_after_wins() -> None:
    b = Backoff(0.5, 3.0)
    assert [b.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert b.delay(1, retry_after_s=7.5) == 7.5  # what the server asked, past the cap
    assert Backoff(0.5, 3.0, retry_after_cap_s=4.0).delay(1, retry_after_s=60) == 4.0
    assert Backoff(2.0, 300.0, factor=1.5).delay(3) == pytest.approx(4.5)
    assert Backoff(1.0, 1.0, factor=1.0).delay(50) == 1.0


def test_full_jitter_draws_below_the_cap_from_the_given_source() -> None:
    b = Backoff(0.1, 1.0, jitter=True)
    waits = [b.delay(4, rng=random.Random(7)) for _ in range(3)]
    assert waits[0] == waits[1] == waits[2] == random.Random(7).uniform(0, 0.8)
    many = [b.delay(10, rng=random.Random(i)) for i in range(200)]
    assert all(0 <= w <= 1.0 for w in many) and max(many) - min(many) > 0.5
    assert b.delay(2, retry_after_s=5.0, rng=random.Random(1)) == 5.0


def _flaky(errors: list[Exception], answer: str = "ok") -> tuple[list[float], object]:
    """A call that raises ``errors`` in turn, then returns ``answer``; the loop times of its calls."""
    calls: list[float] = []

    async def call() -> str:
        calls.append(asyncio.get_running_loop().time())
        if errors:
            raise errors.pop(0)
        return answer

    return calls, call


async def test_retry_waits_between_tries_and_honours_retry_after() -> None:
    busy = ProviderError(ErrorClass.SERVER_ERROR, "busy", retry_after_s=0.2)
    calls, call = _flaky([ProviderError(ErrorClass.NETWORK, "down"), busy])
    got = await retry(call, Backoff(0.05, 1.0), tries=3, when=lambda e: True)  # type: ignore[arg-type]
    assert got == "ok" and len(calls) == 3
    assert calls[1] - calls[0] >= 0.05 and calls[2] - calls[1] >= 0.2


async def test_retry_gives_up_on_a_refused_error_on_the_last_try_and_at_the_deadline() -> None:
    calls, call = _flaky([ValueError("not retried")])
    with pytest.raises(ValueError):
        await retry(call, Backoff(0.01, 0.01), tries=5, when=lambda e: isinstance(e, OSError))  # type: ignore[arg-type]
    assert len(calls) == 1
    calls, call = _flaky([OSError("a"), OSError("b"), OSError("c")])
    with pytest.raises(OSError, match="b"):
        await retry(call, Backoff(0.01, 0.01), tries=2, when=lambda e: True)  # type: ignore[arg-type]
    assert len(calls) == 2
    calls, call = _flaky([OSError("a"), OSError("b")])
    with pytest.raises(OSError, match="a"):  # the wait would end past the deadline: no sleep
        await retry(call, Backoff(5.0, 5.0), tries=3, when=lambda e: True, deadline_s=1.0)  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_poll_calls_until_a_value_then_stops_at_its_deadline() -> None:
    seen: list[int] = []

    async def step() -> int | None:
        seen.append(len(seen))
        return 42 if len(seen) == 3 else None

    assert await poll(step, Backoff(0.01, 0.01)) == 42 and len(seen) == 3

    async def never() -> None:
        return None

    with pytest.raises(TimeoutError):
        await poll(never, Backoff(0.02, 0.02), deadline_s=0.1)
