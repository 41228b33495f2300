"""Benchmark: the team queue's workers (issue 16), on a real redis-server.

1. Self-hosted farm on the queue: 1, 2 and 4 ``atelier worker`` processes, each with its own
   fake AUTOMATIC1111 backend (one job at a time, 1 s per image). Goal: N workers' throughput
   within 5 % of N × one backend's (measured in the same run with one worker).
2. One key, two machines: two workers against a fake enforcing 600 images/min (token bucket,
   429 + retry-after, its own process), against one machine running the same batch locally on
   another such fake. Goal: no 429 storm, wall time within 5 % of the one-machine figure.

    .venv/bin/python -m bench.workers [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from atelier.core.models import JobSpec, LaneLimits, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.store import Store
from atelier.team.follow import Follower, submit_batch
from atelier.team.queue import TeamQueue
from bench.common import FAKE_KEY, fake_server, machine, stats
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.framework import FakeServer
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, start_worker

IPM = 600


def _specs(n: int, size: str = "64x64") -> list[JobSpec]:
    return [JobSpec(prompt=f"job {i}", output_path=f"j{i:04d}.png", size=size) for i in range(n)]


async def _queue_run(
    url: str, tmp: Path, rs: RunSettings, n: int, worker_envs: list[dict[str, str]], *args: str
) -> float:
    """Wall time (s) from submission to the last image recorded on the submitting machine,
    with one ``atelier worker`` process per ``worker_envs`` started (and ready) before."""
    procs = [start_worker(url, tmp / f"w{i}", env, *args) for i, env in enumerate(worker_envs)]
    try:
        for p in procs:  # "Worker … on …": its groups exist, it is reading
            assert p.stdout is not None
            p.stdout.readline()
        store = Store(tmp / "submitter.db")
        bid = store_batch(
            store, rs, _specs(n, "1024x1024" if rs.provider == "openai" else "64x64"), tmp / "out"
        )
        q = TeamQueue.open(url)
        t0 = time.perf_counter()
        await submit_batch(q, store, bid)
        result = await Follower(q, store, bid).follow()
        wall = time.perf_counter() - t0
        await q.aclose()
        assert result.completed == n, result
        return wall
    finally:
        for p in procs:
            p.terminate()
            p.communicate(timeout=30)


async def farm(quick: bool) -> float:
    per_worker = 3 if quick else 10
    print(f"1. self-hosted backends on the queue (1 s per image, {per_worker} images per worker)")
    one, ratio = 0.0, 0.0
    for n in (1, 2, 4):
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            (tmp / "redis").mkdir()
            server = RedisServer(tmp / "redis").start()
            gpus = [FakeServer(A1111Dialect, api_key=None).start() for _ in range(n)]
            for g in gpus:
                g.dialect.work_s = 1.0  # type: ignore[attr-defined]
                g.script(["work"] * 1000)
            try:
                rs = RunSettings(provider="a1111", model="current")
                envs = [{"ATELIER_A1111_BASE_URL": g.url} for g in gpus]
                jobs = per_worker * n
                wall = await _queue_run(
                    server.url, tmp, rs, jobs, envs, "--providers", "a1111", "--concurrency", "1"
                )
            finally:
                for g in gpus:
                    g.stop()
                server.stop()
        rate = jobs / wall
        one = one or rate
        ratio = rate / (n * one)
        print(
            f"   {n} worker(s): {jobs} images in {wall:.2f} s = {rate:.3f} images/s; "
            f"{ratio:.3f} × {n} × one backend (goal ≥ 0.95)"
        )
    return ratio


async def shared_key(quick: bool) -> tuple[float, int]:
    n = 40 if quick else 150
    print(f"2. one key at {IPM} images/min: {n} images, one machine against two workers")
    rs = RunSettings(
        provider="openai",
        model="gpt-image-1",
        concurrency=8,
        rate_limits={"openai": LaneLimits(ipm=IPM)},
    )
    with tempfile.TemporaryDirectory() as d, fake_server("--ipm", str(IPM)) as local_url:
        tmp = Path(d)
        store = Store(tmp / "local.db")
        bid = store_batch(
            store,
            rs.model_copy(update={"base_url": local_url}),
            _specs(n, "1024x1024"),
            tmp / "local",
        )
        os.environ["OPENAI_API_KEY"] = FAKE_KEY  # this process is the one machine
        t0 = time.perf_counter()
        report = await Engine(store, make_provider_factory(Settings())).run(bid)
        local_wall = time.perf_counter() - t0
        local_429 = stats(local_url)["rate_limited"]
        assert report.succeeded == n
    with tempfile.TemporaryDirectory() as d, fake_server("--ipm", str(IPM)) as team_url:
        tmp = Path(d)
        (tmp / "redis").mkdir()
        server = RedisServer(tmp / "redis").start()
        try:
            env = {"OPENAI_API_KEY": FAKE_KEY, "ATELIER_OPENAI_BASE_URL": team_url}
            team_wall = await _queue_run(
                server.url, tmp, rs, n, [env, env], "--providers", "openai", "--concurrency", "4"
            )
        finally:
            server.stop()
        team_429 = stats(team_url)["rate_limited"]
    print(f"   one machine: {local_wall:.2f} s, {local_429} × 429")
    print(
        f"   two workers: {team_wall:.2f} s, {team_429} × 429; "
        f"{team_wall / local_wall:.3f} × the one-machine time (goal ≤ 1.05)"
    )
    return team_wall / local_wall, int(team_429)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images (CI keeps it from rotting)")
    a = ap.parse_args()
    print(machine())
    farm_ratio = asyncio.run(farm(a.quick))
    key_ratio, key_429 = asyncio.run(shared_key(a.quick))
    met = farm_ratio >= 0.95 and key_ratio <= 1.05 and key_429 == 0
    print(
        f"SUMMARY workers: 4 backends {farm_ratio:.3f} × 4 × one (goal ≥ 0.95); two workers on "
        f"one key {key_ratio:.3f} × one machine (goal ≤ 1.05), {key_429} × 429: "
        f"{'met' if met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
