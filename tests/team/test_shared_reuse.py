"""Reuse shared by the team (issue 16: "reuse keys from Pay less are shared too"): an image one
designer's batch made is copied at $0 for another designer's batch, by another worker, with
another store; "Always make new images" still makes it; a worker sharing nothing writes no
index."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.pricing.reuse import plan_reuse
from atelier.store import Store
from atelier.team.follow import submit_batch
from atelier.team.queue import TeamQueue
from atelier.team.shared_images import SHARE_S
from atelier.team.worker import Worker
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, made_by


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    return fake_openai


def _specs(prefix: str, prompts: list[str]) -> list[JobSpec]:
    return [
        JobSpec(prompt=p, output_path=f"{prefix}{i}.png", size="1024x1024", quality="low")
        for i, p in enumerate(prompts)
    ]


async def _designer(
    url: str, home: Path, specs: list[JobSpec], share_s: int = SHARE_S, **settings: object
) -> tuple[Store, int, Worker]:
    """One designer's machine (its own store) submitting ``specs``, made by a worker of its
    own (its own store too: nothing is shared but Redis)."""
    store = Store(home / "atelier.db")
    rs = RunSettings(provider="openai", model="gpt-image-1", **settings)  # type: ignore[arg-type]
    bid = store_batch(store, rs, specs, home / "out")
    q = TeamQueue.open(url)
    await submit_batch(q, store, bid)
    worker = Worker(TeamQueue.open(url), ["openai"], 2, 10.0, home=home / "worker", share_s=share_s)
    result = await made_by(q, store, bid, [worker])
    await q.aclose()
    assert result.completed == len(specs)
    return store, bid, worker


async def test_a_teammates_images_are_copied_at_no_cost(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    prompts = ["青いマグカップ", "赤いマグカップ", "緑のマグカップ", "白いマグカップ"]
    a_store, a_bid, _ = await _designer(redis_server.url, tmp_path / "a", _specs("a", prompts))
    assert len(openai_env.dialect.accepted) == 4  # type: ignore[attr-defined]

    more = [*prompts, "黒いマグカップ", "黄色いマグカップ"]
    b_store, b_bid, _ = await _designer(redis_server.url, tmp_path / "b", _specs("b", more))
    # Only the two new prompts were paid for: the four others came from designer A's batch.
    assert len(openai_env.dialect.accepted) == 6  # type: ignore[attr-defined]
    b_jobs = b_store.jobs(b_bid)
    assert {j.status for j in b_jobs} == {JobStatus.COMPLETED}
    assert [j.cost for j in b_jobs[:4]] == [0.0] * 4
    assert all((j.cost or 0) > 0 for j in b_jobs[4:])
    for i in range(4):  # the same pictures, under designer B's own names
        with (
            Image.open(tmp_path / "a" / "out" / f"a{i}.png") as a,
            Image.open(tmp_path / "b" / "out" / f"b{i}.png") as b,
        ):
            assert a.tobytes() == b.tobytes()
    # The staged copies were removed from the worker's scratch folder.
    assert not list((tmp_path / "b" / "worker" / "shared").glob("*.png"))
    # Each machine's store knows the team's images by content key, as its own: a later local
    # run of the same requests on designer A's machine would copy them too.
    targets = [("openai", "gpt-image-1", s) for s in _specs("c", prompts)]
    assert plan_reuse(targets, {}, a_store.reusable_images).reused == 4
    # The shared images expire with the window (they are not a week of pictures in memory).
    r = redis_server.client()
    made = list(r.scan_iter("atelier:made:*"))
    assert len(made) == 6 and all(0 < r.ttl(k) <= SHARE_S for k in made)
    assert all(0 < r.ttl(k) <= SHARE_S for k in r.scan_iter("atelier:img:*"))
    assert a_store.batch(a_bid).unfinished == 0


async def test_always_make_new_images_is_kept_on_the_team_queue(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    prompts = ["ソファ", "椅子"]
    await _designer(redis_server.url, tmp_path / "a", _specs("a", prompts))
    store, bid, _ = await _designer(
        redis_server.url, tmp_path / "b", _specs("b", prompts), reuse=False
    )
    assert len(openai_env.dialect.accepted) == 4  # type: ignore[attr-defined]
    assert all((j.cost or 0) > 0 for j in store.jobs(bid))


async def test_a_worker_that_shares_nothing_leaves_no_images(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    await _designer(redis_server.url, tmp_path / "a", _specs("a", ["机", "棚"]), share_s=0)
    r = redis_server.client()
    assert not list(r.scan_iter("atelier:made:*")) and not list(r.scan_iter("atelier:img:*"))
    await _designer(redis_server.url, tmp_path / "b", _specs("b", ["机", "棚"]))
    assert len(openai_env.dialect.accepted) == 4  # type: ignore[attr-defined]


async def test_what_this_machine_made_is_copied_here_not_queued(
    tmp_path: Path, redis_server: RedisServer, openai_env: FakeOpenAI
) -> None:
    """As the estimate says (it counts this machine's images as reused), a team batch copies
    what its own store made before instead of paying a worker to make it again."""
    home = tmp_path / "a"
    await _designer(redis_server.url, home, _specs("a", ["花瓶", "皿"]), share_s=0)
    store = Store(home / "atelier.db")
    rs = RunSettings(provider="openai", model="gpt-image-1")
    bid = store_batch(store, rs, _specs("n", ["花瓶", "皿", "鉢"]), home / "next", fingerprint="n")
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    assert (await q.batch(tid)).total == 1  # only the new prompt went on the queue
    jobs = store.jobs(bid)
    assert [j.status for j in jobs[:2]] == [JobStatus.COMPLETED] * 2
    copied = [i for i in store.images(bid) if i.job_id in (jobs[0].id, jobs[1].id)]
    assert len(copied) == 2 and all(i.reused_from is not None and i.cost == 0 for i in copied)
    assert sorted(p.name for p in (home / "next").glob("*.png")) == ["n0.png", "n1.png"]
    w = Worker(TeamQueue.open(redis_server.url), ["openai"], 2, 10.0, home=home / "w2", share_s=0)
    result = await made_by(q, store, bid, [w])
    await q.aclose()
    assert result.state == "finished" and store.batch(bid).unfinished == 0
    assert len(openai_env.dialect.accepted) == 3  # type: ignore[attr-defined]
