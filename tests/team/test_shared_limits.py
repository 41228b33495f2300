"""One limit for all (issue 16): workers on one key share its rate limit, its 429 holds and a
batch's budget cap through Redis. The workers run in this process but share nothing in
memory: each has its own store, engine, lanes and connection."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, LaneLimits, RunSettings
from atelier.core.status import JobStatus
from atelier.store import Store
from atelier.team.follow import submit_batch
from atelier.team.limits import SharedBudget, SharedLimit
from atelier.team.queue import TeamQueue
from atelier.team.worker import Worker
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI, TokenBucket
from tests.support.batches import store_batch
from tests.support.cli import run_cli
from tests.support.redis import RedisServer, made_by


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    return fake_openai


async def _run(
    url: str, tmp_path: Path, settings: RunSettings, n: int, workers: int = 2
) -> tuple[Store, int, str, list[Worker]]:
    store = Store(tmp_path / "submitter.db")
    specs = [
        JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="1024x1024", quality="low")
        for i in range(n)
    ]
    bid = store_batch(store, settings, specs, tmp_path / "out")
    q = TeamQueue.open(url)
    tid = await submit_batch(q, store, bid)
    ws = [
        Worker(TeamQueue.open(url), ["openai"], 4, 10.0, home=tmp_path / f"w{i}")
        for i in range(workers)
    ]
    await made_by(q, store, bid, ws, 90)
    for w in ws:
        await w.q.aclose()
    await q.aclose()
    return store, bid, tid, ws


async def test_two_workers_keep_to_one_key_limit(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    bucket = TokenBucket(per_minute=600, burst=2)
    openai_env.dialect.bucket = bucket  # type: ignore[attr-defined]
    rs = RunSettings(
        provider="openai",
        model="gpt-image-1",
        concurrency=4,
        rate_limits={"openai": LaneLimits(ipm=600)},
    )
    store, bid, _, ws = await _run(redis_server.url, tmp_path, rs, 40)
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    assert all(w.stats.completed for w in ws)  # both worked
    # Each worker alone paces at 600/min: only a shared limit keeps the two together at it.
    # No 429 storm: at most the odd one when network jitter bunches two requests on a busy
    # machine (without the shared limit: dozens, 37 of 40 when measured).
    assert openai_env.dialect.rate_limited <= 2  # type: ignore[attr-defined]
    arrivals = sorted(t for t, _ in openai_env.dialect.accepted)  # type: ignore[attr-defined]
    worst = max(sum(1 for t in arrivals if a <= t < a + 1.0) for a in arrivals)
    assert worst <= 10 + 2  # 600/min in any second, plus the bucket's burst
    # The key never travelled: not in any write Redis logged (its append-only file).
    written = b"".join(p.read_bytes() for p in redis_server.dir.rglob("*") if p.is_file())
    assert b"sk-" not in written and FAKE_KEY.encode() not in written
    assert b"atelier:gcra:openai:" in written  # (the AOF does hold the queue's writes)


@pytest.mark.slow
async def test_a_limit_learned_from_headers_paces_every_worker(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    """No limit set: the provider's ``x-ratelimit-limit-requests`` is learned by whichever
    worker hears it first and paces every worker on the key, new ones from their first
    request."""
    bucket = TokenBucket(per_minute=600, burst=2)
    dialect = openai_env.dialect  # type: ignore[attr-defined]
    dialect.bucket = bucket
    rs = RunSettings(provider="openai", model="gpt-image-1", concurrency=4)
    store, bid, _, _ = await _run(redis_server.url, tmp_path / "first", rs, 30)
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    r = redis_server.client()
    (learned,) = list(r.scan_iter("atelier:learned:openai:*"))
    assert r.hget(learned, "requests") == b"600" and 0 < r.ttl(learned) <= 3600
    # The first requests went before anything was known (at most the workers' concurrency).
    assert dialect.rate_limited <= 2 * 4
    dialect.rate_limited = 0
    dialect.accepted.clear()
    store, bid, _, _ = await _run(redis_server.url, tmp_path / "second", rs, 40)
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    # New workers, new lanes: paced from their first request by what the others learned.
    assert dialect.rate_limited <= 2
    arrivals = sorted(t for t, _ in dialect.accepted)
    assert max(sum(1 for t in arrivals if a <= t < a + 1.0) for a in arrivals) <= 10 + 2


async def test_a_429_holds_every_worker_on_the_key(redis_server: RedisServer) -> None:
    q = TeamQueue.open(redis_server.url)
    a = SharedLimit(q.r, "openai", "sk-one")
    b = SharedLimit(TeamQueue.open(redis_server.url).r, "openai", "sk-one")
    other = SharedLimit(q.r, "openai", "sk-two")
    a.hold(0.6)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await other.acquire(1)  # another key is not held
    assert loop.time() - t0 < 0.3
    await b.acquire(1)
    assert loop.time() - t0 >= 0.45
    assert b"sk-one" not in b"".join(redis_server.client().keys("*"))  # keys never in Redis
    await b.r.aclose()
    await q.aclose()


async def test_a_budget_cap_across_workers_is_never_exceeded(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    cap = 0.011 * 5.5  # gpt-image-1, low, 1024×1024: $0.011 (atelier/pricing/table.py): five fit
    rs = RunSettings(provider="openai", model="gpt-image-1", concurrency=4, budget_usd=cap)
    store, bid, tid, _ = await _run(redis_server.url, tmp_path, rs, 20)
    q = TeamQueue.open(redis_server.url)
    spent = await SharedBudget(q.r, tid).spent()
    local = sum(j.cost or 0 for j in store.jobs(bid))
    done = [j for j in store.jobs(bid) if j.status == JobStatus.COMPLETED]
    state, reason = await q.state(tid)
    assert 0 < spent <= cap and local <= cap + 1e-9
    assert 5 <= len(done) < 20 and state == "halted" and "$0.06" in reason
    assert store.batch(bid).unfinished == 20 - len(done)  # the rest waits, resumable
    await q.aclose()


async def test_a_raised_cap_lets_a_halted_batch_go_on(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    cap = 0.011 * 3.5  # three fit
    rs = RunSettings(provider="openai", model="gpt-image-1", concurrency=4, budget_usd=cap)
    store, bid, tid, _ = await _run(redis_server.url, tmp_path, rs, 10)
    q = TeamQueue.open(redis_server.url)
    assert (await q.state(tid))[0] == "halted"
    before = sum(1 for j in store.jobs(bid) if j.status == JobStatus.COMPLETED)
    url = redis_server.url
    wrong = await asyncio.to_thread(run_cli, "queue", "pause", tid, "--queue", url, "--budget", "1")
    assert wrong.code == 2 and "--budget" in wrong.err and "Traceback" not in wrong.err
    r = await asyncio.to_thread(run_cli, "queue", "resume", tid, "--queue", url, "--budget", "1")
    assert r.code == 0, r.err
    assert (await q.batch(tid)).settings.budget_usd == 1.0
    # The same workers' kind: each remembered the old cap, and reads the new one when it stops.
    w = Worker(TeamQueue.open(url), ["openai"], 4, 10.0, home=tmp_path / "w0")
    w._batches[tid] = dataclasses.replace(await q.batch(tid), settings=rs)  # the old cap
    result = await made_by(q, store, bid, [w])
    assert before < 10 and result.state == "finished" and store.batch(bid).unfinished == 0
    assert await SharedBudget(q.r, tid).spent() <= 1.0
    await q.aclose()
