"""The async batch engine: lanes, concurrency, retries, timeouts, pause/resume/cancel.

One ``Engine`` serves the window and the command line (through ``atelier.engine.controller``). It takes
``pending`` jobs from the store, claims each atomically, sends it through the provider's lane
(``atelier.engine.lane``), and lives each job through its stages (``atelier.engine.jobrun``), recording every step in
the store before and after it happens and emitting typed events (``atelier.core.events``) as it goes.
A 429 holds the whole lane, not only the job that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from atelier.core.errors import AtelierError, ErrorClass, describe_exception
from atelier.core.events import (
    BatchFinished,
    BatchStarted,
    BatchStateChanged,
    EconomyWaiting,
    EventBus,
)
from atelier.core.i18n import tr
from atelier.core.models import BatchReport, RunSettings
from atelier.core.status import BatchStatus, JobStatus
from atelier.delivery.courier import Courier
from atelier.delivery.plan import failed_outbox, made_outbox
from atelier.engine.context import RunContext
from atelier.engine.jobrun import JobRun
from atelier.engine.lane import Lane, Run, SharedPacing
from atelier.engine.recovery import adopt_existing, deliver_spool, verify_outputs
from atelier.output.images import clean_temp_files
from atelier.output.report import build_report, write_report, write_report_now
from atelier.pricing.budget import Budget
from atelier.pricing.spend import job_list_prices
from atelier.pricing.table import PriceTable
from atelier.providers.base import Provider
from atelier.providers.economy import Waiting
from atelier.providers.economy.lanes import economy_lane
from atelier.providers.registry import resolve_target
from atelier.store import Store

ProviderFactory = Callable[[RunSettings], Provider]
log = logging.getLogger("atelier.engine")


class Engine:
    """Runs batches stored in ``store``.

    Args:
        store: the SQLite store.
        provider_factory: builds the provider for a batch's ``RunSettings`` (key lookup lives
            there, so the engine never sees where a key came from).
        prices: for costs when a response carries no ``usage``.
        thumb_dir: thumbnail cache (``None``: no thumbnails).
        events: the bus every event goes to.
        rng: the backoff jitter's random source.
        spool_root: where paid images that could not be written wait (``ATELIER_HOME/spool``).
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
        self.budget: Budget[Run] = Budget(self.prices, self._halt_at_cap)
        self.thumb_dir = thumb_dir
        self.events = events or EventBus()
        self.rng = rng or random.Random()
        self.spool_root = spool_root
        self._runs: dict[int, Run] = {}
        self.detaching = False
        """Set when the studio quits (``detach``): requests cancelled then leave their remote
        jobs running, to be followed by the next run."""
        self.shared_pacing: Callable[[str, RunSettings], SharedPacing | None] | None = None
        """Gives a lane pacing shared with other processes (a team worker sets it: a
        provider's name and the batch's settings → ``atelier.team.limits.SharedLimit``)."""
        self.courier = Courier(store, self.events)
        self.events.subscribe(self.courier.on_event)
        self.context = RunContext(
            store,
            self.events,
            self.budget,
            self.rng,
            thumb_dir,
            self.spool_dir,
            self.halt,
            lambda: self.detaching,
        )
        """What a ``JobRun`` uses of this engine (``atelier.engine.context``)."""
        self.moves = self.context.moves
        """Where every status move of a job is written and announced."""

    # ---- control ---------------------------------------------------------------------------
    def is_running(self, batch_id: int) -> bool:
        """Whether a run of ``batch_id`` is in progress in this engine."""
        return batch_id in self._runs

    def paused(self, batch_id: int) -> bool:
        """Whether a run of ``batch_id`` is in progress here and paused (any thread may ask)."""
        run = self._runs.get(batch_id)
        return run is not None and not run.unpaused.is_set()

    def pause(self, batch_id: int) -> None:
        """Start no new request (requests in flight finish)."""
        run = self._runs.get(batch_id)
        if run and run.unpaused.is_set():
            run.unpaused.clear()
            self.store.set_batch_status(batch_id, BatchStatus.PAUSED)
            self.events.emit(BatchStateChanged(batch_id, BatchStatus.PAUSED))

    def resume(self, batch_id: int) -> None:
        """Undo ``pause``."""
        run = self._runs.get(batch_id)
        if run and not run.unpaused.is_set():
            run.unpaused.set()
            self.store.set_batch_status(batch_id, BatchStatus.RUNNING)
            self.events.emit(BatchStateChanged(batch_id, BatchStatus.RUNNING))

    def cancel(self, batch_id: int, reason: str | None = None) -> None:
        """Abort requests in flight; every job not done becomes ``cancelled`` (``reason``, by
        default "Cancelled by the user.", is each one's error text)."""
        self._stop(batch_id, reason or tr("Cancelled by the user."), only_mine=False)

    def stop_here(self, batch_id: int, reason: str) -> None:
        """This process stops working on the batch (a SIGTERM, a quit): the jobs it holds are
        cancelled with ``reason``; pending jobs stay pending for another process sharing the
        store, or for a resume."""
        self._stop(batch_id, reason, only_mine=True)

    def _stop(self, batch_id: int, reason: str, *, only_mine: bool) -> None:
        run = self._runs.get(batch_id)
        if run and run.task and run.stop_reason is None:
            run.stop_reason, run.stop_only_mine = reason, only_mine
            self.events.emit(BatchStateChanged(batch_id, "cancelling"))
            run.task.cancel()

    def requeue(self, batch_id: int, job_ids: list[int]) -> None:
        """Jobs just put back to ``pending`` (by ``Store.reset_for_retry``): tell the views, and
        add them to the queues of a run in progress."""
        run = self._runs.get(batch_id)
        for jid in job_ids:
            job = self.store.job(jid)
            self.moves.announce(batch_id, jid, JobStatus.PENDING)
            if run is not None:
                lane = run.lanes.get(run.job_target(job.spec)[0])
                if lane is not None:
                    lane.queue.append(jid)

    def detach(self) -> None:
        """The studio is quitting (any thread): runs about to be interrupted leave the jobs
        they queued remotely (fal, Replicate, ComfyUI) running, so a resume follows them
        instead of paying for them again. A cancelled batch or a job timeout still cancels."""
        self.detaching = True

    def halt(self, run: Run, reason: str) -> None:
        """Start no more jobs in this run (a budget cap, a broken output folder); jobs not
        started stay pending so the batch resumes once the cause is fixed."""
        if run.halt_reason is None:
            run.halt_reason = reason
            log.warning("batch %s: %s", run.batch_id, reason)
            self.events.emit(BatchStateChanged(run.batch_id, "halted"))
        for lane in run.lanes.values():
            lane.queue.clear()

    def _halt_at_cap(self, run: Run, reason: str) -> None:
        """``halt`` because the budget cap was reached (the window offers to raise it)."""
        if run.halt_reason is None:
            run.capped = True
        self.halt(run, reason)

    def set_budget(self, batch_id: int, budget_usd: float | None) -> None:
        """A new spend cap (USD, ``None``: none) for the run of ``batch_id`` in progress, if
        any (call it on the engine's loop; the stored settings are the caller's)."""
        run = self._runs.get(batch_id)
        if run is not None:
            run.settings = run.settings.model_copy(update={"budget_usd": budget_usd})

    def spool_dir(self, run: Run) -> Path:
        """Where this run's paid but unwritten images wait."""
        return (self.spool_root or run.out_dir.parent / ".atelier-spool") / str(run.batch_id)

    # ---- running ---------------------------------------------------------------------------
    async def run(self, batch_id: int) -> BatchReport:
        """Work on every pending job of ``batch_id`` until none is left, or cancel/timeout.

        Returns the report (also written to ``<output_dir>/atelier-report.json``).
        Raises:
            RuntimeError: the batch is already running in this engine.
            asyncio.CancelledError: when cancelled from outside (not via ``cancel``): jobs go
                back to ``pending`` and the batch stays resumable (``paused``).
        """
        if batch_id in self._runs:
            raise RuntimeError(f"batch {batch_id} is already running")
        batch = self.store.batch(batch_id)
        run = Run(batch_id, batch.run_settings(), batch.output_dir)
        run.unpaused.set()
        run.task = asyncio.current_task()
        run.started_wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        run.started_mono = time.monotonic()
        run.outbox = made_outbox(run.settings.delivery, run.settings.channels)
        run.failed_outbox = failed_outbox(run.settings.delivery)
        self._runs[batch_id] = run
        external_cancel = False
        try:
            await self._prepare(run, batch.total)
            self.courier.begin(batch_id, run.started_wall)
            await self._work(run)
        except asyncio.CancelledError:
            if run.stop_reason is None:  # not our cancel(): stay resumable
                external_cancel = True
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        except Exception as e:  # the run itself broke: stop it resumably, and say why
            log.exception("batch %s: the run failed", batch_id)
            self.halt(
                run,
                tr("The run stopped on an unexpected error ({reason}).").format(
                    reason=describe_exception(e)
                ),
            )
            self.store.recover(batch_id)
        finally:
            del self._runs[batch_id]
            for lane in run.lanes.values():
                with contextlib.suppress(Exception):
                    await asyncio.shield(lane.provider.aclose())
            if external_cancel:
                self.courier.abort(batch_id)
                self.store.recover(batch_id)
                self.store.set_batch_status(batch_id, BatchStatus.PAUSED)
        return await self._finish(run)

    async def _prepare(self, run: Run, total: int) -> None:
        """Before the first request: jobs of dead processes back to pending, the output folder
        made again if it was removed (the user fixed what stopped us), leftovers of a crash
        handled (``atelier.engine.recovery``), then the batch claimed as running."""
        self.store.recover(run.batch_id)
        await asyncio.to_thread(run.out_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(clean_temp_files, run.out_dir)
        await deliver_spool(self.store, self.events, run, self.spool_dir(run), self.thumb_dir)
        await verify_outputs(self.store, run)
        await adopt_existing(self.moves, run)
        run.spent_usd = self.store.known_spend_usd(run.batch_id)
        if run.settings.reuse:
            run.known_keys = await asyncio.to_thread(self.store.content_keys)
        pending = self.store.pending_job_ids(run.batch_id)
        if run.settings.qa_retry and run.settings.budget_usd is not None:
            listed = await asyncio.to_thread(
                job_list_prices, self.store, self.prices, run.batch_id, pending
            )
            run.first_left_usd = sum(listed.values())
        self.store.set_batch_status(run.batch_id, BatchStatus.RUNNING, started=True)
        self.events.emit(BatchStarted(run.batch_id, total, len(pending)))
        s = run.settings
        log.info(
            "batch %s: run started, %s of %s jobs pending (%s / %s, concurrency %s)",
            run.batch_id,
            len(pending),
            total,
            s.provider,
            s.model,
            s.concurrency,
        )

    async def _work(self, run: Run) -> None:
        """Drain the batch within its timeout (a timeout sets the stop reason)."""
        ms = run.settings.batch_timeout_ms
        timeout_s = ms / 1000 if ms else None
        try:
            async with asyncio.timeout(timeout_s):
                await self._drain(run)
                await self._wait_for_others(run)
        except TimeoutError:
            run.stop_reason = tr(
                "The batch timeout of {seconds:g} s was reached; unfinished jobs were cancelled."
            ).format(seconds=timeout_s)

    async def _finish(self, run: Run) -> BatchReport:
        """Cancel what a stop left unfinished, set the batch's final status, write and emit
        the report."""
        batch_id = run.batch_id
        if run.stop_reason:
            self.moves.cancel_unfinished(batch_id, run.stop_reason, only_mine=run.stop_only_mine)
        if run.stop_reason and not run.stop_only_mine:
            status = BatchStatus.CANCELLED
        elif self.store.batch(batch_id).unfinished:
            status = BatchStatus.PAUSED
        else:
            status = BatchStatus.FINISHED
        self.store.set_batch_status(batch_id, status, finished=True)
        try:
            await self.courier.end(batch_id, run.started_wall)
        except asyncio.CancelledError:
            # The app quits while deliveries are still going: the images are made and the
            # outbox keeps the rest, so the report is written before giving way.
            with contextlib.suppress(Exception):  # never in place of the cancellation
                duration_s = time.monotonic() - run.started_mono
                report = build_report(
                    self.store, batch_id, run.started_wall, duration_s, run.ended_reason
                )
                write_report_now(report, run.out_dir)
            raise
        duration_s = time.monotonic() - run.started_mono
        report = build_report(self.store, batch_id, run.started_wall, duration_s, run.ended_reason)
        await write_report(report, run.out_dir)
        log.info(
            "batch %s: run ended: %s succeeded, %s failed, %s cancelled%s",
            batch_id,
            report.succeeded,
            report.failed,
            report.cancelled,
            f" ({run.ended_reason})" if run.ended_reason else "",
        )
        capped = run.capped and not run.stop_reason
        self.events.emit(BatchFinished(batch_id, report, run.ended_reason, capped))
        return report

    async def deliver(
        self, batch_id: int, retry_failed: bool = True, wait_s: float | None = None
    ) -> dict[str, int]:
        """Deliver what the outbox of ``batch_id`` holds, failed rows again unless
        ``retry_failed`` is off, for at most ``wait_s`` seconds when given
        (``Courier.deliver``); returns its ``{status: count}``."""
        return await self.courier.deliver(batch_id, retry_failed, wait_s)

    def report(self, batch_id: int) -> BatchReport:
        """The report of ``batch_id`` as it stands (see ``BatchReport``)."""
        return build_report(self.store, batch_id)

    def _lane(self, run: Run, provider: str) -> Lane:
        """The lane of ``provider`` in ``run``, made on first use.

        Raises:
            AtelierError: the provider cannot be set up (unknown name, missing workflow).
        """
        lane = run.lanes.get(provider)
        if lane is None:
            rs = run.settings
            if provider != rs.provider:  # the batch's base URL belongs to the batch's provider
                rs = rs.model_copy(update={"provider": provider, "base_url": None})
            limits = run.settings.rate_limits.get(provider)
            adapter = self.provider_factory(rs)
            economy = economy_lane(adapter, run.settings, _waiting(self.events, run.batch_id))
            lane = Lane(
                provider,
                economy or adapter,
                run.settings.concurrency,
                self.events,
                rpm=limits.rpm if limits else None,
                ipm=limits.ipm if limits else None,
                economy=economy is not None,
                shared=self.shared_pacing(provider, rs) if self.shared_pacing else None,
            )
            run.lanes[provider] = lane
        return lane

    async def _drain(self, run: Run) -> None:
        """Lanes work side by side, each with its own workers; then pending jobs added meanwhile
        (retries) are picked up, until none is left."""
        while pending := self.store.pending_targets(run.batch_id):
            # Provider and model straight from SQL: validating every pending spec here would
            # parse 10,000 jobs before the first request.
            for lane in run.lanes.values():
                lane.queue.clear()
            s = run.settings
            for jid, job_provider, job_model in pending:
                provider, _ = resolve_target(s.provider, s.model, job_provider, job_model)
                try:
                    self._lane(run, provider).queue.append(jid)
                except AtelierError as e:
                    self._fail_unstartable(run, jid, f"{provider}: {e}")
            async with asyncio.TaskGroup() as tg:
                for lane in run.lanes.values():
                    for _ in range(min(lane.concurrency, len(lane.queue))):
                        tg.create_task(self._worker(run, lane))
            if run.halt_reason:
                return

    def _fail_unstartable(self, run: Run, jid: int, message: str) -> None:
        """A job whose provider cannot even be set up fails with the reason."""
        if self.store.claim_job(jid):
            self.moves.fail_held(
                run.batch_id,
                jid,
                message,
                ErrorClass.INVALID_REQUEST,
                duration_ms=0,
                outbox=run.failed_outbox,
            )

    async def _worker(self, run: Run, lane: Lane) -> None:
        while lane.queue:
            await run.unpaused.wait()
            if not lane.queue:
                return
            jid = lane.queue.popleft()
            if not self.store.claim_job(jid):
                continue
            try:
                await JobRun(self.context, run, lane, self.store.job(jid)).execute()
            except Exception as e:  # one job's failure never stops the batch
                log.exception("batch %s: job %s failed unexpectedly", run.batch_id, jid)
                self._fail_unexpected(run, jid, e)

    def _fail_unexpected(self, run: Run, jid: int, e: Exception) -> None:
        """A job whose stages raised what nobody expected (a stored spec that no longer
        validates, a bug) fails with a readable reason of class ``internal``."""
        message = tr(
            "Atelier could not run this job ({reason}). The rest of the batch goes on; the details are in the log."
        ).format(reason=describe_exception(e))
        self.moves.fail_held(
            run.batch_id, jid, message, ErrorClass.INTERNAL, outbox=run.failed_outbox
        )

    async def _wait_for_others(self, run: Run) -> None:
        """Another Atelier process on the same store may still be working on jobs of this batch
        (two windows, or a window and a command line): wait for them, so the report is whole.
        The claim in the store already makes sure no job runs twice."""
        while run.halt_reason is None and self.store.others_working(run.batch_id):
            await asyncio.sleep(0.3)
            if self.store.pending_job_ids(run.batch_id):  # they released some: take our share
                await self._drain(run)


def _waiting(events: EventBus, batch_id: int) -> Callable[[Waiting], None]:
    """What an economy lane's poller calls: an ``EconomyWaiting`` event for the views."""

    def emit(w: Waiting) -> None:
        events.emit(
            EconomyWaiting(
                batch_id, w.provider, w.batch_id, w.submitted_at, w.state, w.done, w.total
            )
        )

    return emit
