"""The team queue survives hostile or lost state (issue 27 §3), against a real redis-server:

- malformed entries on a job stream are set aside on the dead-letter stream with their reason
  (at the first read and at a take-over) and never hold back the valid jobs read with them;
- a malformed event is skipped with a warning by the follower (``atelier resume``);
- a team batch lost with a Redis restarted without persistence is said in a sentence, the
  local batch left paused, and ``atelier resume --requeue`` / ``--here`` make it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from atelier.core import paths
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import BatchStatus, JobStatus
from atelier.store import Store
from atelier.team.follow import Follower, submit_batch
from atelier.team.queue import GROUP, TeamQueue, image_key, stream_of
from atelier.team.worker import Worker
from tests.support.batches import store_batch
from tests.support.record import record
from tests.support.redis import REPO, RedisServer

STREAM = stream_of("draft")
DEAD = "atelier:dead"  # the dead-letter stream (atelier.team.queue.DEAD)


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_LANGUAGE", "en")  # the tests read the CLI's sentences


def _batch(store: Store, tmp_path: Path, n: int, name: str = "t") -> int:
    rs = RunSettings(provider="draft", model="draft")
    specs = [
        JobSpec(prompt=f"{name} {i}", output_path=f"{name}{i}.png", size="64x64") for i in range(n)
    ]
    return store_batch(store, rs, specs, tmp_path / f"out-{name}", name=name, fingerprint=name)


def _bad_entries(tid: str) -> list[dict[Any, Any]]:
    """Entries no worker can make, of every kind a hostile or broken client writes."""
    return [
        {"batch": tid, "job": "900"},  # no spec
        {"batch": tid, "job": "901", "spec": "oops"},  # not JSON
        {"batch": tid, "job": "902", "spec": json.dumps({"prompt": 5})},  # not a job
        {"batch": tid, "job": "x", "spec": "{}"},  # not a job number
        {b"\xff\xfe": b"\xfa", "spam": "1"},  # nothing readable, no batch
        {"batch": "../../etc", "job": "1", "spec": "{}"},  # not a batch id
    ]


def _interleave(r: Any, tid: str) -> int:
    """Put the bad entries between the batch's valid ones on the stream (the group made again
    from the start), so a worker reads them together; returns how many name ``tid``."""
    valid = r.xrange(STREAM)
    r.delete(STREAM)
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    bad = _bad_entries(tid)
    for i, (_, fields) in enumerate(valid):
        r.xadd(STREAM, fields)
        if bad and i % 2 == 0:
            r.xadd(STREAM, bad.pop(0))
    for rest in bad:
        r.xadd(STREAM, rest)
    return sum(1 for e in _bad_entries(tid) if e.get("batch") == tid)


async def _made_within(
    q: TeamQueue, store: Store, bid: int, url: str, tmp_path: Path, seconds: float
) -> int:
    """Run two workers (visibility timeout 1 s) and the follower of ``bid`` for at most
    ``seconds``, until the batch is made and no entry of its stream is pending; returns how
    many of the batch's jobs are still not completed."""
    stop = asyncio.Event()
    workers = [
        Worker(TeamQueue.open(url), ["draft"], 4, 1.0, home=tmp_path / f"w{i}") for i in range(2)
    ]
    runs = [asyncio.create_task(w.run(stop)) for w in workers]
    deadline = time.monotonic() + seconds
    try:
        await asyncio.wait_for(Follower(q, store, bid).follow(), seconds)
        # The batch can be made before the last bad entry is read: a take-over reads a dead
        # worker's entries a page of free slots at a time. The workers go on until none is
        # left pending (each set aside), or the time is up.
        while (await q.r.xpending(STREAM, GROUP))["pending"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    except TimeoutError:
        pass
    finally:
        stop.set()
        await asyncio.gather(*runs)
        for w in workers:
            await w.q.aclose()
    return sum(1 for j in store.jobs(bid) if j.status != JobStatus.COMPLETED)


def _queue_list(url: str) -> list[dict[str, Any]]:
    """``atelier queue list`` (JSON, then text: it names the entries set aside)."""
    from atelier.cli.main import run_command

    out, err = io.StringIO(), io.StringIO()
    code = run_command(["queue", "list", "--queue", url, "--format", "json"], out, err)
    assert code == 0, err.getvalue()
    rows: list[dict[str, Any]] = json.loads(out.getvalue())
    text = io.StringIO()
    assert run_command(["queue", "list", "--queue", url], text, err) == 0
    assert "unreadable entries set aside" in text.getvalue()
    return rows


async def _check_set_aside(r: Any, tid: str, counted: int, url: str) -> None:
    dead = r.xrange(DEAD)
    assert len(dead) == len(_bad_entries(tid))  # each set aside once
    reasons = [f[b"reason"].decode() for _, f in dead]
    assert all(reasons) and any("spec" in x for x in reasons), reasons
    assert all(f[b"stream"].decode() == STREAM for _, f in dead)
    assert r.xpending(STREAM, GROUP)["pending"] == 0  # nothing comes back after a timeout
    (row,) = await asyncio.to_thread(_queue_list, url)
    assert row["dead"] == counted and row["done"] == row["total"] == 7


async def test_bad_entries_read_with_valid_ones_are_set_aside(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    store = Store(tmp_path / "submitter.db")
    bid = _batch(store, tmp_path, 7)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    r = redis_server.client()
    counted = _interleave(r, tid)
    stuck = await _made_within(q, store, bid, redis_server.url, tmp_path, 15)
    record(
        "a team queue stream with 6 malformed entries among 7 valid jobs, read by 2 workers",
        **{"valid queue jobs stuck behind a bad entry": stuck},
    )
    assert stuck == 0
    await _check_set_aside(r, tid, counted, redis_server.url)
    await q.aclose()


async def test_bad_entries_taken_over_from_a_dead_worker_are_set_aside(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    store = Store(tmp_path / "submitter.db")
    bid = _batch(store, tmp_path, 7)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    r = redis_server.client()
    counted = _interleave(r, tid)
    # A worker (of an older version, say) read every entry and died without acknowledging:
    # they wait for a take-over (XAUTOCLAIM) after the visibility timeout.
    taken = r.xreadgroup(GROUP, "gone:1:dead", {STREAM: ">"}, count=100)
    assert len(taken[0][1]) == 7 + len(_bad_entries(tid))
    stuck = await _made_within(q, store, bid, redis_server.url, tmp_path, 15)
    record(
        "a dead worker's pending entries, 6 malformed among 7 valid jobs, taken over",
        **{"valid queue jobs stuck behind a bad entry": stuck},
    )
    assert stuck == 0
    await _check_set_aside(r, tid, counted, redis_server.url)
    await q.aclose()


async def test_an_entry_of_a_batch_the_queue_does_not_have_is_set_aside(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    q = TeamQueue.open(redis_server.url)
    await q.ensure_group("draft")
    spec = JobSpec(prompt="x", output_path="x.png", size="64x64").model_dump_json()
    r = redis_server.client()
    r.xadd(STREAM, {"batch": "f" * 32, "job": "1", "spec": spec})
    w = Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 1.0, home=tmp_path / "w")
    stop = asyncio.Event()
    run = asyncio.create_task(w.run(stop))
    deadline = time.monotonic() + 10
    while not r.xlen(DEAD) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await run
    await w.q.aclose()
    ((_, dead),) = r.xrange(DEAD)
    assert b"no batch" in dead[b"reason"] and w.stats.set_aside == 1
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    await q.aclose()


def _bad_events(tid: str, other_job: int, my_job: int) -> list[dict[str, Any]]:
    """Events a follower cannot apply: unreadable, wrongly typed, or naming what is not its
    batch's (another batch's job; a key that is not its image's)."""
    completed = {"kind": "completed", "cost": 0.01, "images": []}
    return [
        {"job": str(my_job)},  # no outcome
        {"job": str(my_job), "outcome": "oops"},
        {"job": str(my_job), "outcome": "[1, 2, 3]"},
        {"job": "x", "outcome": json.dumps(completed)},
        {"job": str(my_job), "outcome": json.dumps({**completed, "images": "oops"})},
        {"job": str(my_job), "outcome": json.dumps({**completed, "cost": "free"})},
        {"job": str(my_job), "outcome": json.dumps({"kind": 7})},
        {"job": str(other_job), "outcome": json.dumps({"kind": "failed", "error": "x"})},
        {
            "job": str(my_job),
            "outcome": json.dumps(
                {**completed, "images": [{"sample": 0, "key": f"atelier:batch:{tid}"}]}
            ),
        },
        {
            "job": str(my_job),
            "outcome": json.dumps(
                {**completed, "images": [{"sample": 5, "key": image_key(tid, my_job, 5)}]}
            ),
        },
    ]


async def test_resume_skips_malformed_events_with_a_warning(
    tmp_path: Path, redis_server: RedisServer, atelier_home: Path
) -> None:
    home = atelier_home
    store = Store(paths.store_path())
    other = _batch(store, tmp_path, 1, "other")
    bid = _batch(store, tmp_path, 3, "mine")
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    r = redis_server.client()
    bad = _bad_events(tid, store.jobs(other)[0].id, store.jobs(bid)[0].id)
    for fields in bad:
        r.xadd(f"atelier:events:{tid}", fields)
    store.close()
    stop = asyncio.Event()
    w = Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 5.0, home=tmp_path / "w")
    run = asyncio.create_task(w.run(stop))
    try:
        done = await _atelier(home, "resume", str(bid), timeout=25)
    finally:
        stop.set()
        await run
        await w.q.aclose()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("was skipped") == len(bad), done.stderr
    store = Store(paths.store_path())
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    assert store.jobs(other)[0].status == JobStatus.PENDING  # another batch's job untouched
    assert r.exists(f"atelier:batch:{tid}")  # a named key was neither read nor deleted
    store.close()
    await q.aclose()


class _Done:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


async def _atelier(home: Path, *args: str, timeout: float = 25) -> _Done:
    """``atelier ARGS`` in its own process with ``home`` as ATELIER_HOME (this loop keeps
    running in-process workers meanwhile)."""
    env = {**os.environ, "ATELIER_HOME": str(home), "PYTHONPATH": str(REPO)}
    env["ATELIER_LANGUAGE"] = "en"
    p = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "atelier.cli",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(p.communicate(), timeout)
    except TimeoutError:
        p.kill()
        out, err = await p.communicate()
        raise AssertionError(
            f"atelier {' '.join(args)} still running after {timeout} s: {err.decode()[-500:]}"
        ) from None
    return _Done(p.returncode or 0, out.decode(), err.decode())


def _lose_everything(server: RedisServer) -> None:
    """Redis restarted without persistence: it comes back empty."""
    server.stop()
    for p in server.dir.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    server.start()


@pytest.mark.slow
async def test_a_batch_lost_by_a_restart_is_said_and_made_again(
    tmp_path: Path, redis_server: RedisServer, atelier_home: Path
) -> None:
    home = atelier_home
    store = Store(paths.store_path())
    requeued = _batch(store, tmp_path, 3, "requeued")
    here = _batch(store, tmp_path, 2, "here")
    q = TeamQueue.open(redis_server.url)
    for bid in (requeued, here):
        await submit_batch(q, store, bid)
    await q.aclose()
    store.close()
    _lose_everything(redis_server)
    lost = await _atelier(home, "resume", str(requeued), timeout=20)
    assert lost.returncode == 2 and "Traceback" not in lost.stderr, lost.stderr
    said = lost.stderr
    assert "no longer on the team queue" in said and "3 of its jobs are unfinished" in said
    assert f"resume {requeued} --requeue" in said and f"resume {requeued} --here" in said
    store = Store(paths.store_path())
    assert store.batch(requeued).status == BatchStatus.PAUSED  # not left "running"
    store.close()

    # --requeue: on the queue again, made by a worker.
    stop = asyncio.Event()
    w = Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 5.0, home=tmp_path / "w")
    run = asyncio.create_task(w.run(stop))
    try:
        again = await _atelier(home, "resume", str(requeued), "--requeue", timeout=25)
    finally:
        stop.set()
        await run
        await w.q.aclose()
    assert again.returncode == 0, again.stderr
    assert "On the team queue as" in again.stderr and w.stats.completed == 3
    # Asked while the team has it (again): followed, never made twice.
    twice = await _atelier(home, "resume", str(requeued), "--here")
    assert twice.returncode == 2 and "still on the team queue" in twice.stderr, twice.stderr
    # --here: made on this machine (the draft provider), nothing on the queue.
    made_here = await _atelier(home, "resume", str(here), "--here", timeout=25)
    assert made_here.returncode == 0, made_here.stderr
    store = Store(paths.store_path())
    for bid, n in ((requeued, 3), (here, 2)):
        assert [j.status for j in store.jobs(bid)] == [JobStatus.COMPLETED] * n
        assert len(store.images(bid)) == n
    store.close()
    # And a batch that never was a team one says so.
    store = Store(paths.store_path())
    plain = _batch(store, tmp_path, 1, "plain")
    store.close()
    never = await _atelier(home, "resume", str(plain), "--requeue")
    assert never.returncode == 2 and "not put on a team queue" in never.stderr


async def test_a_job_that_stops_every_worker_is_set_aside_after_a_few_tries(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """An entry that reads as a job but fails every worker that takes it (here: a provider
    no one knows, under a budget cap) is set aside after ``MAX_DELIVERIES`` deliveries instead
    of coming back after every visibility timeout (for ever); the batch's other jobs are made."""
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft", budget_usd=5.0)
    specs = [JobSpec(prompt=f"p {i}", output_path=f"p{i}.png", size="64x64") for i in range(3)]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    r = redis_server.client()
    poison = JobSpec(prompt="x", output_path="x.png", size="64x64", provider="nowhere")
    r.xadd(STREAM, {"batch": tid, "job": "99", "spec": poison.model_dump_json()})
    stop = asyncio.Event()
    w = Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 0.3, home=tmp_path / "w")
    run = asyncio.create_task(w.run(stop))
    try:
        result = await asyncio.wait_for(Follower(q, store, bid).follow(), 15)
        deadline = time.monotonic() + 15
        while not r.xlen(DEAD) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await run
        await w.q.aclose()
    assert result.completed == 3
    ((_, dead),) = r.xrange(DEAD)
    assert dead[b"job"] == b"99" and b"never finished" in dead[b"reason"]
    assert json.loads(dead[b"fields"])["spec"] == poison.model_dump_json()  # kept to put back
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert int(r.hget(f"atelier:batch:{tid}", "n_dead") or 0) == 1
    await q.aclose()
