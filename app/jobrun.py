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
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.copying import SaveFailedError, copy_earlier
from app.errors import NEVER_RETRIED, ErrorClass, OutputError, ProviderError
from app.events import ImageSaved, JobChanged, JobProgress
from app.i18n import tr
from app.input_images import read_inputs
from app.lane import Lane, Run
from app.models import JobSpec, RetryPolicy, parse_size
from app.outputs import UserFileError, image_metadata, save_image, spool_image
from app.providers.base import REMOTE_GONE, GenerationRequest, GenerationResult
from app.providers.registry import resolve_target
from app.reuse import image_key, request_key
from app.status import JobStatus
from app.store import JobRow
from app.store.images import Made
from app.versions import publish_pick

if TYPE_CHECKING:
    from app.engine import Engine

log = logging.getLogger("atelier.engine")

MAX_PAID_RESUBMISSIONS = 1
"""How often a job whose billed image was lost is sent (and paid) again before it fails."""


def backoff_delay(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Seconds before retry number ``retry`` (1-based): full jitter over the capped exponential."""
    cap = min(policy.max_delay_ms, policy.retry_delay_ms * (2 ** (retry - 1))) / 1000
    return rng.uniform(0, cap)


def should_retry(policy: RetryPolicy, err: ProviderError, retries: int) -> bool:
    """Whether a job that met ``err`` after ``retries`` retries is tried again."""
    if err.error_class in NEVER_RETRIED or err.retryable is False:
        return False
    if retries >= policy.max_retries:
        return False
    return err.retryable is True or policy.retries_on(err.error_class, err.message)


def job_target(run: Run, spec: JobSpec) -> tuple[str, str]:
    """``(provider, model)`` of a job of ``run`` (its own, else the batch's)."""
    s = run.settings
    return resolve_target(s.provider, s.model, spec.provider, spec.model)


@dataclass
class Sent:
    """One request's answer: ``result`` or ``error``; ``cost`` in USD (``None``: unknown)."""

    attempt_id: int
    samples: list[int]
    result: GenerationResult | None = None
    error: ProviderError | None = None
    cost: float | None = None
    factor: float = 1.0  # against the list price (economy: the batch discount)


class JobRun:
    """One job of ``run`` in ``lane``, from claim to outcome."""

    def __init__(self, engine: Engine, run: Run, lane: Lane, job: JobRow) -> None:
        self.engine, self.run, self.lane, self.job = engine, run, lane, job
        self.spec, self.id = job.spec, job.id
        self.provider, self.model = job_target(run, job.spec)
        info = lane.provider.capabilities.model(self.model)
        self.per_request = info.max_samples_per_request if info else 1
        self.done = engine.store.samples_done(job.id)
        # A regenerated job writes its version's own names (cup.v2.png), then its pick is
        # copied under the job's names (``app.versions``).
        self.names = job.spec.sample_paths(job.version if job.version > 1 else None)
        self.attempts = job.attempts
        # The job's cost as the store has it (None: partly unknown), kept as it changes so an
        # event never reads the job back from the store.
        self.cost = job.cost
        self.retries = 0
        self.paid_losses = 0  # answers billed whose image was lost (each resubmission pays again)
        self.started = time.monotonic()
        self.refs: tuple[bytes, ...] = ()
        self.mask: bytes | None = None
        self._progress = 0.0
        self.key: str | None = None  # the request's content key (app.reuse)
        self.follow: dict[str, Any] | None = None  # a remote job to follow (see send)
        self.leads: asyncio.Future[None] | None = None

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
        message = error.message if error else None
        kind = error.error_class.value if error else None
        self.engine.store.set_job_status(
            self.id, status, error=message, error_type=kind, duration_ms=ms
        )
        self.engine.events.emit(
            JobChanged(
                self.run.batch_id,
                self.id,
                status,
                self.attempts,
                message,
                kind,
                self.cost,
                ms,
                retry_in_s,
            )
        )

    async def execute(self) -> None:
        """Work on the job until it is completed, failed, waits for a higher budget cap, or
        the run halts. Never raises ``ProviderError``: it ends the job as failed."""
        try:
            self.refs, self.mask = await asyncio.to_thread(read_inputs, self.spec)
        except ProviderError as e:
            self.move(JobStatus.FAILED, e, duration=True)
            return
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
                self.follow = self.engine.store.remote_job_to_follow(self.id)
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
            reserved = self.engine.budget.reserve(
                self.run,
                self.provider,
                self.model,
                self.spec,
                len(samples),
                self.lane.provider.price_factor(req),
            )
            if reserved is None:  # the budget cap: this job waits for a higher cap
                self.move(JobStatus.PENDING)
                return
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
                self.engine.store.finish_attempt(
                    sent.attempt_id, "error", error=error.message, error_type="remote_gone"
                )
                continue
            if error is not None and not await self.retry_later(sent, error):
                return
        if self.job.version > 1:
            await self._publish()
        self.move(JobStatus.COMPLETED, duration=True)

    async def _publish(self) -> None:
        """Put the new version under the job's own names; a failure is a note, since every
        version's file is already written and recorded."""
        try:
            await asyncio.to_thread(publish_pick, self.engine.store, self.id)
        except OutputError as e:
            log.warning(
                "job %s: version %s not copied to its names: %s", self.id, self.job.version, e
            )

    def build_request(self, samples: list[int]) -> GenerationRequest:
        """The provider request for ``samples`` (0-based sample indices) of this job."""
        spec = self.spec
        return GenerationRequest(
            model=self.model,
            prompt=spec.prompt,
            size=spec.size,
            quality=spec.quality,
            output_format=spec.output_format,
            n=len(samples),
            negative_prompt=spec.negative_prompt,
            transparent_background=spec.transparent_background,
            moderation=spec.moderation,
            seed=spec.seed,
            first_sample=samples[0],
            row_values=spec.row_values,
            operation=spec.operation,
            reference_images=self.refs,
            mask=self.mask,
            style_preset=spec.style_preset,
            input_fidelity=spec.input_fidelity,
            retry=self.retries,
            on_progress=self._on_progress,
        )

    def _on_progress(self, fraction: float) -> None:
        if abs(fraction - self._progress) >= 0.02 or fraction >= 1.0:
            self._progress = fraction
            self.engine.events.emit(JobProgress(self.run.batch_id, self.id, fraction))

    async def send(self, req: GenerationRequest, samples: list[int]) -> Sent:
        """Wait for a slot in the lane, record the attempt and send ``req`` for ``samples``;
        the answer or its classified error comes back in a ``Sent`` (a job timeout becomes
        ``timeout``)."""
        timeout_s = self.lane.timeout_s(self.run.settings.job_timeout_ms / 1000)
        async with self.lane.slot(req.n):
            attempt_id, self.attempts = self.engine.store.start_attempt(self.id)
            req = self._remote(req, attempt_id, samples)
            self.engine.events.emit(
                JobChanged(
                    self.run.batch_id, self.id, JobStatus.RUNNING, self.attempts, cost=self.cost
                )
            )
            sent = Sent(attempt_id, samples, factor=self.lane.provider.price_factor(req))
            began = time.monotonic()
            try:
                async with asyncio.timeout(timeout_s):
                    sent.result = await self.lane.provider.generate(req)
            except TimeoutError:
                sent.error = ProviderError(
                    ErrorClass.TIMEOUT,
                    tr(
                        "No answer within the job timeout of {seconds:g} s; the request was cancelled."
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
        store = self.engine.store
        follow, self.follow = self.follow, None
        if follow is not None and follow.get("samples") != samples:
            follow = None
        if follow is not None:
            store.set_remote_job(attempt_id, follow)  # a second crash follows it again

        def submitted(handle: dict[str, Any]) -> None:
            store.set_remote_job(attempt_id, {**handle, "samples": samples})

        return dataclasses.replace(
            req, resume=follow, on_submitted=submitted, keep_remote=lambda: self.engine.detaching
        )

    def learn(self, sent: Sent) -> None:
        """Account for the answer: its cost against the run and the job, or a 429 that holds
        the whole lane (what the server asked, not the job's jitter)."""
        budget = self.engine.budget
        if sent.result is not None:
            sent.cost = budget.cost(self.provider, self.model, self.spec, sent.result, sent.factor)
        elif sent.error is not None and sent.error.paid:  # billed, but the image was lost
            sent.cost = budget.list_cost(
                self.provider, self.model, self.spec, len(sent.samples), sent.factor
            )
        elif sent.error is not None and sent.error.error_class is ErrorClass.RATE_LIMIT:
            self.lane.on_rate_limited(sent.error.retry_after_s)
            return
        else:
            return
        self.run.spent_usd += sent.cost or 0.0
        self.engine.store.add_cost(self.id, sent.cost)
        self.cost = None if sent.cost is None or self.cost is None else self.cost + sent.cost

    async def save(self, sent: Sent) -> ProviderError | None:
        """Write the answer's images; returns the error of an undecodable one (retried like a
        provider error), else ``None``.

        Raises:
            SaveFailedError: the output folder is broken (the job failed; the run halts).
        """
        assert sent.result is not None
        result, saved, error = sent.result, 0, None
        for idx, image in zip(sent.samples, result.images, strict=False):
            meta = image_metadata(
                self.provider, self.model, self.spec, idx, image.seed, result.revised_prompt
            )
            rel = self.names[idx]
            size = None if self.spec.size == "auto" else parse_size(self.spec.size)
            try:
                path, thumb, sha = await asyncio.to_thread(
                    save_image,
                    self.run.out_dir,
                    rel,
                    image.data,
                    self.spec.output_format,
                    meta,
                    self.engine.thumb_dir,
                    size,
                    self.run.settings.overwrite,
                )
            except ProviderError as e:
                error = e
                break
            except UserFileError as e:  # only this job: the user's file stays as it is
                await self._output_failed(sent, saved, e, idx, rel, halt=False)
                raise SaveFailedError from e
            except OutputError as e:
                await self._output_failed(sent, saved, e, idx, rel)
                raise SaveFailedError from e
            image_id = self._record(sent, idx, image.seed, path, thumb, sha)
            self.done.add(idx)
            saved += 1
            self.engine.events.emit(
                ImageSaved(
                    self.run.batch_id,
                    self.id,
                    idx,
                    str(path),
                    str(thumb) if thumb else None,
                    self.job.version,
                    image_id,
                )
            )
        self.engine.store.finish_attempt(
            sent.attempt_id,
            "ok" if error is None else "error",
            images=saved,
            cost=sent.cost,
            error=error.message if error else None,
            error_type=error.error_class.value if error else None,
        )
        return error

    def _record(
        self, sent: Sent, idx: int, seed: int | None, path: Path, thumb: Path | None, sha: str
    ) -> int:
        """Record a written image with what made it: the seed (the provider's, else the
        job's), the prompt, the model, its share of the request's cost, the request id, and
        its content key and file hash (so a later identical request copies it)."""
        assert sent.result is not None
        key = image_key(self.key, idx) if self.key is not None else None
        if key is not None:
            self.run.known_keys.add(key)
        return self.engine.store.add_image(
            self.id,
            idx,
            path,
            thumb,
            seed=seed if seed is not None else self.spec.seed,
            prompt=self.spec.prompt,
            made=Made(
                f"{self.provider}/{self.model}",
                None if sent.cost is None else sent.cost / max(1, len(sent.samples)),
                sent.result.request_id,
                key,
                sha,
            ),
        )

    async def _output_failed(
        self, sent: Sent, saved: int, e: OutputError, idx: int, rel: str, halt: bool = True
    ) -> None:
        """A paid image could not be written: spool it for the next resume, fail the job, and
        (``halt``) stop the run, since every next image would meet the same disk."""
        message = str(e)
        spool = self.engine.spool_dir(self.run)
        if e.payload is not None and await asyncio.to_thread(
            spool_image, spool, self.id, idx, rel, e.payload
        ):
            message += tr(" The image is kept and will be written when you resume.")
        self.engine.store.finish_attempt(
            sent.attempt_id,
            "error",
            error=message,
            error_type="output",
            images=saved,
            cost=sent.cost,
        )
        self.move(JobStatus.FAILED, ProviderError(ErrorClass.OUTPUT, message), duration=True)
        if halt:
            self.engine.halt(
                self.run,
                tr("Stopped: {reason} Jobs not started yet stay pending.").format(reason=e),
            )

    async def retry_later(self, sent: Sent, err: ProviderError) -> bool:
        """Close a failed attempt; then either fail the job (returns ``False``) or wait out
        the backoff as ``waiting`` (returns ``True``: send again)."""
        if sent.result is None:
            self.engine.store.finish_attempt(
                sent.attempt_id,
                "error",
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
        delay = max(backoff_delay(policy, self.retries, self.engine.rng), err.retry_after_s or 0.0)
        if (
            err.error_class is ErrorClass.RATE_LIMIT
            and err.retry_after_s is None
            and self.lane.lockout_s
        ):
            delay = max(delay, self.lane.lockout_s)  # Stability locks a key out for 60 s
        self.move(JobStatus.WAITING, err, retry_in_s=delay)
        await asyncio.sleep(delay)
        return True
