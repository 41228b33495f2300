"""The async batch engine: lanes, concurrency, retries, timeouts, pause/resume/cancel.

One ``Engine`` serves the window and the command line. It takes ``pending`` jobs from the
store, claims each atomically, sends it through the provider's lane, writes its images, and
records every step in the store before and after it happens, emitting typed events
(``app.events``) as it goes.

Retries: only for the classes the batch's ``RetryPolicy.retry_on_errors`` names and never for
``quota``, ``content_policy``, ``invalid_request`` or ``auth``; exponential backoff with full
jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), never shorter than the
server's Retry-After. A 429 holds the whole lane, not only the job that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.errors import NEVER_RETRIED, AtelierError, ErrorClass, OutputError, ProviderError
from app.events import (
    BatchFinished,
    BatchStarted,
    BatchStateChanged,
    EventBus,
    ImageSaved,
    JobChanged,
    JobProgress,
    LaneWaiting,
)
from app.export import write_results_csv
from app.models import BatchReport, JobResult, JobSpec, RetryPolicy, RunSettings, parse_size
from app.outputs import (
    REPORT_CSV_NAME,
    REPORT_NAME,
    atomic_write,
    clean_temp_files,
    deliver_spooled,
    read_metadata,
    save_image,
    spool_image,
    spooled,
)
from app.pricing import PriceTable
from app.providers.base import GenerationRequest, GenerationResult, Provider
from app.providers.registry import resolve_target
from app.ratelimit import AdaptiveGate, Pacer, SlidingWindowLimiter, parse_rate_headers
from app.store import JobRow, Store

ProviderFactory = Callable[[RunSettings], Provider]
log = logging.getLogger("atelier.engine")


def job_key(provider: str, model: str, spec: JobSpec, sample: int) -> str:
    """Identity of one image: same provider, model, prompt, parameters, seed, sample and path.

    Embedded in the image metadata so that a file found on disk after a crash is adopted
    only when it really is this image.
    """
    ident = [
        provider,
        model,
        spec.prompt,
        spec.negative_prompt,
        spec.size,
        spec.quality,
        spec.output_format,
        spec.transparent_background,
        spec.seed,
        sample,
        spec.output_path,
    ]
    return hashlib.sha256(json.dumps(ident, ensure_ascii=False).encode()).hexdigest()[:32]


def backoff_delay(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Seconds before retry number ``retry`` (1-based): full jitter over the capped exponential."""
    cap = min(policy.max_delay_ms, policy.retry_delay_ms * (2 ** (retry - 1))) / 1000
    return rng.uniform(0, cap)


class Lane:
    """Everything shared by the jobs of one provider in a run.

    Attributes:
        provider: the adapter instance (one connection pool per provider).
        concurrency: the most requests in flight (the run's setting, capped by the provider's
            ``max_concurrency``: BFL's 24 active tasks, A1111's one at a time); ``gate`` adapts
            below it.
        blocked_until: ``loop.time()`` before which nobody sends (429 + Retry-After, lockout).
        queue: pending job ids of this lane, in order.
        requests, images: the pacing in force (user-set or learned).
    """

    def __init__(
        self,
        name: str,
        provider: Provider,
        concurrency: int,
        events: EventBus,
        rpm: int | None = None,
        ipm: int | None = None,
    ) -> None:
        caps = provider.capabilities
        self.name = name
        self.provider = provider
        self.concurrency = max(1, min(concurrency, caps.max_concurrency or concurrency))
        self.gate = AdaptiveGate(
            min(self.concurrency, max(caps.default_concurrency, 1)), self.concurrency
        )
        self.blocked_until = 0.0
        self.queue: deque[int] = deque()
        self.lockout_s = caps.rate_limit_lockout_s
        self._window = SlidingWindowLimiter(*caps.rate_limit) if caps.rate_limit else None
        self._user_rpm, self._user_ipm = rpm, ipm
        self.requests = Pacer(rpm)
        self.images = Pacer(ipm)
        self.rate_limited = 0
        self._events = events

    def block(self, seconds: float) -> None:
        """Hold every request of this lane for ``seconds``."""
        until = asyncio.get_running_loop().time() + seconds
        if until > self.blocked_until:
            self.blocked_until = until
            self._events.emit(LaneWaiting(self.name, seconds))

    async def wait(self) -> None:
        """Return once the lane is open (no 429 wait or lockout pending)."""
        loop = asyncio.get_running_loop()
        # A loop, not an Event: another 429 may push the deadline further while we sleep.
        while (delay := self.blocked_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def slot(self, images: int) -> AsyncIterator[None]:
        """Hold one request's place: lane open, a concurrency slot, and the request and image
        pacing (and a published window limit) allow it."""
        await self.gate.acquire()
        try:
            # Wait out a 429 hold *before* taking a pacing slot: slots taken during a hold
            # would all be released at once when it ends, as a burst.
            await self.wait()
            await self.requests.acquire(1)
            await self.images.acquire(images)
            if self._window is not None:
                await self._window.acquire()
            yield
        finally:
            await self.gate.release()

    def on_success(self, latency_s: float, headers: dict[str, str]) -> None:
        """Learn from a good response: its ``x-ratelimit-*`` headers and its latency."""
        info = parse_rate_headers(headers)
        if info.limit_requests:
            learned = float(info.limit_requests)
            self.requests.set_rate(min(learned, self._user_rpm) if self._user_rpm else learned)
        if info.limit_images:
            learned = float(info.limit_images)
            self.images.set_rate(min(learned, self._user_ipm) if self._user_ipm else learned)
        if info.remaining_requests is not None and info.reset_requests_s is not None:
            self.requests.learn_bucket(info.remaining_requests, info.reset_requests_s)
        if info.remaining_requests == 0 and info.reset_requests_s:
            # Empty bucket: one request's worth of refill, not the time until it is full.
            per_min = self.requests.per_minute
            self.block(
                min(info.reset_requests_s, 60 / per_min) if per_min else info.reset_requests_s
            )
        per_min = self.requests.per_minute or self.images.per_minute
        self.gate.on_success(latency_s, per_min / 60 if per_min else None)

    def on_rate_limited(self, wait_s: float) -> None:
        """A 429: the whole lane waits, and fewer requests go at once."""
        self.rate_limited += 1
        self.gate.on_rate_limited()
        self.block(wait_s)


@dataclass
class _Run:
    batch_id: int
    settings: RunSettings
    out_dir: Path
    lanes: dict[str, Lane] = field(default_factory=dict)
    unpaused: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[Any] | None = None
    stop_reason: str | None = None
    halt_reason: str | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    started_wall: str = ""
    started_mono: float = 0.0


def job_target(settings: RunSettings, spec: JobSpec) -> tuple[str, str]:
    """``resolve_target`` for a job of a batch run with ``settings``."""
    return resolve_target(settings.provider, settings.model, spec.provider, spec.model)


class Engine:
    """Runs batches stored in ``store``.

    Args:
        store: the SQLite store.
        provider_factory: builds the provider for a batch's ``RunSettings`` (key lookup lives
            there, so the engine never sees where a key came from).
        prices: for costs when a response carries no ``usage``.
        thumb_dir: thumbnail cache (``None``: no thumbnails).
        events: the bus every event goes to.
    """

    def __init__(
        self,
        store: Store,
        provider_factory: ProviderFactory,
        prices: PriceTable | None = None,
        thumb_dir: Path | None = None,
        events: EventBus | None = None,
        rng: random.Random | None = None,
        spool_root: Path | None = None,
    ) -> None:
        self.store = store
        self.provider_factory = provider_factory
        self.prices = prices or PriceTable()
        self.thumb_dir = thumb_dir
        self.events = events or EventBus()
        self.rng = rng or random.Random()
        self.spool_root = spool_root
        self._runs: dict[int, _Run] = {}

    # ---- control ---------------------------------------------------------------------------
    def is_running(self, batch_id: int) -> bool:
        """Whether a run of ``batch_id`` is in progress in this engine."""
        return batch_id in self._runs

    def pause(self, batch_id: int) -> None:
        """Start no new request (requests in flight finish)."""
        run = self._runs.get(batch_id)
        if run and run.unpaused.is_set():
            run.unpaused.clear()
            self.store.set_batch_status(batch_id, "paused")
            self.events.emit(BatchStateChanged(batch_id, "paused"))

    def resume(self, batch_id: int) -> None:
        """Undo ``pause``."""
        run = self._runs.get(batch_id)
        if run and not run.unpaused.is_set():
            run.unpaused.set()
            self.store.set_batch_status(batch_id, "running")
            self.events.emit(BatchStateChanged(batch_id, "running"))

    def cancel(self, batch_id: int, reason: str = "Cancelled by the user.") -> None:
        """Abort requests in flight; every job not done becomes ``cancelled``."""
        run = self._runs.get(batch_id)
        if run and run.task and run.stop_reason is None:
            run.stop_reason = reason
            self.events.emit(BatchStateChanged(batch_id, "cancelling"))
            run.task.cancel()

    def requeue(self, batch_id: int, job_ids: list[int]) -> None:
        """Jobs just put back to ``pending`` (by ``Store.reset_for_retry``): tell the views, and
        add them to the queues of a run in progress."""
        for jid in job_ids:
            job = self.store.job(jid)
            self.events.emit(JobChanged(batch_id, jid, "pending", job.attempts, cost=job.cost))
        run = self._runs.get(batch_id)
        if run:
            for jid in job_ids:
                provider, _ = job_target(run.settings, self.store.job(jid).spec)
                lane = run.lanes.get(provider)
                if lane is not None:
                    lane.queue.append(jid)

    def retry(self, batch_id: int, job_ids: list[int]) -> list[int]:
        """Put failed/cancelled jobs back to ``pending`` (same jobs, new attempts).

        If the batch is running they join its queue; otherwise call ``run`` to work on them.
        Returns the ids that were reset.
        """
        reset = self.store.reset_for_retry(job_ids)
        self.requeue(batch_id, reset)
        return reset

    # ---- running ---------------------------------------------------------------------------
    async def run(self, batch_id: int) -> BatchReport:
        """Work on every pending job of ``batch_id`` until none is left, or cancel/timeout.

        Returns the report (also written to ``<output_dir>/atelier-report.json``).
        Raises:
            RuntimeError: the batch is already running in this engine.
            asyncio.CancelledError: when cancelled from outside (not via ``cancel``): jobs go
                back to ``pending`` and the batch stays resumable.
        """
        if batch_id in self._runs:
            raise RuntimeError(f"batch {batch_id} is already running")
        batch = self.store.batch(batch_id)
        settings = RunSettings.model_validate(batch.settings)
        run = _Run(batch_id, settings, batch.output_dir)
        run.unpaused.set()
        run.task = asyncio.current_task()
        run.started_wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        run.started_mono = time.monotonic()
        self._runs[batch_id] = run
        external_cancel = False
        try:
            self.store.recover(batch_id)
            # Resuming means the user fixed what stopped us: the output folder may be re-created.
            await asyncio.to_thread(run.out_dir.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(clean_temp_files, run.out_dir)
            await self._deliver_spool(run)
            await self._verify_outputs(run)
            await self._adopt_existing(run)
            run.spent_usd = self.store.known_spend_usd(batch_id)
            pending = self.store.pending_job_ids(batch_id)
            self.store.set_batch_status(batch_id, "running", started=True)
            self.events.emit(BatchStarted(batch_id, batch.total, len(pending)))
            log.info(
                "batch %s: run started, %s of %s jobs pending (%s / %s, concurrency %s)",
                batch_id,
                len(pending),
                batch.total,
                settings.provider,
                settings.model,
                settings.concurrency,
            )
            timeout_s = settings.batch_timeout_ms / 1000 if settings.batch_timeout_ms else None
            try:
                async with asyncio.timeout(timeout_s):
                    await self._drain(run)
                    await self._wait_for_others(run)
            except TimeoutError:
                run.stop_reason = f"The batch timeout of {timeout_s:g} s was reached; unfinished jobs were cancelled."
            except asyncio.CancelledError:
                if run.stop_reason is None:
                    external_cancel = True
                    raise
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
        finally:
            del self._runs[batch_id]
            for lane in run.lanes.values():
                with contextlib.suppress(Exception):
                    await asyncio.shield(lane.provider.aclose())
            if external_cancel:
                self.store.recover(batch_id)
                self.store.set_batch_status(batch_id, "paused")
        if run.stop_reason:
            for jid in self.store.cancel_unfinished(batch_id, run.stop_reason):
                job = self.store.job(jid)
                self.events.emit(
                    JobChanged(
                        batch_id,
                        jid,
                        "cancelled",
                        job.attempts,
                        run.stop_reason,
                        "cancelled",
                        job.cost,
                    )
                )
        final = self.store.batch(batch_id)
        status = (
            "cancelled" if run.stop_reason else ("finished" if not final.unfinished else "paused")
        )
        self.store.set_batch_status(batch_id, status, finished=True)
        report = self.report(
            batch_id,
            run.started_wall,
            time.monotonic() - run.started_mono,
            run.stop_reason or run.halt_reason,
        )
        try:
            await asyncio.to_thread(
                atomic_write,
                run.out_dir / REPORT_NAME,
                report.model_dump_json(indent=2).encode("utf-8"),
            )
            await asyncio.to_thread(write_results_csv, report, run.out_dir / REPORT_CSV_NAME)
        except OutputError as e:
            report.warnings.append(f"report not written: {e}")
        log.info(
            "batch %s: run ended: %s succeeded, %s failed, %s cancelled%s",
            batch_id,
            report.succeeded,
            report.failed,
            report.cancelled,
            f" ({run.stop_reason or run.halt_reason})"
            if run.stop_reason or run.halt_reason
            else "",
        )
        self.events.emit(BatchFinished(batch_id, report, run.stop_reason or run.halt_reason))
        return report

    def _lane(self, run: _Run, provider: str) -> Lane:
        lane = run.lanes.get(provider)
        if lane is None:
            rs = run.settings
            if provider != rs.provider:  # the batch's base URL belongs to the batch's provider
                rs = rs.model_copy(update={"provider": provider, "base_url": None})
            limits = run.settings.rate_limits.get(provider)
            lane = Lane(
                provider,
                self.provider_factory(rs),
                run.settings.concurrency,
                self.events,
                rpm=limits.rpm if limits else None,
                ipm=limits.ipm if limits else None,
            )
            run.lanes[provider] = lane
        return lane

    async def _drain(self, run: _Run) -> None:
        """Lanes work side by side, each with its own workers; then pending jobs added meanwhile
        (retries) are picked up, until none is left. A provider that cannot even be set up (an
        unknown name, a missing ComfyUI workflow) fails its jobs with the reason."""
        s = run.settings
        while True:
            # Provider and model straight from SQL: validating every pending spec here would
            # parse 10,000 jobs before the first request.
            pending = self.store.pending_targets(run.batch_id)
            if not pending:
                return
            for lane in run.lanes.values():
                lane.queue.clear()
            for jid, job_provider, job_model in pending:
                provider, _ = resolve_target(s.provider, s.model, job_provider, job_model)
                try:
                    self._lane(run, provider).queue.append(jid)
                except AtelierError as e:
                    if self.store.claim_job(jid):
                        attempts = self.store.job(jid).attempts
                        self._fail(
                            run,
                            jid,
                            attempts,
                            f"{provider}: {e}",
                            ErrorClass.INVALID_REQUEST.value,
                            0,
                        )
            async with asyncio.TaskGroup() as tg:
                for lane in run.lanes.values():
                    for _ in range(min(lane.concurrency, len(lane.queue))):
                        tg.create_task(self._worker(run, lane))
            if run.halt_reason:
                return

    async def _worker(self, run: _Run, lane: Lane) -> None:
        while lane.queue:
            await run.unpaused.wait()
            if not lane.queue:
                return
            jid = lane.queue.popleft()
            if self.store.claim_job(jid):
                await self._process(run, lane, self.store.job(jid))

    async def _wait_for_others(self, run: _Run) -> None:
        """Another Atelier process on the same store may still be working on jobs of this batch
        (two windows, or a window and a command line): wait for them, so the report is whole.
        The claim in the store already makes sure no job runs twice."""
        while run.halt_reason is None and self.store.others_working(run.batch_id):
            await asyncio.sleep(0.3)
            if self.store.pending_job_ids(run.batch_id):  # they released some: take our share
                await self._drain(run)

    def _halt(self, run: _Run, reason: str) -> None:
        """Start no more jobs in this run (a budget cap, a broken output folder); jobs not
        started stay pending so the batch resumes once the cause is fixed."""
        if run.halt_reason is None:
            run.halt_reason = reason
            log.warning("batch %s: %s", run.batch_id, reason)
            self.events.emit(BatchStateChanged(run.batch_id, "halted"))
        for lane in run.lanes.values():
            lane.queue.clear()

    def _spool_dir(self, run: _Run) -> Path:
        return (self.spool_root or run.out_dir.parent / ".atelier-spool") / str(run.batch_id)

    async def _deliver_spool(self, run: _Run) -> None:
        """Write images that were paid for but could not be written last time."""
        for job_id, sample, rel, f in await asyncio.to_thread(spooled, self._spool_dir(run)):
            try:
                path, thumb = await asyncio.to_thread(
                    deliver_spooled, run.out_dir, rel, f, self.thumb_dir
                )
            except (OutputError, OSError) as e:
                log.warning(
                    "batch %s: spooled image for job %s still cannot be written: %s",
                    run.batch_id,
                    job_id,
                    e,
                )
                continue
            self.store.add_image(job_id, sample, path, thumb)
            job = self.store.job(job_id)
            if (
                len(self.store.samples_done(job_id)) == job.spec.sample_count
                and job.status != "completed"
            ):
                self.store.set_job_status(job_id, "completed")
                self.events.emit(
                    JobChanged(run.batch_id, job_id, "completed", job.attempts, cost=job.cost)
                )

    async def _verify_outputs(self, run: _Run) -> None:
        """Completed jobs whose files are gone (a deleted folder) go back to pending."""

        def missing() -> dict[int, list[int]]:
            out: dict[int, list[int]] = {}
            for im in self.store.images(run.batch_id):
                if not im.path.exists():
                    out.setdefault(im.job_id, []).append(im.sample_index)
            return out

        for job_id, samples in (await asyncio.to_thread(missing)).items():
            self.store.forget_images(job_id, samples)
            log.warning(
                "batch %s: job %s lost %s file(s) on disk; it will be made again",
                run.batch_id,
                job_id,
                len(samples),
            )

    async def _adopt_existing(self, run: _Run) -> None:
        """Record files a killed run wrote but did not get to record (checked by embedded key)."""
        # A fresh batch writes into an empty folder: then there is nothing to adopt, and no
        # reason to read every pending job's spec.
        if not await asyncio.to_thread(lambda: any(p.is_file() for p in run.out_dir.rglob("*"))):
            return
        for jid in self.store.pending_job_ids(run.batch_id):
            job = self.store.job(jid)
            provider, model = job_target(run.settings, job.spec)
            done = self.store.samples_done(jid)
            for idx, rel in enumerate(job.spec.sample_paths()):
                path = run.out_dir / rel
                if idx in done or not path.exists():
                    continue
                meta = await asyncio.to_thread(read_metadata, path)
                if meta and meta.get("job_key") == job_key(provider, model, job.spec, idx):
                    self.store.add_image(jid, idx, path.resolve(), None, adopted=True)
                    done.add(idx)
            if len(done) == job.spec.sample_count:
                self.store.set_job_status(jid, "completed")

    def _cost(
        self, provider: str, model: str, spec: JobSpec, result: GenerationResult
    ) -> float | None:
        if result.usage:
            usd = self.prices.cost_from_usage(provider, model, result.usage)
            if usd is not None:
                return usd
        per_image = self.prices.price_per_image(provider, model, spec.quality, spec.size)
        return None if per_image is None else round(per_image * len(result.images), 6)

    def _reserve(
        self, run: _Run, provider: str, model: str, spec: JobSpec, images: int
    ) -> float | None:
        """Book the worst-case cost of one request against the batch's budget cap.

        Returns the amount booked (0 without a cap), or ``None`` (and halts the run) when the
        request could take spend over the cap, or its price is unknown.
        """
        cap = run.settings.budget_usd
        if cap is None:
            return 0.0
        if run.halt_reason:
            return None
        per_image = self.prices.price_per_image(provider, model, spec.quality, spec.size)
        if per_image is None:
            self._halt(
                run,
                f"Budget cap of ${cap:.2f}: the price of {provider} {model} ({spec.quality}, "
                f"{spec.size}) is unknown, so no job was started that could exceed it. Add the price in "
                "ATELIER_HOME/prices.json or remove the cap.",
            )
            return None
        need = per_image * images
        if run.spent_usd + run.reserved_usd + need > cap + 1e-9:
            self._halt(
                run,
                f"Budget cap of ${cap:.2f} reached: ${run.spent_usd:.3f} spent; the next job "
                f"(${need:.3f}) would exceed it. Jobs not started stay pending: raise the cap and resume.",
            )
            return None
        run.reserved_usd += need
        return need

    def _should_retry(self, policy: RetryPolicy, err: ProviderError, retries: int) -> bool:
        if err.error_class in NEVER_RETRIED or err.retryable is False:
            return False
        if retries >= policy.max_retries:
            return False
        return err.retryable is True or err.error_class in policy.retry_on_errors

    def _fail(
        self, run: _Run, jid: int, attempts: int, message: str, error_type: str, ms: int
    ) -> None:
        self.store.set_job_status(
            jid, "failed", error=message, error_type=error_type, duration_ms=ms
        )
        self.events.emit(
            JobChanged(
                run.batch_id,
                jid,
                "failed",
                attempts,
                message,
                error_type,
                self.store.job(jid).cost,
                ms,
            )
        )

    @staticmethod
    def _read_inputs(spec: JobSpec) -> tuple[tuple[bytes, ...], bytes | None]:
        """Reference images and mask as bytes (blocking; run in a thread).

        Raises:
            ProviderError: ``invalid_request`` naming the missing or unreadable file.
        """
        try:
            refs = tuple(Path(p).read_bytes() for p in spec.reference_images)
            mask = Path(spec.mask).read_bytes() if spec.mask else None
        except OSError as e:
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                f"Cannot read the reference image {e.filename}: {e.strerror}.",
            ) from e
        return refs, mask

    async def _process(self, run: _Run, lane: Lane, job: JobRow) -> None:
        s, spec, jid = run.settings, job.spec, job.id
        provider_name, model = job_target(s, spec)
        info = lane.provider.capabilities.model(model)
        per_request = info.max_samples_per_request if info else 1
        done = self.store.samples_done(jid)
        started = time.monotonic()
        retries = 0
        attempts = job.attempts
        last_progress = [0.0]
        # The job's cost as the store has it (None: partly unknown), kept here as it changes so
        # each event does not read the job back from the store.
        job_cost = job.cost

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        def on_progress(fraction: float) -> None:
            if abs(fraction - last_progress[0]) >= 0.02 or fraction >= 1.0:
                last_progress[0] = fraction
                self.events.emit(JobProgress(run.batch_id, jid, fraction))

        try:
            refs, mask = await asyncio.to_thread(self._read_inputs, spec)
        except ProviderError as e:
            self._fail(run, jid, attempts, e.message, e.error_class.value, elapsed_ms())
            return

        while True:
            remaining = [i for i in range(spec.sample_count) if i not in done]
            if not remaining:
                self.store.set_job_status(jid, "completed", duration_ms=elapsed_ms())
                self.events.emit(
                    JobChanged(
                        run.batch_id,
                        jid,
                        "completed",
                        attempts,
                        cost=job_cost,
                        duration_ms=elapsed_ms(),
                    )
                )
                return
            await run.unpaused.wait()
            batch_idx = remaining[:per_request]
            req = GenerationRequest(
                model=model,
                prompt=spec.prompt,
                size=spec.size,
                quality=spec.quality,
                output_format=spec.output_format,
                n=len(batch_idx),
                negative_prompt=spec.negative_prompt,
                transparent_background=spec.transparent_background,
                moderation=spec.moderation,
                seed=spec.seed,
                first_sample=batch_idx[0],
                row_values=spec.row_values,
                operation=spec.operation,
                reference_images=refs,
                mask=mask,
                style_preset=spec.style_preset,
                on_progress=on_progress,
            )
            reserve = self._reserve(run, provider_name, model, spec, len(batch_idx))
            if reserve is None:  # the budget cap: this job waits for a higher cap
                self.store.set_job_status(jid, "pending")
                self.events.emit(JobChanged(run.batch_id, jid, "pending", attempts, cost=job_cost))
                return
            err: ProviderError | None = None
            async with lane.slot(len(batch_idx)):
                attempt_id, attempts = self.store.start_attempt(jid)
                self.events.emit(JobChanged(run.batch_id, jid, "running", attempts, cost=job_cost))
                sent = time.monotonic()
                try:
                    async with asyncio.timeout(s.job_timeout_ms / 1000):
                        result = await lane.provider.generate(req)
                except TimeoutError:
                    err = ProviderError(
                        ErrorClass.TIMEOUT,
                        f"No answer within the job timeout of "
                        f"{s.job_timeout_ms / 1000:g} s; the request was cancelled.",
                    )
                except ProviderError as e:
                    err = e
            run.reserved_usd -= reserve
            cost = self._cost(provider_name, model, spec, result) if err is None else None
            if err is None:
                run.spent_usd += cost or 0.0
                lane.on_success(time.monotonic() - sent, result.rate_limits)
            elif err.error_class is ErrorClass.RATE_LIMIT:
                # The whole lane waits what the server asked (or its lockout), not the job's jitter.
                lane.on_rate_limited(
                    err.retry_after_s if err.retry_after_s is not None else (lane.lockout_s or 1.0)
                )
            if err is None:
                self.store.add_cost(jid, cost)
                job_cost = None if cost is None or job_cost is None else job_cost + cost
                saved = 0
                for idx, image in zip(batch_idx, result.images, strict=False):
                    meta = {
                        "generator": f"Atelier {__version__}",
                        "provider": provider_name,
                        "model": model,
                        "prompt": spec.prompt,
                        "negative_prompt": spec.negative_prompt,
                        "size": spec.size,
                        "quality": spec.quality,
                        "output_format": spec.output_format,
                        "seed": image.seed if image.seed is not None else spec.seed,
                        "sample": idx + 1,
                        "operation": spec.operation,
                        "job_key": job_key(provider_name, model, spec, idx),
                        "revised_prompt": result.revised_prompt,
                    }
                    try:
                        path, thumb = await asyncio.to_thread(
                            save_image,
                            run.out_dir,
                            spec.sample_paths()[idx],
                            image.data,
                            spec.output_format,
                            meta,
                            self.thumb_dir,
                            None if spec.size == "auto" else parse_size(spec.size),
                        )
                    except ProviderError as e:
                        err = e
                        break
                    except OutputError as e:
                        message = str(e)
                        if e.payload is not None and await asyncio.to_thread(
                            spool_image,
                            self._spool_dir(run),
                            jid,
                            idx,
                            spec.sample_paths()[idx],
                            e.payload,
                        ):
                            message += " The image is kept and will be written when you resume."
                        self.store.finish_attempt(
                            attempt_id,
                            "error",
                            error=message,
                            error_type="output",
                            images=saved,
                            cost=cost,
                        )
                        self._fail(
                            run, jid, attempts, message, ErrorClass.OUTPUT.value, elapsed_ms()
                        )
                        # Every next image would meet the same disk: stop paying for them.
                        self._halt(run, f"Stopped: {e} Jobs not started yet stay pending.")
                        return
                    self.store.add_image(jid, idx, path, thumb)
                    done.add(idx)
                    saved += 1
                    self.events.emit(
                        ImageSaved(run.batch_id, jid, idx, str(path), str(thumb) if thumb else None)
                    )
                self.store.finish_attempt(
                    attempt_id,
                    "ok" if err is None else "error",
                    images=saved,
                    cost=cost,
                    error=err.message if err else None,
                    error_type=err.error_class.value if err else None,
                )
                if err is None:
                    continue
            else:
                self.store.finish_attempt(
                    attempt_id,
                    "error",
                    error=err.message,
                    error_type=err.error_class.value,
                    http_status=err.status,
                )
            log.warning(
                "job %s attempt %s: %s (HTTP %s): %s",
                jid,
                attempts,
                err.error_class.value,
                err.status,
                err.message,
            )
            if not self._should_retry(s.retry_policy, err, retries):
                self._fail(run, jid, attempts, err.message, err.error_class.value, elapsed_ms())
                return
            retries += 1
            delay = max(backoff_delay(s.retry_policy, retries, self.rng), err.retry_after_s or 0.0)
            if (
                err.error_class is ErrorClass.RATE_LIMIT
                and err.retry_after_s is None
                and lane.lockout_s
            ):
                delay = max(delay, lane.lockout_s)  # Stability locks a key out for 60 s
            self.store.set_job_status(
                jid, "waiting", error=err.message, error_type=err.error_class.value
            )
            self.events.emit(
                JobChanged(
                    run.batch_id,
                    jid,
                    "waiting",
                    attempts,
                    err.message,
                    err.error_class.value,
                    job_cost,
                    retry_in_s=delay,
                )
            )
            await asyncio.sleep(delay)

    # ---- reporting -------------------------------------------------------------------------
    def report(
        self,
        batch_id: int,
        started_at: str | None = None,
        duration_s: float | None = None,
        reason: str | None = None,
    ) -> BatchReport:
        """The report of ``batch_id`` as it stands (see ``BatchReport``)."""
        batch = self.store.batch(batch_id)
        results: list[JobResult] = []
        total_cost: float | None = 0.0
        # Two queries for the whole batch, not one per job (10,000 at the end of a big batch).
        paths_of: dict[int, list[str]] = {}
        for im in self.store.images(batch_id):
            paths_of.setdefault(im.job_id, []).append(str(im.path))
        for job in self.store.job_summaries(batch_id):
            paths = paths_of.get(job.id, [])
            results.append(
                JobResult(
                    job_id=job.id,
                    prompt=job.prompt,
                    status=job.status,
                    output_path=paths[0] if paths else None,
                    output_paths=paths,
                    error=job.error,
                    error_type=job.error_type,
                    attempts=job.attempts,
                    duration_ms=job.duration_ms,
                    cost=job.cost,
                )
            )
            if job.cost is None:
                total_cost = None
            elif total_cost is not None:
                total_cost += job.cost
        counts = batch.counts
        return BatchReport(
            batch_id=batch_id,
            provider=batch.provider,
            model=batch.model,
            total=batch.total,
            succeeded=counts.get("completed", 0),
            failed=counts.get("failed", 0),
            cancelled=counts.get("cancelled", 0),
            pending=batch.unfinished,
            results=results,
            started_at=started_at or batch.started_at,
            finished_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            total_duration_ms=int(duration_s * 1000) if duration_s is not None else None,
            estimated_cost=batch.estimated_cost,
            total_cost=round(total_cost, 6) if total_cost is not None else None,
            stopped_reason=reason,
            warnings=batch.warnings,
        )
