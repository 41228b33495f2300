"""What the window (and ``atelier queue``) does with the team's batches: list them, pause,
resume, cancel, retry their failed jobs, and run a local batch on the queue."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

from atelier.core.events import EventBus
from atelier.core.i18n import tr
from atelier.core.models import BatchReport, JobSpec
from atelier.engine.controller import resume_batch
from atelier.engine.engine import Engine
from atelier.output.report import build_report
from atelier.store import Store
from atelier.team.follow import Follower, TeamBatchLostError, forget_team, submit_batch, team_ref
from atelier.team.queue import STATE_LABELS, QueueError, TeamBatch, TeamQueue

Action = Literal["pause", "resume", "cancel", "retry"]
STATES = {"pause": "paused", "resume": "queued", "cancel": "cancelled"}


async def list_batches(url: str) -> list[TeamBatch]:
    """The team's batches on the queue at ``url``, newest first.

    Raises:
        QueueError: the queue cannot be used.
    """
    q = TeamQueue.open(url)
    try:
        await q.ping()
        return await q.batches()
    finally:
        await q.aclose()


async def failures(url: str, tid: str) -> list[tuple[int, str]]:
    """``(job id, error)`` of team batch ``tid``'s failed jobs (at most 50), for any member's
    window.

    Raises:
        QueueError: the queue cannot be used.
    """
    q = TeamQueue.open(url)
    try:
        await q.ping()
        return await q.failures(tid)
    finally:
        await q.aclose()


async def retry_failed(q: TeamQueue, tid: str) -> int:
    """Put the failed jobs of team batch ``tid`` back on the queue (their outcome forgotten);
    returns how many."""
    failed = {j: o for j, o in (await q.outcomes(tid)).items() if o.get("kind") == "failed"}
    # Only what this call took off: two members retrying at once put each job back once.
    mine = await q.forget_outcomes(tid, list(failed))
    await q.add_jobs(tid, [(j, JobSpec.model_validate_json(failed[j]["spec"])) for j in mine])
    return len(mine)


async def control(url: str, tid: str, action: Action, budget_usd: float | None = None) -> str:
    """Apply ``action`` to team batch ``tid``; returns what happened, in a sentence.
    ``budget_usd``: with ``resume``, the batch's new budget cap first (a halted batch goes on
    up to it).

    Raises:
        QueueError: the queue cannot be used, or has no such batch.
    """
    q = TeamQueue.open(url)
    try:
        await q.ping()
        await q.batch(tid)
        if action == "retry":
            n = await retry_failed(q, tid)
            return tr("{count} failed jobs are back on the queue.").format(count=n)
        state = STATES[action]
        if budget_usd is not None and action == "resume":
            await q.set_budget(tid, budget_usd)
        await q.set_state(tid, state)  # type: ignore[arg-type]
        return tr("Batch {batch}: {state}.").format(batch=tid, state=tr(STATE_LABELS[state]))
    finally:
        await q.aclose()


async def take_back(store: Store, batch_id: int, url: str = "") -> TeamBatchLostError:
    """After the team queue lost local batch ``batch_id``'s team batch: make it an ordinary
    batch again (``forget_team``) with its failed and cancelled jobs pending too, as any resume
    does, to be put on a queue again (``run_on_queue``) or made here. Checks on the queue
    first (at ``url``, else the one it went to) that the team batch really is gone, so the
    same jobs are never made twice. Returns what was lost.

    Raises:
        QueueError: the batch was not put on a team queue, the queue cannot be used, or it
            still has the team batch (follow it instead).
    """
    ref = team_ref(store, batch_id)
    if ref is None:
        raise QueueError(tr("Batch {batch} was not put on a team queue.").format(batch=batch_id))
    q = TeamQueue.open(url or ref[0])
    try:
        await q.ping()
        if await q.exists(ref[1]):
            raise QueueError(
                tr(
                    "Batch {batch} is still on the team queue at {url} (team batch {team}): "
                    "its workers are making it, so it is followed, not made again."
                ).format(batch=batch_id, url=q.url, team=ref[1])
            )
    finally:
        await q.aclose()
    forget_team(store, batch_id)
    resume_batch(store, batch_id)
    return TeamBatchLostError(batch_id, ref[1], ref[0], store.batch(batch_id).unfinished)


def on_queue(
    engine: Engine, batch_id: int, queue_url: str
) -> Coroutine[Any, Any, BatchReport | None] | None:
    """Where the window runs a batch (``atelier.engine.runner.Elsewhere``): on the team queue
    at ``queue_url`` when one is set, or followed on the queue it is on already
    (``run_on_queue``); ``None``: in the window's own engine."""
    if not queue_url and team_ref(engine.store, batch_id) is None:
        return None
    return run_on_queue(engine.store, batch_id, queue_url, engine.events, engine.thumb_dir)


async def run_on_queue(
    store: Store,
    batch_id: int,
    url: str,
    events: EventBus,
    thumb_dir: Path | None = None,
    detach: bool = False,
    on_submitted: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> BatchReport | None:
    """Put local batch ``batch_id`` on the queue at ``url`` (unless it is there already: then
    follow it again, on ``url`` or the queue it went to) and record what the workers make,
    with the events a local run emits: the window's "Start" with the team queue on, and
    ``atelier run … --queue``. ``on_submitted`` hears the team batch id; ``detach``: return
    ``None`` once submitted; ``on_warning`` hears each event skipped unread (``Follower``).

    Raises:
        QueueError: the queue cannot be used.
        TeamBatchLostError: the queue no longer has the team batch (``Follower.follow``).
    """
    ref = team_ref(store, batch_id)
    q = TeamQueue.open(ref[0] if ref and not url else url)
    try:
        await q.ping()
        if ref is None:
            tid = await submit_batch(q, store, batch_id, thumb_dir)
            if on_submitted is not None:
                on_submitted(tid)
        if detach:
            return None
        await Follower(q, store, batch_id, events, thumb_dir, on_warning).follow()
        return build_report(store, batch_id)
    finally:
        await q.aclose()


__all__ = [
    "QueueError",
    "TeamBatchLostError",
    "control",
    "list_batches",
    "retry_failed",
    "run_on_queue",
    "take_back",
]
