"""Pacing, learned buckets and adaptive concurrency, on the real event-loop clock."""

from __future__ import annotations

import asyncio

from atelier.engine.ratelimit import AdaptiveGate, Pacer, SlidingWindowLimiter, parse_rate_headers


async def _send_times(pacer: Pacer, n: int) -> list[float]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    out = []
    for _ in range(n):
        await pacer.acquire()
        out.append(loop.time() - t0)
    return out


async def test_pacer_spaces_units_at_the_rate_and_a_little_under() -> None:
    times = await _send_times(Pacer(per_minute=3000), 11)  # 20 ms apart
    assert times[0] < 0.005
    # Never ahead of the schedule (a late wake-up is not made up for with a burst either).
    assert all(t >= i * 0.02 - 0.001 for i, t in enumerate(times)), times
    assert 10 * 0.02 / Pacer.MARGIN - 0.001 <= times[-1] < 0.25  # 20 ms apart, not faster


async def test_pacer_lets_a_burst_through_then_paces() -> None:
    times = await _send_times(Pacer(per_minute=3000, burst=5), 8)
    assert max(times[:5]) < 0.005
    assert times[5] >= 0.02 and times[7] >= 0.06


async def test_unpaced_pacer_never_waits() -> None:
    times = await _send_times(Pacer(None), 50)
    assert times[-1] < 0.01


async def test_learned_bucket_spends_what_it_holds_less_the_slack_then_paces() -> None:
    # The fake's headers after 10 requests at 600/min and ~0.39 s: 3.9 tokens, full in 0.61 s.
    pacer = Pacer(per_minute=600)
    pacer.learn_bucket(remaining=3, reset_s=0.61)
    assert pacer.burst == 10 - Pacer.SLACK  # 3 + 6.1 rounds up to the bucket's 10
    times = await _send_times(pacer, 4)
    # 3.9 held, 1 kept as slack: two now, the third when the 0.9 has become 1.0, then 100 ms.
    assert max(times[:2]) < 0.005
    assert 0.005 < times[2] < 0.06
    assert 0.1 <= times[3] < 0.16  # then one per 100 ms, on the schedule


async def test_bucket_capacity_rounds_up_a_fractional_level() -> None:
    pacer = Pacer(per_minute=600)
    pacer.learn_bucket(remaining=0, reset_s=0.997)  # 0.03 tokens held
    assert pacer.burst == 10 - Pacer.SLACK


def test_a_tiny_or_unpaced_bucket_teaches_nothing() -> None:
    unpaced = Pacer(None)
    unpaced.learn_bucket(remaining=50, reset_s=10)
    assert unpaced.burst == 1
    tiny = Pacer(per_minute=60)
    tiny.learn_bucket(remaining=0, reset_s=1.5)  # a bucket of 2
    assert tiny.burst == 1


async def test_sliding_window_never_exceeds_its_limit() -> None:
    window = SlidingWindowLimiter(5, 0.1, margin=0.0)
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(12):
        await window.acquire()
        times.append(loop.time())
    for i in range(len(times)):
        in_window = [t for t in times if times[i] <= t < times[i] + 0.1]
        assert len(in_window) <= 5
    assert times[-1] - times[0] >= 0.2  # 12 through a 5-per-100-ms window: three windows


async def test_gate_halves_on_429_and_grows_to_what_the_rate_needs() -> None:
    gate = AdaptiveGate(start=8, maximum=64)
    gate.on_rate_limited()
    assert gate.limit == 4
    for _ in range(5):
        gate.on_rate_limited()
    assert gate.limit == 1  # at least one request may always go
    gate.on_success(latency_s=1.0, rate_per_s=None)
    assert 1 < gate.limit <= 2.5  # slowly, without a known rate
    gate.on_success(latency_s=1.0, rate_per_s=10.0)
    # Little's law: 10/s × ~1 s in flight, doubled for latency spread.
    assert 20 <= gate.limit <= 23
    for _ in range(50):
        gate.on_success(latency_s=30.0, rate_per_s=10.0)
    assert gate.limit == 64  # never past the maximum
    await asyncio.sleep(0)


async def test_gate_holds_requests_beyond_its_limit() -> None:
    gate = AdaptiveGate(start=2, maximum=2)
    await gate.acquire()
    await gate.acquire()
    third = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0.01)
    assert not third.done() and gate.in_flight == 2
    await gate.release()
    await asyncio.wait_for(third, 1)
    assert gate.in_flight == 2


def test_rate_headers_read_durations_and_ignore_garbage() -> None:
    info = parse_rate_headers(
        {
            "x-ratelimit-limit-requests": "600",
            "x-ratelimit-remaining-requests": "7",
            "x-ratelimit-reset-requests": "1m30s",
        }
    )
    assert (info.limit_requests, info.remaining_requests, info.reset_requests_s) == (600, 7, 90.0)
    assert parse_rate_headers({"x-ratelimit-reset-requests": "12ms"}).reset_requests_s == 0.012
    bad = parse_rate_headers({"x-ratelimit-limit-requests": "lots"})
    assert bad.limit_requests is None


async def test_gate_growth_admits_a_waiter_without_a_stray_task() -> None:
    """Growing the gate wakes a waiter directly: no task the event loop could drop before it
    ran (asyncio keeps only weak references to tasks)."""
    gate = AdaptiveGate(start=1, maximum=4)
    await gate.acquire()
    second = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    assert not second.done()
    tasks_before = len(asyncio.all_tasks())
    gate.on_success(latency_s=1.0, rate_per_s=10.0)  # the limit grows past 1
    assert len(asyncio.all_tasks()) == tasks_before
    await asyncio.wait_for(second, 1.0)
    assert gate.in_flight == 2


async def test_gate_slot_handed_to_a_cancelled_waiter_is_not_lost() -> None:
    gate = AdaptiveGate(start=1, maximum=1)
    await gate.acquire()
    waiter = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    await gate.release()  # hands the slot to the waiter…
    waiter.cancel()  # …which is cancelled before it runs
    await asyncio.gather(waiter, return_exceptions=True)
    assert gate.in_flight == 0
    await asyncio.wait_for(gate.acquire(), 1.0)
