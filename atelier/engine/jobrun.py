"""One job's life in a run, as stages: read its inputs, book its budget, build the request,
wait for a slot and send, learn from the answer, save the images, then record the outcome or
schedule the retry. ``JobRun.execute`` strings them together; each stage is one method.

Retries: only for the classes the batch's ``RetryPolicy.retry_on_errors`` names and never for
``quota``, ``content_policy``, ``invalid_request`` or ``auth``; exponential backoff with full
jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), never shorter than the
server's Retry-After.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from atelier.core.backoff import Backoff
from atelier.core.errors import NEVER_RETRIED, ErrorClass, OutputError, ProviderError
from atelier.core.events import JobProgress
from atelier.core.i18n import tr
from atelier.core.models import RetryPolicy
from atelier.core.status import JobStatus
from atelier.engine.context import RunContext, Sent
from atelier.engine.copying import SaveFailedError, copy_earlier
from atelier.engine.job_saving import save_answer
from atelier.engine.lane import Lane, Run
from atelier.output.images import version_names
from atelier.output.qa import size_rule
from atelier.output.versions import publish_pick
from atelier.pricing.entries import bytes_megapixels
from atelier.pricing.reuse import request_key
from atelier.providers.base import MAX_REMOTE_GONE, REMOTE_GONE, GenerationRequest
from atelier.providers.economy import EconomyProvider
from atelier.sheet.input_images import read_inputs
from atelier.store import JobRow

log = logging.getLogger("atelier.engine")

QA_SEED_STEP = 1_000_003
"""Added to a job's seed for each re-make of a flagged image (a prime above any sample count,
so a re-make's seeds never meet another sample's)."""

MAX_PAID_RESUBMISSIONS = 1
"""How often a job whose billed image was lost is sent (and paid) again before it fails."""


def job_backoff(policy: RetryPolicy) -> Backoff:
    """The waits between a job's tries (``atelier.core.backoff``): full jitter over the
    capped exponential of the batch's ``RetryPolicy``."""
    return Backoff(policy.retry_delay_ms / 1000, policy.max_delay_ms / 1000, jitter=True)


def should_retry(policy: RetryPolicy, err: ProviderError, retries: int) -> bool:
    """Whether a job that met ``err`` after ``retries`` retries is tried again."""
    if err.error_class in NEVER_RETRIED or err.retryable is False:
        return False
    if retries >= policy.max_retries:
        return False
    return err.retryable is True or policy.retries_on(err.error_class, err.message)


class JobRun:
    """One job of ``run`` in ``lane``, from claim to outcome; ``ctx`` is what it uses of the
    engine around it (``atelier.engine.context``)."""

    def __init__(self, ctx: RunContext, run: Run, lane: Lane, job: JobRow) -> None:
        self.ctx, self.run, self.lane, self.job = ctx, run, lane, job
        self.spec, self.id = job.spec, job.id
        self.provider, self.model = run.job_target(job.spec)
        info = lane.provider.capabilities.model(self.model)
        self.per_request = info.max_samples_per_request if info else 1
        self.done = ctx.store.samples_done(job.id)
        # A regenerated job writes its version's own names (cup.v2.png, or a free name beside
        # another file there: see ``execute``), then its pick is copied under the job's names
        # (``atelier.output.versions``).
        self.names = job.spec.sample_paths(job.version if job.version > 1 else None)
        self.attempts = job.attempts
        # The job's cost as the store has it (None: partly unknown), kept as it changes so an
        # event never reads the job back from the store.
        self.cost = job.cost
        self.retries = 0
        self.paid_losses = 0  # answers billed whose image was lost (each resubmission pays again)
        self.gone = 0  # remote jobs (provider batches) that ended without this job's answer
        self.started = time.monotonic()
        self.refs: tuple[bytes, ...] = ()
        self.ref_mp: float | None = None
        """The references' megapixels, read from the bytes sent (a price may count them)."""
        self.mask: bytes | None = None
        self._progress = 0.0
        self.key: str | None = None  # the request's content key (atelier.pricing.reuse)
        self.follow: dict[str, Any] | None = None  # a remote job to follow (see send)
        self.leads: asyncio.Future[None] | None = None
        # Quality checks on save (atelier.output.qa): the model's size rounding, and per
        # sample how often it was made again because of a flag (``RunSettings.qa_retry``);
        # ``qa_pending``: samples waiting for such a re-make.
        self.qa_rule = size_rule(
            self.provider, self.model, info.custom_size_multiple if info else None
        )
        self.qa_remakes: dict[int, int] = {}
        self.qa_pending: set[int] = set()
        self.qa_remade_usd = 0.0  # what those re-makes cost (USD)

    def elapsed_ms(self) -> int:
        """Milliseconds since this run of the job began."""
        return int((time.monotonic() - self.started) * 1000)

    def move(
        self,
        status: JobStatus,
        error: ProviderError | None = None,
        *,
        retry_in_s: float | None = None,
        duration: bool = False,
    ) -> None:
        """Record the job's new status in the store and tell the views."""
        ms = self.elapsed_ms() if duration else None
        self.ctx.moves.move(
            self.run.batch_id,
            self.id,
            status,
            error=error.message if error else None,
            kind=error.error_class.value if error else None,
            duration_ms=ms,
            retry_in_s=retry_in_s,
            tally=(self.attempts, self.cost),
            outbox=self.run.failed_outbox if status == JobStatus.FAILED else None,
            remade_usd=self.qa_remade_usd,
        )

    async def execute(self) -> None:
        """Work on the job until it is completed, failed, waits for a higher budget cap, or
        the run halts. Never raises ``ProviderError``: it ends the job as failed."""
        try:
            self.refs, self.mask = await asyncio.to_thread(read_inputs, self.spec)
            if self.refs:
                self.ref_mp = await asyncio.to_thread(bytes_megapixels, self.refs)
        except ProviderError as e:
            self.move(JobStatus.FAILED, e, duration=True)
            return
        if self.job.version > 1:  # never over a file that is not this version's own
            self.names = await asyncio.to_thread(
                version_names, self.run.out_dir, self.provider, self.model, self.spec,
                self.job.version, self.run.settings.overwrite,
            )  # fmt: skip
        options = self.run.settings.provider_options
        args = (self.provider, self.model, self.spec, options)
        # Only files are read to make the key (reference images, a workflow): else inline.
        reads = self.spec.reference_images or self.spec.mask or self.provider in options
        self.key = await asyncio.to_thread(request_key, *args) if reads else request_key(*args)
        try:
            # Only a first version copies: a regenerated job was asked for a new image.
            if self.run.settings.reuse and self.job.version == 1:
                try:
                    await copy_earlier(self, self.key)
                except SaveFailedError:
                    return
            # A remote job a killed run left running is followed, not submitted again.
            if self.attempts:  # a job never sent has nothing to follow: no query
                self.follow = self.ctx.store.remote_job_to_follow(self.id)
            await self._make()
        finally:
            if self.leads is not None:
                self.leads.set_result(None)
                self.run.makers.pop(self.key, None)

    async def _make(self) -> None:
        """Request the samples not made yet, then complete the job."""
        while remaining := [i for i in range(self.spec.sample_count) if i not in self.done]:
            await self.run.unpaused.wait()
            samples = remaining[: self.per_request]
            req = self.build_request(samples)
            remake = self.qa_pending.issuperset(samples)
            if remake and not self._remake_fits(req, len(samples)):
                # The cap has no room for this re-make beside the first makings still to
                # come: the job completes with its flagged images, and the run goes on.
                self.done.update(self.qa_pending)
                self.qa_pending.clear()
                continue
            reserved = self.ctx.budget.reserve(
                self.run,
                self.provider,
                self.model,
                self.spec,
                len(samples),
                self.lane.provider.price_factor(req),
                self.ref_mp,
            )
            if reserved is None:  # the budget cap: this job waits for a higher cap
                self.move(JobStatus.PENDING)
                return
            if not remake and self.run.first_left_usd:
                self.run.first_left_usd = max(0.0, self.run.first_left_usd - reserved)
            try:
                sent = await self.send(req, samples)
            finally:
                self.run.reserved_usd -= reserved
            self.learn(sent)
            try:
                error = await self.save(sent) if sent.error is None else sent.error
            except SaveFailedError:
                return
            if error is not None and error.code == REMOTE_GONE:  # send it anew, no backoff
                self.ctx.store.finish_attempt(
                    sent.attempt_id, "error", error=error.message, error_type="remote_gone"
                )
                self.gone += 1
                if self.gone < MAX_REMOTE_GONE or self._standard_fallback():
                    continue
                self.move(JobStatus.FAILED, self._gone_error(), duration=True)
                return
            if error is not None and not await self.retry_later(sent, error):
                return
        if self.job.version > 1:
            await self._publish()
        self.move(JobStatus.COMPLETED, duration=True)

    def _remake_fits(self, req: GenerationRequest, images: int) -> bool:
        """Whether a re-make of flagged images fits under the spend cap with room left for
        the first makings of the run not requested yet (``Run.first_left_usd``); no cap: yes."""
        run = self.run
        cap = run.settings.budget_usd
        if cap is None:
            return True
        factor = self.lane.provider.price_factor(req)
        need = self.ctx.budget.list_cost(
            self.provider, self.model, self.spec, images, factor, self.ref_mp
        )
        if need is None:
            return False
        return run.spent_usd + run.reserved_usd + need + run.first_left_usd <= cap + 1e-9

    def _standard_fallback(self) -> bool:
        """Whether the user let this lane's requests go through the standard API at list
        price when its provider batches do not answer (economy with ``economy_retry="now"``):
        the next request (``GenerationRequest.gone``) then goes there."""
        provider = self.lane.provider
        return isinstance(provider, EconomyProvider) and provider.retry_now

    def _gone_error(self) -> ProviderError:
        """Why a job whose remote jobs kept ending without its answer is not sent again."""
        label = self.lane.provider.label
        if isinstance(self.lane.provider, EconomyProvider):
            message = tr(
                "{provider} ended the batch holding this job {count} times (expired or cancelled) before making it; it is not sent again. Resume the batch to try once more, or allow the standard API at list price for retries (--economy-retry now)."
            ).format(provider=label, count=self.gone)
        else:
            message = tr(
                "{provider} lost this job's remote job {count} times before making it; it is not sent again. Resume the batch to try once more."
            ).format(provider=label, count=self.gone)
        return ProviderError(ErrorClass.SERVER_ERROR, message, code=REMOTE_GONE, retryable=False)

    async def _publish(self) -> None:
        """Put the new version under the job's own names; a failure is a note, since every
        version's file is already written and recorded."""
        try:
            await asyncio.to_thread(publish_pick, self.ctx.store, self.id)
        except OutputError as e:
            log.warning(
                "job %s: version %s not copied to its names: %s", self.id, self.job.version, e
            )

    def build_request(self, samples: list[int]) -> GenerationRequest:
        """The provider request for ``samples`` (0-based sample indices) of this job."""
        return GenerationRequest.from_spec(
            self.spec,
            model=self.model,
            samples=samples,
            reference_images=self.refs,
            mask=self.mask,
            seed_offset=self.remake_offset(samples[0]),
            retry=self.retries,
            gone=self.gone,
            on_progress=self._on_progress,
        )

    def remake_offset(self, sample: int) -> int:
        """What a re-make of a flagged ``sample`` adds to the job's seed (0 for its first
        making), so a provider that is deterministic per seed makes another image."""
        return QA_SEED_STEP * self.qa_remakes.get(sample, 0)

    def _on_progress(self, fraction: float) -> None:
        if abs(fraction - self._progress) >= 0.02 or fraction >= 1.0:
            self._progress = fraction
            self.ctx.events.emit(JobProgress(self.run.batch_id, self.id, fraction))

    async def send(self, req: GenerationRequest, samples: list[int]) -> Sent:
        """Wait for a slot in the lane, record the attempt and send ``req`` for ``samples``;
        the answer or its classified error comes back in a ``Sent`` (a job timeout becomes
        ``timeout``)."""
        timeout_s = self.lane.timeout_s(self.run.settings.job_timeout_ms / 1000)
        async with self.lane.slot(req.n):
            attempt_id, self.attempts = self.ctx.moves.start_attempt(
                self.run.batch_id, self.id, self.cost
            )
            req = self._remote(req, attempt_id, samples)
            sent = Sent(attempt_id, samples, factor=self.lane.provider.price_factor(req))
            began = time.monotonic()
            try:
                async with asyncio.timeout(timeout_s):
                    sent.result = await self.lane.provider.generate(req)
            except TimeoutError:
                # The request was sent: the server may make (and bill) the image all the same.
                sent.abandoned = True
                sent.error = ProviderError(
                    ErrorClass.TIMEOUT,
                    tr(
                        "No answer within the job timeout of {seconds:g} s; the request was cancelled (it counts as spent at its estimated price, since the provider may still bill it)."
                    ).format(seconds=timeout_s),
                )
            except ProviderError as e:
                sent.error = e
            except Exception as e:  # an adapter (or our code) met the unexpected: this job only
                log.exception("job %s: %s raised", self.id, self.lane.provider.label)
                sent.error = self.lane.provider.unexpected(e)
        if sent.result is not None:
            self.lane.on_success(time.monotonic() - began, sent.result.rate_limits)
        return sent

    def _remote(
        self, req: GenerationRequest, attempt_id: int, samples: list[int]
    ) -> GenerationRequest:
        """``req`` with the remote job to follow (the one a killed run left, for these same
        samples) and the hook that keeps a new job's handle on the attempt before the wait."""
        store = self.ctx.store
        follow, self.follow = self.follow, None
        if follow is not None and follow.get("samples") != samples:
            follow = None
        if follow is not None:
            store.set_remote_job(attempt_id, follow)  # a second crash follows it again

        def submitted(handle: dict[str, Any]) -> None:
            store.set_remote_job(attempt_id, {**handle, "samples": samples})

        return dataclasses.replace(
            req, resume=follow, on_submitted=submitted, keep_remote=lambda: self.ctx.detaching()
        )

    def learn(self, sent: Sent) -> None:
        """Account for the answer: its cost against the run and the job, or a 429 that holds
        the whole lane (what the server asked, not the job's jitter)."""
        budget = self.ctx.budget
        if sent.result is not None:
            sent.cost = budget.cost(
                self.provider, self.model, self.spec, sent.result, sent.factor, self.ref_mp
            )
        elif sent.error is not None and (sent.error.paid or sent.abandoned):
            # Billed but its image lost, or given up in flight (perhaps billed): the list price.
            sent.cost = budget.list_cost(
                self.provider, self.model, self.spec, len(sent.samples), sent.factor, self.ref_mp
            )
        elif sent.error is not None and sent.error.error_class is ErrorClass.RATE_LIMIT:
            self.lane.on_rate_limited(sent.error.retry_after_s)
            return
        else:
            return
        self.run.spent_usd += sent.cost or 0.0
        remade = len(self.qa_pending.intersection(sent.samples))
        if remade and sent.cost:
            self.qa_remade_usd += sent.cost * remade / len(sent.samples)
        self.ctx.store.add_cost(self.id, sent.cost)
        self.cost = None if sent.cost is None or self.cost is None else self.cost + sent.cost

    async def save(self, sent: Sent) -> ProviderError | None:
        """Write the answer's images; returns the error of an undecodable one (retried like a
        provider error), else ``None``.

        Raises:
            SaveFailedError: the output folder is broken (the job failed; the run halts).
        """
        return await save_answer(self, sent)

    async def retry_later(self, sent: Sent, err: ProviderError) -> bool:
        """Close a failed attempt; then either fail the job (returns ``False``) or wait out
        the backoff as ``waiting`` (returns ``True``: send again)."""
        if sent.result is None:
            self.ctx.store.finish_attempt(
                sent.attempt_id,
                "abandoned" if sent.abandoned else "error",
                error=err.message,
                error_type=err.error_class.value,
                http_status=err.status,
                cost=sent.cost,
            )
        log.warning(
            "job %s attempt %s: %s (HTTP %s): %s",
            self.id,
            self.attempts,
            err.error_class.value,
            err.status,
            err.message,
        )
        policy = self.run.settings.retry_policy
        self.paid_losses += err.paid
        if not should_retry(policy, err, self.retries) or self.paid_losses > MAX_PAID_RESUBMISSIONS:
            self.move(JobStatus.FAILED, err, duration=True)
            return False
        self.retries += 1
        delay = job_backoff(policy).delay(self.retries, err.retry_after_s, self.ctx.rng)
        if (
            err.error_class is ErrorClass.RATE_LIMIT
            and err.retry_after_s is None
            and self.lane.lockout_s
        ):
            delay = max(delay, self.lane.lockout_s)  # Stability locks a key out for 60 s
        self.move(JobStatus.WAITING, err, retry_in_s=delay)
        await asyncio.sleep(delay)
        return True
