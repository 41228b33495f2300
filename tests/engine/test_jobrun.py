"""A ``JobRun`` on its own: a run context built by hand, no ``Engine`` (``atelier.engine.context``)."""

from __future__ import annotations

import random
from pathlib import Path

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.events import Event, EventBus, ImageSaved, JobChanged
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import JobStatus
from atelier.engine.context import RunContext
from atelier.engine.jobrun import JobRun
from atelier.engine.lane import Lane, Run
from atelier.pricing.budget import Budget
from atelier.pricing.table import PriceTable
from atelier.providers.base import GenerationRequest, GenerationResult
from atelier.providers.draft import DraftProvider
from atelier.store import Store
from tests.support.batches import store_batch


class _Refusing(DraftProvider):
    """Refuses every request as the content policy would."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        raise ProviderError(ErrorClass.CONTENT_POLICY, "refused by the fake")


async def _run_one(tmp_path: Path, provider: DraftProvider) -> tuple[Store, int, list[Event]]:
    """One draft job of a stored batch, worked on by a ``JobRun`` with a hand-made context."""
    store = Store(tmp_path / "store.sqlite3")
    settings = RunSettings(provider="draft", model="draft")
    spec = JobSpec(prompt="a mug", output_path="mug.png", size="256x256", sample_count=2)
    bid = store_batch(store, settings, [spec], tmp_path / "out")
    (jid,) = store.pending_job_ids(bid)
    assert store.claim_job(jid)
    events, seen, halts = EventBus(), list[Event](), list[str]()
    events.subscribe(seen.append)
    (tmp_path / "out").mkdir()  # as the engine does before a run
    run = Run(bid, settings, tmp_path / "out")
    run.unpaused.set()

    def halt(_run: Run, reason: str) -> None:
        halts.append(reason)

    ctx = RunContext(
        store=store,
        events=events,
        budget=Budget(PriceTable(), halt),
        rng=random.Random(0),
        thumb_dir=None,
        spool_dir=lambda r: tmp_path / "spool" / str(r.batch_id),
        halt=halt,
    )
    lane = Lane("draft", provider, 1, events)
    await JobRun(ctx, run, lane, store.job(jid)).execute()
    assert not halts
    return store, jid, seen


async def test_a_job_runs_with_a_context_and_no_engine(tmp_path: Path) -> None:
    store, jid, seen = await _run_one(tmp_path, DraftProvider())
    job = store.job(jid)
    assert job.status == JobStatus.COMPLETED and job.attempts == 1
    images = sorted(store.images(job.batch_id), key=lambda i: i.sample_index)
    assert [i.sample_index for i in images] == [0, 1]
    assert all(i.path.is_file() and i.path.parent == tmp_path / "out" for i in images)
    assert [e.sample_index for e in seen if isinstance(e, ImageSaved)] == [0, 1]
    moves = [e.status for e in seen if isinstance(e, JobChanged)]
    assert moves == [JobStatus.RUNNING, JobStatus.COMPLETED]


async def test_a_refused_job_is_recorded_failed_with_its_class(tmp_path: Path) -> None:
    store, jid, seen = await _run_one(tmp_path, _Refusing())
    job = store.job(jid)
    assert job.status == JobStatus.FAILED and job.error_type == "content_policy"
    assert "refused by the fake" in (job.error or "")
    assert not store.images(job.batch_id)
    last = [e for e in seen if isinstance(e, JobChanged)][-1]
    assert last.status == JobStatus.FAILED and last.error_type == "content_policy"
