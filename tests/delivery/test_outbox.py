"""The transactional outbox: an image's deliveries are written in its own store transaction,
so a crash between recording an image and queueing its deliveries can leave neither or both,
never an image nobody delivers; a resume then records and delivers it once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from atelier.core import paths
from atelier.core.delivery_config import Delivery, WebhookTarget
from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.controller import resume_batch
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.store import Store
from tests.fakes.receivers import WebhookReceiver
from tests.support.batches import store_batch

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
JOBS = 3


def _crash_on_outbox(path: Path, on: bool) -> None:
    """The store file itself refuses every outbox row while ``on``: the write after an
    image's row fails as a crash there would (any version of the code meets it)."""
    db = sqlite3.connect(path)
    with db:
        if on:
            db.execute(
                "CREATE TRIGGER crash BEFORE INSERT ON deliveries"
                " BEGIN SELECT RAISE(ABORT, 'crash before the outbox'); END"
            )
        else:
            db.execute("DROP TRIGGER crash")
    db.close()


def _images_without_rows(store: Store, bid: int) -> list[int]:
    """Ids of the batch's images that have no ``image.completed`` row in the outbox."""
    queued = {d.image_id for d in store.deliveries(bid) if d.event == "image.completed"}
    return [im.id for im in store.images(bid) if im.id not in queued]


def test_a_crash_before_the_outbox_leaves_no_image_without_its_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    specs = [
        JobSpec(prompt=f"A mug {i}", output_path=f"mug-{i}.png", size="256x256")
        for i in range(JOBS)
    ]
    with WebhookReceiver(SECRET) as hook:
        delivery = Delivery(
            targets=[WebhookTarget(url=hook.url + "/hooks", events=["image.completed"])],
            backoff_s=0.05,
            max_backoff_s=0.2,
            timeout_s=1.0,
        )
        store = Store(paths.store_path())
        rs = RunSettings(provider="draft", model="draft", delivery=delivery)
        bid = store_batch(store, rs, specs, tmp_path / "out")
        _crash_on_outbox(paths.store_path(), on=True)
        engine = Engine(store, make_provider_factory(Settings()))
        asyncio.run(engine.run(bid))
        assert _images_without_rows(store, bid) == []  # neither, not an image alone
        assert not store.deliveries(bid)

        _crash_on_outbox(paths.store_path(), on=False)
        resume_batch(store, bid)
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
        assert report.succeeded == JOBS
        assert len(store.images(bid)) == JOBS and _images_without_rows(store, bid) == []
        assert report.deliveries == {"delivered": JOBS, "failed": 0, "pending": 0}
        assert len(hook.ids) == len(set(hook.ids)) == JOBS


def test_the_image_and_its_rows_are_one_write(tmp_path: Path) -> None:
    """At the store: an outbox that fails takes the image's row back with it."""
    store = Store(tmp_path / "s.sqlite3")
    rs = RunSettings(provider="draft", model="draft")
    bid = store_batch(store, rs, [JobSpec(prompt="a", output_path="a.png")], tmp_path / "out")
    (jid,) = store.pending_job_ids(bid)

    def broken(_image: object) -> list[object]:
        raise OSError("crash between the image and its deliveries")

    with pytest.raises(OSError):
        store.add_image(jid, 0, tmp_path / "out" / "a.png", None, outbox=broken)  # type: ignore[arg-type]
    assert store.images(bid) == [] and store.deliveries(bid) == []


def test_a_failure_and_its_rows_are_one_write(tmp_path: Path) -> None:
    """A job's failure and its ``job.failed`` rows: an outbox that fails takes the move back."""
    from atelier.core.status import JobStatus
    from atelier.delivery.plan import failed_outbox

    store = Store(tmp_path / "s.sqlite3")
    hook = WebhookTarget(url="https://hooks.example.com/x", events=["job.failed"])
    rs = RunSettings(provider="draft", model="draft", delivery=Delivery(targets=[hook]))
    bid = store_batch(store, rs, [JobSpec(prompt="a", output_path="a.png")], tmp_path / "out")
    (jid,) = store.pending_job_ids(bid)
    assert store.claim_job(jid)

    def broken(_job: object) -> list[object]:
        raise OSError("crash between the failure and its deliveries")

    with pytest.raises(OSError):
        store.set_job_status(jid, JobStatus.FAILED, error="x", outbox=broken)  # type: ignore[arg-type]
    assert store.job(jid).status == JobStatus.RUNNING and store.deliveries(bid) == []
    store.set_job_status(jid, JobStatus.FAILED, error="x", outbox=failed_outbox(rs.delivery))
    assert [(d.event, d.job_id) for d in store.deliveries(bid)] == [("job.failed", jid)]


def test_a_job_failing_in_a_run_sends_its_job_failed_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    gone = str(tmp_path / "no-such-reference.png")  # the job fails before any request
    specs = [
        JobSpec(prompt="fine", output_path="fine.png", size="256x256"),
        JobSpec(
            prompt="edit", output_path="edit.png", size="256x256", operation="edit",
            reference_images=[gone],
        ),
    ]  # fmt: skip
    with WebhookReceiver(SECRET) as hook:
        target = WebhookTarget(url=hook.url + "/hooks", events=["job.failed"])
        rs = RunSettings(
            provider="draft", model="draft", delivery=Delivery(targets=[target], timeout_s=1.0)
        )
        store = Store(paths.store_path())
        bid = store_batch(store, rs, specs, tmp_path / "out")
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    assert (report.succeeded, report.failed) == (1, 1)
    assert [(d.event, d.status) for d in store.deliveries(bid)] == [("job.failed", "delivered")]
    assert [e.get("type") for e in hook.events] == ["job.failed"]


def test_a_run_again_with_a_new_target_delivers_the_images_made_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atelier_home: Path
) -> None:
    """No repair pass at every start, but the rows a changed delivery causes are recorded when
    the same sheet is run again with it (``delivery_changed``)."""
    import json

    from tests.support.cli import run_cli

    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": f"cup {i}", "size": "256x256"} for i in range(2)]}))  # fmt: skip
    args = ("run", str(cfg), "--provider", "draft", "--output-dir", str(tmp_path / "out"))
    assert run_cli(*args).code == 0
    with WebhookReceiver(SECRET) as hook:
        r = run_cli(*args, "--format", "json", "--webhook", hook.url)
        assert r.code == 0, r.err
        assert json.loads(r.out)["deliveries"] == {"delivered": 2 + 1, "failed": 0, "pending": 0}
    assert sorted(e["type"] for e in hook.events) == ["batch.finished"] + ["image.completed"] * 2
