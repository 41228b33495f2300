"""Benchmark 2: engine overhead against a bare httpx loop.

A zero-latency fake OpenAI server (its own process) returns ~1 KB images. Atelier runs N
images through the engine (store, events, validation, metadata and atomic file writes
included); then a bare ``httpx.AsyncClient`` loop sends the same N requests at the same
concurrency and only reads the JSON. Goal: Atelier's images/s ÷ the loop's requests/s ≥ 0.8.

    .venv/bin/python bench/engine_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import FAKE_KEY, fake_server, machine, peak_rss_mb

CONCURRENCY = 16
BODY = {"model": "gpt-image-2", "prompt": "tile", "size": "64x64", "quality": "low"}


async def atelier(base_url: str, n: int, home: Path) -> float:
    from app.engine import Engine
    from app.models import JobSpec, RunSettings
    from app.providers.registry import create_provider
    from app.store import Store

    store = Store(home / "s.db")
    rs = RunSettings(
        provider="openai", model="gpt-image-2", concurrency=CONCURRENCY, base_url=base_url
    )
    specs = [
        JobSpec(prompt=f"tile {i}", output_path=f"t{i:05d}.png", size="64x64", quality="low")
        for i in range(n)
    ]
    bid = store.create_batch(
        name="overhead",
        fingerprint="overhead",
        output_dir=home / "out",
        provider="openai",
        model="gpt-image-2",
        source="bench",
        settings=rs.model_dump(mode="json"),
        specs=specs,
        estimated_cost=None,
    )
    engine = Engine(
        store, lambda s: create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)
    )
    t0 = time.perf_counter()
    report = await engine.run(bid)
    wall = time.perf_counter() - t0
    assert report.succeeded == n, report.failed
    assert len(list((home / "out").glob("*.png"))) == n
    return n / wall


async def bare(base_url: str, n: int) -> float:
    sem = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as c:

        async def one(i: int) -> None:
            async with sem:
                r = await c.post(
                    f"{base_url}/images/generations",
                    json={**BODY, "prompt": f"bare {i}"},
                    headers={"Authorization": f"Bearer {FAKE_KEY}"},
                )
                r.raise_for_status()
                r.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="500 images instead of 5,000")
    args = ap.parse_args()
    n = 500 if args.quick else 5000
    print(f"machine: {machine()}")
    with fake_server() as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bare(url, 50))  # warm the server's threads and caches
        a = asyncio.run(atelier(url, n, Path(tmp)))
        b = asyncio.run(bare(url, n))
    ratio = a / b
    print(
        f"atelier: {a:7.1f} images/s ({n} images, concurrency {CONCURRENCY}, store + files included)"
    )
    print(f"bare   : {b:7.1f} requests/s (httpx.AsyncClient loop, same server and concurrency)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    print(
        f"SUMMARY engine_overhead: {a:.0f} img/s vs {b:.0f} req/s = {ratio:.2f} "
        f"(goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT MET'})"
    )


if __name__ == "__main__":
    main()
