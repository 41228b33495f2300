"""Benchmark 1: a batch at the provider's rate limit, Atelier against a hand-written script.

Two fake OpenAI servers (separate processes) each enforce 600 images per minute (token bucket
of 10 by default, 429 + retry-after) with log-normal latency (median 1 s, p95 3 s). Atelier runs
N images on one; the script a designer would write (a thread pool of 4, 3 tries with 2**n +
jitter second waits, no shared rate state) runs the same N on the other, at the same time. The
floor is N / 10 per second. Goal for Atelier: ≤ 1.05 × floor and no failed job.

It also prints what a perfect client would take on Atelier's server: the bucket's burst at once,
then exactly the refill rate, each request taking the latency the server drew for it. That is
the least any client can take (the last image still has to come back), so it shows how much of
Atelier's time is Atelier's.

    .venv/bin/python -m bench.rate_limit [--quick] [--burst N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import FAKE_KEY, fake_server, machine, stats
from tests.support.batches import store_batch

IPM = 600
BURST = 10  # the fake's token bucket: one second of refill, as OpenAI quantizes per-minute limits


def script_baseline(base_url: str, n: int, out: Path, result: dict[str, float]) -> None:
    """What people write: 4 threads, 3 tries, 2**n + jitter waits, nothing shared."""
    failed = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal failed
        with httpx.Client(timeout=60) as c:
            for attempt in range(3):
                r = c.post(
                    f"{base_url}/images/generations",
                    headers={"Authorization": f"Bearer {FAKE_KEY}"},
                    json={
                        "model": "gpt-image-1.5",
                        "prompt": f"script {i}",
                        "size": "1024x1024",
                        "quality": "low",
                    },
                )
                if r.status_code == 200:
                    (out / f"s{i}.json").write_bytes(r.content[:100])
                    return
                time.sleep(2**attempt + random.random())
        with lock:
            failed += 1

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(n)))
    result.update(wall=time.monotonic() - t0, failed=failed)


async def atelier(base_url: str, n: int, home: Path) -> tuple[float, float, int]:
    from atelier.core.models import JobSpec, RunSettings
    from atelier.engine.engine import Engine
    from atelier.providers.registry import create_provider
    from atelier.store import Store

    store = Store(home / "s.db")
    rs = RunSettings(provider="openai", model="gpt-image-1.5", concurrency=48, base_url=base_url)
    specs = [
        JobSpec(prompt=f"atelier {i}", output_path=f"a{i:04d}.png", quality="low") for i in range(n)
    ]
    bid = store_batch(store, rs, specs, home / "out", name="bench")
    engine = Engine(
        store, lambda s: create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)
    )
    t0 = time.monotonic()
    report = await engine.run(bid)
    return t0, time.monotonic() - t0, report.failed + report.cancelled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="60 images instead of 300")
    ap.add_argument(
        "--burst", type=int, default=BURST, help=f"the fake's token bucket size (default {BURST})"
    )
    args = ap.parse_args()
    burst = args.burst
    n = 60 if args.quick else 300
    floor = n / (IPM / 60)
    print(f"machine: {machine()}")
    print(
        f"{n} images at {IPM} images/min (token bucket of {burst}), latency log-normal median 1 s "
        f"p95 3 s; floor {floor:.0f} s"
    )
    fake_args = ("--ipm", str(IPM), "--burst", str(burst), "--lognormal", "1,3")
    with (
        fake_server(*fake_args) as a_url,
        fake_server(*fake_args) as s_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp)
        (home / "script").mkdir()
        base: dict[str, float] = {}
        t = threading.Thread(target=script_baseline, args=(s_url, n, home / "script", base))
        t.start()
        t0, wall, failed = asyncio.run(atelier(a_url, n, home))
        t.join()
        a_stats, s_stats = stats(a_url), stats(s_url)
    print(
        f"atelier: {wall:6.1f} s = {wall / floor:.3f} × floor, {a_stats['rate_limited']} × 429 of "
        f"{a_stats['requests']} requests, {failed} failed"
    )
    arrivals = [a for a, _ in a_stats["accepted"]]
    perfect = float(a_stats["perfect_s"])
    print(
        f"atelier pacing: first request at the server {arrivals[0] - t0:.2f} s after start, last "
        f"{arrivals[-1] - t0:.2f} s (a perfect client: {(n - burst) / (IPM / 60):.2f} s)"
    )
    print(
        f"perfect client on this server (burst of {burst} at once, then exactly {IPM / 60:g}/s, same "
        f"latencies): {perfect:.1f} s = {perfect / floor:.3f} × floor; atelier = "
        f"{wall / perfect:.3f} × the perfect client"
    )
    print(
        f"script : {base['wall']:6.1f} s = {base['wall'] / floor:.3f} × floor, {s_stats['rate_limited']} × 429 of "
        f"{s_stats['requests']} requests, {int(base['failed'])} failed"
    )
    ok = wall <= 1.05 * floor and failed == 0
    print(
        f"SUMMARY rate_limit: atelier {wall / floor:.3f}x floor ({failed} failed, {a_stats['rate_limited']} 429s; "
        f"a perfect client {perfect / floor:.3f}x) vs "
        f"script {base['wall'] / floor:.2f}x floor ({int(base['failed'])} failed, {s_stats['rate_limited']} 429s); "
        f"goal <= 1.05x: {'met' if ok else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
