"""Acceptance (issue 16): 3 ``atelier worker`` processes on a real redis-server, 300 jobs, one
worker SIGKILLed mid-batch; and Redis restarted mid-batch (AOF on). Each worker has its own
AUTOMATIC1111 fake (its "GPU"), reached through its own environment."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.store import Store
from atelier.team.follow import Follower, submit_batch
from atelier.team.queue import TeamQueue, stream_of
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.framework import FakeServer
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, start_worker


@pytest.fixture
def gpus() -> Iterator[list[FakeServer]]:
    fakes = [FakeServer(A1111Dialect, api_key=None).start() for _ in range(3)]
    for f in fakes:
        f.dialect.work_s = 0.03  # type: ignore[attr-defined]
        f.script(["work"] * 1000)
    yield fakes
    for f in fakes:
        f.stop()


def _batch(tmp_path: Path, n: int) -> tuple[Store, int]:
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="a1111", model="current")
    specs = [
        JobSpec(prompt=f"job-{i:03d}", output_path=f"j{i:03d}.png", size="64x64") for i in range(n)
    ]
    return store, store_batch(store, rs, specs, tmp_path / "out")


def _workers(url: str, tmp_path: Path, gpus: list[FakeServer]) -> list[subprocess.Popen[str]]:
    return [
        start_worker(
            url,
            tmp_path / f"worker{i}",
            {"ATELIER_A1111_BASE_URL": g.url},
            "--providers",
            "a1111",
            "--concurrency",
            "1",
            "--visibility-timeout",
            "2",
        )
        for i, g in enumerate(gpus)
    ]


def _stop(procs: list[subprocess.Popen[str]]) -> list[str]:
    outs = []
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        outs.append(out + err)
    return outs


def _made(gpus: list[FakeServer]) -> Counter[str]:
    made: Counter[str] = Counter()
    for g in gpus:
        made.update(e.prompt for e in g.requests() if e.prompt)
    return made


def _completed_events(server: RedisServer, tid: str) -> Counter[str]:
    entries = server.client().xrange(f"atelier:events:{tid}")
    kinds = [json.loads(f[b"outcome"])["kind"] for _, f in entries]
    return Counter(
        f[b"job"].decode() for (_, f), k in zip(entries, kinds, strict=True) if k == "completed"
    )


async def _wait_done(q: TeamQueue, tid: str, count: int, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while (await q.batch(tid)).done < count:
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_worker_killed_mid_batch(
    tmp_path: Path, redis_server: RedisServer, gpus: list[FakeServer]
) -> None:
    store, bid = _batch(tmp_path, 300)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    follower = asyncio.create_task(Follower(q, store, bid).follow())
    procs = _workers(redis_server.url, tmp_path, gpus)
    try:
        await _wait_done(q, tid, 100)
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        # What the killed worker held: taken by it, never acknowledged.
        consumers = redis_server.client().xinfo_consumers(stream_of("a1111"), "workers")
        held = sum(c["pending"] for c in consumers if f":{victim.pid}:" in c["name"].decode())
        result = await asyncio.wait_for(follower, 120)
    finally:
        outs = _stop(procs)
    made = _made(gpus)
    twice = sum(n - 1 for n in made.values() if n > 1)
    print(f"in flight at the kill: {held}; made twice: {twice}")
    assert result.completed == 300, outs
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    assert len(list((tmp_path / "out").glob("*.png"))) == 300
    assert set(made) == {f"job-{i:03d}" for i in range(300)}  # every image made
    assert twice <= held <= 1  # only what was in flight at the kill was made again
    completed = _completed_events(redis_server, tid)
    assert len(completed) == 300 and set(completed.values()) == {1}  # completed once each
    # The survivors say what they took over: at least what the dead worker held.
    taken = sum(int(m) for o in outs[1:] for m in re.findall(r"(\d+) taken over", o))
    assert taken >= held
    await q.aclose()


@pytest.mark.slow
async def test_redis_restarted_mid_batch(
    tmp_path: Path, redis_server: RedisServer, gpus: list[FakeServer]
) -> None:
    store, bid = _batch(tmp_path, 150)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    follower = asyncio.create_task(Follower(q, store, bid).follow())
    procs = _workers(redis_server.url, tmp_path, gpus)
    try:
        await _wait_done(q, tid, 50)
        await asyncio.to_thread(redis_server.restart, 1.0)
        result = await asyncio.wait_for(follower, 120)
    finally:
        outs = _stop(procs)
    assert result.completed == 150, outs
    assert all(p.returncode == 0 for p in procs), outs  # reconnected, never crashed
    assert set(_made(gpus)) == {f"job-{i:03d}" for i in range(150)}
    completed = _completed_events(redis_server, tid)
    assert len(completed) == 150 and set(completed.values()) == {1}
    await q.aclose()
