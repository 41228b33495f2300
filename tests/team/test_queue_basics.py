"""The team queue against a real redis-server: submit, workers in this process, follow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.store import Store
from atelier.team.follow import Follower, submit_batch
from atelier.team.queue import TeamQueue
from atelier.team.shared_images import SHARE_S
from atelier.team.worker import Worker
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, made_by

DATA = Path(__file__).resolve().parents[1] / "data"


def _local_batch(tmp_path: Path, n: int, **settings: object) -> tuple[Store, int]:
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft", **settings)  # type: ignore[arg-type]
    specs = [JobSpec(prompt=f"商品 {i}", output_path=f"p{i}.png", size="256x256") for i in range(n)]
    return store, store_batch(store, rs, specs, tmp_path / "out")


async def _workers(url: str, tmp_path: Path, count: int) -> list[Worker]:
    out = []
    for i in range(count):
        w = Worker(TeamQueue.open(url), ["draft"], 2, 5.0, home=tmp_path / f"w{i}")
        out.append(w)
    return out


async def test_two_workers_make_a_batch_the_submitter_records(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    store, bid = _local_batch(tmp_path, 20)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    stop = asyncio.Event()
    workers = await _workers(redis_server.url, tmp_path, 2)
    runs = [asyncio.create_task(w.run(stop)) for w in workers]
    result = await asyncio.wait_for(Follower(q, store, bid).follow(), 60)
    stop.set()
    stats = await asyncio.gather(*runs)

    assert result.completed == 20 and result.state == "finished"
    jobs = store.jobs(bid)
    assert {j.status for j in jobs} == {JobStatus.COMPLETED}
    assert len(store.images(bid)) == 20
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(
        f"p{i}.png" for i in range(20)
    )
    assert sum(s.completed for s in stats) == 20 and all(s.completed for s in stats)
    # Every image was collected; what stays in Redis is the team's reuse of each (its index
    # entry and bytes), expiring with the sharing window, not the week images wait to be taken.
    r = redis_server.client()
    kept = list(r.scan_iter(f"atelier:img:{tid}:*"))
    assert len(kept) == 20 and all(0 < r.ttl(k) <= SHARE_S for k in kept)
    assert len(list(r.scan_iter("atelier:made:*"))) == 20
    assert (await q.batch(tid)).done == 20
    for w in workers:
        await w.q.aclose()
    await q.aclose()


async def test_pause_parks_and_resume_puts_back(tmp_path: Path, redis_server: RedisServer) -> None:
    store, bid = _local_batch(tmp_path, 6)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    await q.set_state(tid, "paused")
    stop = asyncio.Event()
    (w,) = await _workers(redis_server.url, tmp_path, 1)
    run = asyncio.create_task(w.run(stop))
    result = await asyncio.wait_for(Follower(q, store, bid).follow(), 30)
    assert result.state == "paused" and result.completed == 0
    assert redis_server.client().llen(f"atelier:parked:{tid}") == 6
    await q.set_state(tid, "queued")
    result = await asyncio.wait_for(Follower(q, store, bid).follow(), 30)
    stop.set()
    await run
    assert store.batch(bid).unfinished == 0 and len(store.images(bid)) == 6
    await w.q.aclose()
    await q.aclose()


async def test_a_request_the_batch_makes_twice_is_queued_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft")
    prompts = ["mug", "tote", "mug", "mug", "tray", "tote"]  # a Shopify export's repeated rows
    specs = [
        JobSpec(prompt=p, output_path=f"r{i}.png", size="64x64") for i, p in enumerate(prompts)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    assert (await q.batch(tid)).total == 3  # mug, tote, tray
    stop = asyncio.Event()
    (w,) = await _workers(redis_server.url, tmp_path, 1)
    run = asyncio.create_task(w.run(stop))
    result = await asyncio.wait_for(Follower(q, store, bid).follow(), 30)
    stop.set()
    await run
    assert result.completed == 6 and w.stats.completed == 3
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [
        f"r{i}.png" for i in range(6)
    ]
    images = store.images(bid)
    copies = [i for i in images if i.reused_from is not None]
    assert len(copies) == 3 and all(i.cost == 0.0 for i in copies)
    with Image.open(tmp_path / "out" / "r2.png") as a, Image.open(tmp_path / "out" / "r0.png") as b:
        assert a.tobytes() == b.tobytes()  # the same picture (its metadata names its own file)
    await w.q.aclose()
    await q.aclose()


async def test_a_failed_job_retried_by_a_teammate(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.team.control import control
    from tests.fakes.a1111 import A1111Dialect
    from tests.fakes.framework import FakeServer

    with FakeServer(A1111Dialect, api_key=None) as gpu:
        monkeypatch.setenv("ATELIER_A1111_BASE_URL", gpu.url)
        gpu.script_for("broken", ["invalid"])  # a 422 once: not retried, the job fails
        store = Store(tmp_path / "submitter.db")
        rs = RunSettings(provider="a1111", model="current")
        specs = [JobSpec(prompt=p, output_path=f"{p}.png", size="64x64") for p in ("ok", "broken")]
        bid = store_batch(store, rs, specs, tmp_path / "out")
        q = TeamQueue.open(redis_server.url)
        tid = await submit_batch(q, store, bid)
        stop = asyncio.Event()
        w = Worker(TeamQueue.open(redis_server.url), ["a1111"], 1, 5.0, home=tmp_path / "w")
        run = asyncio.create_task(w.run(stop))
        first = await asyncio.wait_for(Follower(q, store, bid).follow(), 30)
        assert (first.completed, first.failed) == (1, 1)
        assert (await q.batch(tid)).failed == 1  # counted as it was recorded
        (failure,) = await q.failures(tid)
        assert failure[0] == store.jobs(bid)[1].id and failure[1]
        said = await control(redis_server.url, tid, "retry")
        assert said.startswith("1 ")
        assert (await q.batch(tid)).failed == 0
        again = await asyncio.wait_for(Follower(q, store, bid).follow(), 30)
        stop.set()
        await run
        assert again.completed == 1
        assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
        assert (tmp_path / "out" / "broken.png").is_file()
        await w.q.aclose()
        await q.aclose()


async def test_teammates_retrying_at_once_put_each_failed_job_back_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Two members press "Retry failed" together: each failed job goes back on the queue once
    and the failed count stays true; a job completed since it was read as failed stays done."""
    from atelier.team.control import retry_failed
    from atelier.team.queue import PREFIX

    store, bid = _local_batch(tmp_path, 3)
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    entries = sorted(await q.claim("w", ["draft"], 3, 1000), key=lambda e: e.job)
    for e in entries[:2]:
        failed = {"kind": "failed", "error": "boom", "spec": e.spec.model_dump_json()}
        assert await q.complete(e, failed, {})
    assert await q.complete(entries[2], {"kind": "completed"}, {})
    assert (await q.batch(tid)).failed == 2
    read_by_both = [e.job for e in entries]  # as each member's retry read the outcomes
    first = await q.forget_outcomes(tid, read_by_both)
    second = await q.forget_outcomes(tid, read_by_both)
    assert sorted(first) == [e.job for e in entries[:2]] and second == []
    assert int(await q.r.hget(PREFIX + f"batch:{tid}", "n_failed")) == 0
    assert set(await q.outcomes(tid)) == {entries[2].job}  # the completed one is kept
    # End to end, two members at once: the failed jobs are on the stream once each.
    for e in entries[:2]:
        await q.r.hset(PREFIX + f"done:{tid}", str(e.job), json.dumps(
            {"kind": "failed", "error": "boom", "spec": e.spec.model_dump_json()}
        ))  # fmt: skip
    await q.r.hset(PREFIX + f"batch:{tid}", "n_failed", 2)
    a, b = TeamQueue.open(redis_server.url), TeamQueue.open(redis_server.url)
    assert sorted(await asyncio.gather(retry_failed(a, tid), retry_failed(b, tid))) in (
        [0, 2],
        [1, 1],
    )
    again = await q.claim("w", ["draft"], 10, 200)
    assert sorted(e.job for e in again) == [e.job for e in entries[:2]]
    assert (await q.batch(tid)).failed == 0
    assert int(await q.r.hget(PREFIX + f"batch:{tid}", "n_failed")) == 0
    for c in (a, b, q):
        await c.aclose()


async def test_edit_jobs_carry_their_reference_images_to_the_workers(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A reference image is a path on the submitting machine: it travels with the batch
    (once, by content), and the worker edits it even once the submitter's file is gone."""
    photo = tmp_path / "photos" / "マグ.png"
    photo.parent.mkdir()
    Image.new("RGB", (64, 64), (220, 20, 30)).save(photo)
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft")
    specs = [
        JobSpec(
            prompt=f"背景を白に {i}",
            output_path=f"e{i}.png",
            size="64x64",
            operation="edit",
            reference_images=[str(photo)],
        )
        for i in range(3)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    q = TeamQueue.open(redis_server.url)
    await submit_batch(q, store, bid)
    assert len(list(redis_server.client().scan_iter("atelier:ref:*"))) == 1  # one photo, once
    photo.unlink()  # the worker cannot read the submitter's file: only what travelled
    result = await made_by(q, store, bid, await _workers(redis_server.url, tmp_path, 1), 30)
    await q.aclose()
    assert result.completed == 3, [j.error for j in store.jobs(bid)]
    for i in range(3):  # the draft provider edits over the reference: its red shows
        with Image.open(tmp_path / "out" / f"e{i}.png") as im:
            r, g, b = im.convert("RGB").getpixel((1, 1))
            assert r > 120 and g < 80 and b < 80, (r, g, b)
    assert len(list((tmp_path / "w0" / "references").iterdir())) == 1  # fetched once


async def test_a_comfyui_workflow_file_travels_with_the_batch(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from tests.fakes.comfyui import ComfyUIDialect
    from tests.fakes.framework import FakeServer

    workflow = tmp_path / "designer" / "sdxl.json"
    workflow.parent.mkdir()
    shutil.copy(DATA / "comfy-sdxl-api.json", workflow)
    with FakeServer(ComfyUIDialect, api_key=None) as gpu:
        monkeypatch.setenv("ATELIER_COMFYUI_BASE_URL", gpu.url)
        store = Store(tmp_path / "submitter.db")
        rs = RunSettings(
            provider="comfyui",
            model="workflow",
            provider_options={"comfyui": {"workflow": str(workflow), "mapping": {}}},
        )
        specs = [
            JobSpec(prompt=f"急須 {i}", output_path=f"k{i}.png", size="64x64") for i in range(2)
        ]
        bid = store_batch(store, rs, specs, tmp_path / "out")
        q = TeamQueue.open(redis_server.url)
        await submit_batch(q, store, bid)
        workflow.unlink()  # only the copy that travelled can run
        w = Worker(TeamQueue.open(redis_server.url), ["comfyui"], 1, 5.0, home=tmp_path / "w")
        result = await made_by(q, store, bid, [w], 30)
        await q.aclose()
    assert result.completed == 2, [j.error for j in store.jobs(bid)]
    assert {p.name for p in (tmp_path / "out").glob("*.png")} == {"k0.png", "k1.png"}
