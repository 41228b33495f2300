"""A batch with delivery targets is delivered by the workers themselves (issue 16: "S3 from
Delivery is the natural home of a team's files"), against moto's S3 server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from atelier.core.delivery_config import Delivery, S3Target, SlackTarget, WebhookTarget
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.store import Store
from atelier.team.follow import submit_batch
from atelier.team.queue import TeamQueue
from atelier.team.shared_images import SHARE_S
from atelier.team.worker import Worker
from tests.delivery.test_delivery import FAST, SECRET
from tests.fakes.receivers import SlackFake, WebhookReceiver
from tests.fakes.s3 import S3Server
from tests.support.batches import store_batch
from tests.support.redis import RedisServer, made_by
from tests.support.s3 import s3  # noqa: F401  (the fixture)


async def test_workers_deliver_to_s3(
    tmp_path: Path,
    redis_server: RedisServer,
    s3: S3Server,  # noqa: F811
) -> None:
    bucket = f"team-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    delivery = Delivery(
        targets=[
            S3Target(bucket=bucket, key="team/{file}", endpoint_url=s3.url, region="us-east-1")
        ]
    )
    store = Store(tmp_path / "submitter.db")
    rs = RunSettings(provider="draft", model="draft", delivery=delivery)
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="64x64") for i in range(6)]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    q = TeamQueue.open(redis_server.url)
    tid = await submit_batch(q, store, bid)
    ws = [
        Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 5.0, home=tmp_path / f"w{i}")
        for i in range(2)
    ]
    result = await made_by(q, store, bid, ws)
    assert result.completed == 6
    assert sorted(s3.objects(bucket)) == sorted(f"team/p{i}.png" for i in range(6))
    assert {j.status for j in store.jobs(bid)} == {JobStatus.COMPLETED}
    # Delivered from the workers: none came to the submitter; what Redis holds is the team's
    # shared copy of each (for reuse), expiring with the sharing window.
    assert all(o["delivered"] for o in (await q.outcomes(tid)).values())
    r = redis_server.client()
    kept = list(r.scan_iter(f"atelier:img:{tid}:*"))
    assert len(kept) == 6 and all(0 < r.ttl(k) <= SHARE_S for k in kept)
    await q.aclose()


@pytest.mark.slow
async def test_a_delivered_image_is_reused_by_the_team(
    tmp_path: Path,
    redis_server: RedisServer,
    s3: S3Server,  # noqa: F811
) -> None:
    """A delivered batch's images go through no one's machine, yet the next batch asking for
    them is still served from them: the worker shares the bytes it delivered."""
    bucket = f"team-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    delivery = Delivery(
        targets=[S3Target(bucket=bucket, key="{file}", endpoint_url=s3.url, region="us-east-1")]
    )
    rs = RunSettings(provider="draft", model="draft", delivery=delivery)
    q = TeamQueue.open(redis_server.url)
    outcomes = []
    for who in ("a", "b"):  # two designers, two stores, two workers: only Redis is shared
        store = Store(tmp_path / who / "atelier.db")
        specs = [
            JobSpec(prompt=f"棚 {i}", output_path=f"{who}{i}.png", size="64x64") for i in range(3)
        ]
        bid = store_batch(store, rs, specs, tmp_path / who / "out")
        tid = await submit_batch(q, store, bid)
        w = Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 5.0, home=tmp_path / who / "w")
        assert (await made_by(q, store, bid, [w])).completed == 3
        outcomes.append(await q.outcomes(tid))
    assert sorted(s3.objects(bucket)) == sorted(f"{w}{i}.png" for w in "ab" for i in range(3))
    made = [img["reused"] for o in outcomes[0].values() for img in o["images"]]
    reused = [img["reused"] for o in outcomes[1].values() for img in o["images"]]
    assert made == [False] * 3 and reused == [True] * 3
    await q.aclose()


async def test_the_run_messages_come_from_the_submitter_once(
    tmp_path: Path,
    redis_server: RedisServer,
    s3: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers deliver each image (S3, ``image.completed``); the machine that follows the batch
    sends Slack's started and finished messages and one ``batch.finished``, for the whole
    batch, however many workers made it."""
    bucket = f"team-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(SECRET) as hook, SlackFake() as slack:
        monkeypatch.setenv("ATELIER_SLACK_WEBHOOK", slack.url + "/services/T0/B0/x")
        delivery = Delivery(
            targets=[
                S3Target(bucket=bucket, key="{file}", endpoint_url=s3.url, region="us-east-1"),
                WebhookTarget(url=hook.url + "/hooks"),
                SlackTarget(),
            ],
            **FAST,
        )
        store = Store(tmp_path / "submitter.db")
        rs = RunSettings(provider="draft", model="draft", delivery=delivery)
        specs = [
            JobSpec(prompt=f"椅子 {i}", output_path=f"c{i}.png", size="64x64") for i in range(4)
        ]
        bid = store_batch(store, rs, specs, tmp_path / "out")
        q = TeamQueue.open(redis_server.url)
        await submit_batch(q, store, bid)
        ws = [
            Worker(TeamQueue.open(redis_server.url), ["draft"], 2, 5.0, home=tmp_path / f"w{i}")
            for i in range(2)
        ]
        result = await made_by(q, store, bid, ws)
        await q.aclose()
    assert result.completed == 4 and len(s3.objects(bucket)) == 4
    kinds = [e["type"] for e in hook.events]
    assert kinds.count("image.completed") == 4 and kinds.count("batch.finished") == 1
    assert kinds[-1] == "batch.finished" and hook.rejected == 0
    assert len(slack.messages) == 2 and slack.messages[0].startswith("▶️ Atelier started")
    assert "4/4 succeeded, 0 failed" in slack.messages[1]


def test_a_worker_sends_no_run_messages() -> None:
    from atelier.team.split import per_job_delivery, run_messages

    full = Delivery(
        targets=[
            S3Target(bucket="shop", key="{file}"),
            WebhookTarget(url="http://127.0.0.1:9/hook"),
            SlackTarget(),
        ]
    )
    mine = per_job_delivery(full)
    assert mine is not None and [t.kind for t in mine.targets] == ["s3", "webhook"]
    hook = mine.targets[1]
    assert "batch.finished" not in hook.events and "image.completed" in hook.events  # type: ignore[union-attr]
    assert per_job_delivery(Delivery(targets=[SlackTarget()])) is None
    assert per_job_delivery(None) is None
    theirs = run_messages(full)
    assert theirs is not None and [t.kind for t in theirs.targets] == ["webhook", "slack"]
    assert theirs.targets[0].events == ["batch.finished"]  # type: ignore[union-attr]
    assert run_messages(Delivery(targets=[S3Target(bucket="shop", key="{file}")])) is None
