"""The submitting machine's side of a team batch: put it on the queue, then record in its own
store what the workers made (images written into its output folder, costs, failures), as
events for the window's live progress table.

A batch stored locally carries its team reference in its settings (``"team": {"queue": URL
without password, "batch": T}``; ``RunSettings`` ignores the key), so following can start
again after a crash or from another command: every outcome is applied at most once per job
(a job already ended here is left as it is).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atelier.core.events import (
    BatchFinished,
    BatchStarted,
    BatchStateChanged,
    EventBus,
    ImageSaved,
    JobChanged,
)
from atelier.core.i18n import tr
from atelier.core.models import parse_size, validation_problems
from atelier.core.status import TERMINAL, BatchStatus, IllegalTransitionError, JobStatus
from atelier.delivery.courier import Courier
from atelier.output.images import image_metadata, save_image, version_names
from atelier.output.report import build_report, write_report
from atelier.store import Store
from atelier.store.images import Made
from atelier.team.queue import QueueError, TeamQueue
from atelier.team.queue import image_key as team_image_key
from atelier.team.split import run_messages
from atelier.team.submit import submit_batch as submit_batch
from atelier.team.submit import team_ref as team_ref

log = logging.getLogger(__name__)


class TeamBatchLostError(QueueError):
    """The team queue no longer has a batch this machine follows (Redis restarted without
    persistence, or its keys were evicted): nothing more will come for it. The local batch is
    left paused with its unfinished jobs pending, to be queued again (``forget_team`` then
    ``submit_batch``) or made here.

    Attributes:
        batch_id: the local batch.
        tid: the team batch id the queue lost.
        url: the queue's address (without its password).
        unfinished: the local batch's jobs not ended.
    """

    def __init__(self, batch_id: int, tid: str, url: str, unfinished: int) -> None:
        self.batch_id, self.tid, self.url, self.unfinished = batch_id, tid, url, unfinished
        super().__init__(
            tr(
                "Batch {batch} is no longer on the team queue at {url} (team batch {team}): the "
                "queue lost it, as a Redis restarted without persistence does. {count} of its "
                "jobs are unfinished."
            ).format(batch=batch_id, url=url, team=tid, count=unfinished)
        )


def forget_team(store: Store, batch_id: int) -> None:
    """Make local batch ``batch_id`` an ordinary one again (its team batch was lost): its
    team reference is dropped, so it can be queued again or run here; jobs left running by
    the follower go back to pending."""
    batch = store.batch(batch_id)
    store.update_batch_settings(batch_id, {k: v for k, v in batch.settings.items() if k != "team"})
    store.recover(batch_id)


class _Image(BaseModel):
    """An image entry of a completed event, as a worker writes it (``Worker._images``)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    sample: int = Field(ge=0)
    key: str
    seed: int | None = None
    model: str | None = None
    content_key: str | None = None
    keep_s: int | None = Field(None, ge=0)


class _Outcome(BaseModel):
    """The fields of an event the follower uses, with their types (``Worker._outcome``): an
    event that does not have them is skipped, not half applied."""

    model_config = ConfigDict(extra="ignore", strict=True)
    kind: str
    job: int | None = None
    state: str | None = None
    cost: float | None = Field(None, ge=0)
    error: str | None = None
    error_type: str | None = None
    duration_ms: int | None = None
    delivered: bool = False
    images: list[_Image] | None = None


@dataclass
class FollowResult:
    """What following saw: jobs ``completed``, ``failed``, ``cancelled`` here, and the batch's
    team ``state`` when it ended (``"finished"``, or ``paused``/``halted`` with ``reason``)."""

    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    state: str = ""
    reason: str = ""


class Follower:
    """Applies a team batch's events to local batch ``batch_id``.

    Args:
        q: the team queue.
        store: the submitting machine's store.
        batch_id: the local batch (put on the queue by ``submit_batch``).
        events: where ``JobChanged`` / ``ImageSaved`` go (the window's bus).
        thumb_dir: thumbnail cache (``None``: none).
        on_warning: hears each event skipped because it cannot be read, in a sentence (it is
            also logged).
    """

    def __init__(
        self,
        q: TeamQueue,
        store: Store,
        batch_id: int,
        events: EventBus | None = None,
        thumb_dir: Path | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        ref = team_ref(store, batch_id)
        if ref is None:
            raise QueueError(
                tr("Batch {batch} was not put on a team queue.").format(batch=batch_id)
            )
        self.q, self.store, self.batch_id, self.tid = q, store, batch_id, ref[1]
        batch = store.batch(batch_id)
        team = batch.settings["team"]
        # Read once: a team batch's settings and folder do not change while it is followed.
        self.settings, self.out_dir = batch.run_settings(), batch.output_dir
        self.copies = {int(k): [int(j) for j in v] for k, v in team.get("copies", {}).items()}
        self.events = events or EventBus()
        self.thumb_dir = thumb_dir
        self.result = FollowResult()
        self.courier = Courier(store, self.events)
        self.on_warning = on_warning
        # An event may only touch this batch's jobs, and each with the sample count it has.
        self.samples = {j.id: j.spec.sample_count for j in store.jobs(batch_id)}

    async def follow(self, until_idle: bool = True) -> FollowResult:
        """Apply events as they come. Returns once every job has ended here (the batch then
        finished, its report written), or — with ``until_idle`` — once the team batch is
        paused, halted or cancelled and nothing more is coming. An event that cannot be read
        is skipped with a warning (``on_warning``).

        Raises:
            TeamBatchLostError: the queue no longer has the team batch (the local batch is then
                paused, its unfinished jobs pending).
        """
        batch = self.store.batch(self.batch_id)
        # As the engine does at the start of a run: the user may have removed it since.
        await asyncio.to_thread(batch.output_dir.mkdir, parents=True, exist_ok=True)
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.events.emit(BatchStarted(self.batch_id, batch.total, batch.unfinished))
        messages = run_messages(self.settings.delivery)
        if messages is not None:  # the run's Slack and batch.finished messages are ours
            self.courier.begin(self.batch_id, started, messages)
        after = "0-0"
        while True:
            got = await self.q.events(self.tid, after, block_ms=1000)
            for eid, outcome in got:
                after = eid
                problem = outcome if isinstance(outcome, str) else self._problem(outcome)
                if problem is not None:
                    self._skip(eid, problem)
                    continue
                await self._apply(outcome)  # type: ignore[arg-type]
            if not self.store.batch(self.batch_id).unfinished:
                break
            state, reason = await self.q.state(self.tid)
            if not state:  # its record is gone: nothing more will ever come
                raise self._lost()
            if until_idle and not got and state in ("paused", "halted", "cancelled"):
                self.result.state, self.result.reason = state, reason
                break
        return await self._finish(started)

    def _lost(self) -> TeamBatchLostError:
        """Leave the local batch as a resumable one (paused, jobs pending), not ``running``."""
        self.store.recover(self.batch_id)
        batch = self.store.batch(self.batch_id)
        if batch.status != BatchStatus.PAUSED:
            self.store.set_batch_status(self.batch_id, BatchStatus.PAUSED, finished=True)
        self.events.emit(BatchStateChanged(self.batch_id, BatchStatus.PAUSED))
        log.warning(
            "team batch %s of batch %s is gone from %s", self.tid, self.batch_id, self.q.url
        )
        return TeamBatchLostError(self.batch_id, self.tid, self.q.url, batch.unfinished)

    def _skip(self, eid: str, problem: str) -> None:
        text = tr("Event {event} of team batch {team} was skipped: {reason}").format(
            event=eid, team=self.tid, reason=problem
        )
        log.warning("%s", text)
        if self.on_warning is not None:
            self.on_warning(text)

    def _problem(self, o: dict[str, Any]) -> str | None:
        """Why event ``o`` cannot be applied to this batch (a sentence), else ``None``: its
        fields must have the types a worker writes, its job be one of this batch, and each
        image name a sample of that job at the key a worker writes it to (so an event can
        neither touch another batch's jobs nor make this machine read or delete any other
        key)."""
        try:
            ev = _Outcome.model_validate(o)
        except ValidationError as e:
            where, problem = validation_problems(e)[0]
            return tr("its field {field} is not what a worker writes ({problem}).").format(
                field=where, problem=problem
            )
        if ev.cost is not None and not math.isfinite(ev.cost):
            return tr("its field {field} is not what a worker writes ({problem}).").format(
                field="cost", problem="inf/nan"
            )
        if ev.job is None or ev.kind == "state":
            return None
        if ev.job not in self.samples:
            return tr("it names job {job}, which is not one of this batch's.").format(job=ev.job)
        for img in ev.images or []:
            if img.sample >= self.samples[ev.job] or img.key != team_image_key(
                self.tid, ev.job, img.sample
            ):
                return tr("it names an image that is not one of job {job}'s.").format(job=ev.job)
        return None

    async def _finish(self, started: str) -> FollowResult:
        batch = self.store.batch(self.batch_id)
        status = BatchStatus.PAUSED if batch.unfinished else BatchStatus.FINISHED
        self.store.set_batch_status(self.batch_id, status, finished=True)
        report = build_report(self.store, self.batch_id, started)
        await write_report(report, batch.output_dir)
        await self.courier.end(self.batch_id, started)  # (nothing when it has no messages)
        self.events.emit(BatchFinished(self.batch_id, report, self.result.reason or None))
        self.result.state = self.result.state or "finished"
        return self.result

    async def _apply(self, o: dict[str, Any]) -> None:
        kind, jid = o.get("kind"), o.get("job")
        if kind == "state":
            self.events.emit(BatchStateChanged(self.batch_id, str(o.get("state"))))
            return
        if not isinstance(jid, int):
            return
        job = self.store.job(jid)
        if job.status in TERMINAL:
            if job.status == JobStatus.COMPLETED or kind not in ("started", "completed"):
                return
            # A team member retried it ("Retry failed"): it is made again.
            self.store.reset_for_retry([jid])
            job = self.store.job(jid)
        if job.status == JobStatus.PENDING:
            self.store.claim_job(jid)
        if kind == "started":
            self._changed(jid, JobStatus.RUNNING)
        elif kind == "completed":
            await self._completed(jid, o)
        elif kind in ("failed", "cancelled"):
            status = JobStatus.FAILED if kind == "failed" else JobStatus.CANCELLED
            for j in [jid, *self.copies.get(jid, [])]:
                self._end(j, status, {**o, "cost": o.get("cost") if j == jid else 0.0})

    async def _completed(self, jid: int, o: dict[str, Any]) -> None:
        images = o.get("images") or []
        share = None if o.get("cost") is None else float(o["cost"]) / max(1, len(images))
        copies = self.copies.get(jid, [])
        for img in images:
            if o.get("delivered"):
                break  # delivered by the worker: nothing comes back here
            data = await self.q.image(str(img["key"]))
            if data is None:  # expired before we came back for it
                lost = {
                    "error": tr(
                        "The image expired on the team queue before this machine fetched it."
                    ),
                    "error_type": "internal",
                }
                for j in [jid, *copies]:
                    self._end(j, JobStatus.FAILED, lost)
                return
            idx = int(img["sample"])
            source = await self._write(jid, idx, data, img, share, None)
            for other in copies:
                await self._write(other, idx, data, img, 0.0, source)
            await self.q.forget_image(str(img["key"]), int(img.get("keep_s") or 0))
        self._end(jid, JobStatus.COMPLETED, o)
        for other in copies:
            self._end(other, JobStatus.COMPLETED, {**o, "cost": 0.0})

    async def _write(
        self,
        jid: int,
        idx: int,
        data: bytes,
        img: dict[str, Any],
        cost: float | None,
        source: int | None,
    ) -> int:
        """Write sample ``idx`` of job ``jid`` (``data``: the worker's file) into the output
        folder and record it (``source``: the image it copies, made once for the batch);
        returns the image's id."""
        job = self.store.job(jid)
        if job.status == JobStatus.PENDING:
            self.store.claim_job(jid)
        s = self.settings
        model = str(img.get("model") or s.model)
        meta = image_metadata(s.provider, model, job.spec, idx, img.get("seed"), None)
        size = None if job.spec.size == "auto" else parse_size(job.spec.size)
        name = job.spec.sample_paths()[idx]
        if job.version > 1:  # never over a file that is not this version's own
            names = await asyncio.to_thread(
                version_names, self.out_dir, s.provider, model, job.spec, job.version, s.overwrite
            )
            name = names[idx]
        path, thumb, sha = await asyncio.to_thread(
            save_image,
            self.out_dir,
            name,
            data,
            job.spec.output_format,
            meta,
            self.thumb_dir,
            size,
            s.overwrite,
        )
        image_id = self.store.add_image(
            jid,
            idx,
            path,
            thumb,
            seed=img.get("seed"),
            prompt=job.spec.prompt,
            # Its content key: a later batch of this machine copies it as it copies its own.
            made=Made(model, cost, None, img.get("content_key"), sha, source),
        )
        thumb_text = str(thumb) if thumb else None
        self.events.emit(
            ImageSaved(self.batch_id, jid, idx, str(path), thumb_text, job.version, image_id)
        )
        return image_id

    def _end(self, jid: int, status: JobStatus, o: dict[str, Any]) -> None:
        if self.store.job(jid).status == JobStatus.PENDING:  # a copy, or never started
            self.store.claim_job(jid)
        # One attempt row stands for the worker's work on the job (its own store has each
        # request), so this store's reports count what the job cost and how it ended.
        aid, _ = self.store.start_attempt(jid)
        self.store.finish_attempt(
            aid,
            {JobStatus.COMPLETED: "ok", JobStatus.FAILED: "error"}.get(status, "cancelled"),
            error=o.get("error"),
            error_type=o.get("error_type"),
            images=len(o.get("images") or []),
            cost=o.get("cost"),
        )
        if o.get("cost") is not None:
            self.store.add_cost(jid, float(o["cost"]))
        try:
            self.store.set_job_status(
                jid,
                status,
                error=o.get("error"),
                error_type=o.get("error_type"),
                duration_ms=o.get("duration_ms"),
            )
        except IllegalTransitionError:
            return
        if status == JobStatus.COMPLETED:
            self.result.completed += 1
        elif status == JobStatus.FAILED:
            self.result.failed += 1
        else:
            self.result.cancelled += 1
        self._changed(jid, status, o)

    def _changed(self, jid: int, status: JobStatus, o: dict[str, Any] | None = None) -> None:
        o = o or {}
        attempts, cost = self.store.job_attempts_and_cost(jid)
        self.events.emit(
            JobChanged(
                self.batch_id,
                jid,
                status,
                attempts,
                o.get("error"),
                o.get("error_type"),
                cost,
                o.get("duration_ms"),
            )
        )
