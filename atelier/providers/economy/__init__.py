"""Economy mode: a lane's requests go through the provider's batch API (OpenAI's Batch API,
Gemini's Batch Mode) at its discount, results within 24 h.

``EconomyProvider`` stands in for the lane's provider, so each job lives its usual life in
``atelier.engine.jobrun`` (budget, attempt, save, record, retry): its ``generate`` puts the request in the
provider batch being gathered and returns that job's line once the batch is done. Requests
arriving within ``gather_s`` of each other go into one provider batch, split where the
provider's limits force it (``BatchApi.max_lines`` / ``max_bytes``). The batch's id reaches
each job's attempt through ``GenerationRequest.submitted`` before the wait, so a later run (after
a crash, a quit, ``--no-wait``) follows the same provider batch instead of paying again.

Polling starts at ``RunSettings.economy_poll_ms`` and grows 1.5× per poll up to
``ECONOMY_POLL_MAX_S``: a batch that finishes fast is collected fast, one that takes a day
costs a few hundred polls. A batch that expires or is cancelled elsewhere puts its unfinished
jobs back (``remote_gone``: sent again in the next provider batch), at most
``MAX_REMOTE_GONE`` times per job: then the job fails, or (``economy_retry = "now"``) goes
through the synchronous API. A failed line is classified like the synchronous answer and
retried per the batch's policy, in the next provider batch or (``economy_retry = "now"``)
through the synchronous API. A malformed output line fails only its own job, as paid
(``unreadable_line``): the rest of the file is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from atelier.core.backoff import Backoff, poll
from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr
from atelier.providers import catalogue
from atelier.providers.base import (
    MAX_REMOTE_GONE,
    REMOTE_GONE,
    GenerationRequest,
    GenerationResult,
    Provider,
    remote_gone,
)
from atelier.providers.economy.lines import BatchApi, BatchState, Outcome, unreadable_line
from atelier.providers.http import fire_and_forget

log = logging.getLogger("atelier.economy")

__all__ = [
    "ECONOMY_POLL_MAX_S",
    "ECONOMY_TIMEOUT_S",
    "GATHER_MAX_S",
    "BatchApi",
    "BatchState",
    "EconomyProvider",
    "Outcome",
    "Waiting",
    "unreadable_line",
]

ECONOMY_POLL_MAX_S = 300.0
"""The longest wait between two polls of a provider batch (seconds)."""
GATHER_MAX_S = 10.0
"""The longest a request waits for others to join its provider batch (seconds)."""
ECONOMY_TIMEOUT_S = 26 * 3600.0
"""How long a job waits for its provider batch: the 24 h completion window and a margin."""


@dataclass
class Waiting:
    """What one provider batch's poller reports to the views: see ``EconomyWaiting``."""

    provider: str
    batch_id: str
    submitted_at: str
    state: str
    done: int | None
    total: int


@dataclass
class _Line:
    request: GenerationRequest
    line_id: str
    future: asyncio.Future[Outcome]
    size: int = 0
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Group:
    """The lines of one model being gathered into a provider batch."""

    since: float  # loop time of the first line
    lines: list[_Line] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Remote:
    """A provider batch this process waits on."""

    batch_id: str
    submitted_at: str
    total: int
    waiters: dict[str, _Line] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    keep: bool = False  # a waiter left because the studio quit: never cancel it


class EconomyProvider(Provider):
    """The lane's provider in economy mode (see the module docstring).

    Args:
        api: the provider's batch wire format, around the synchronous adapter.
        on_waiting: called on each poll with what the views show.
        poll_first_s: the first wait between polls (seconds).
        gather_s: how long after the last arriving request a provider batch is submitted.
        retry_now: failed lines are tried again through the synchronous API.
    """

    def __init__(
        self,
        api: BatchApi,
        on_waiting: Callable[[Waiting], None],
        poll_first_s: float = 3.0,
        gather_s: float = 0.5,
        retry_now: bool = False,
    ) -> None:
        super().__init__()
        self.api = api
        self.inner = api.provider
        # The wrapped adapter's capabilities, per instance: one class serves every provider.
        self.capabilities = api.provider.capabilities  # type: ignore[misc]
        self._on_waiting = on_waiting
        self.poll_first_s = poll_first_s
        self.gather_s = gather_s
        self.retry_now = retry_now
        self._open: dict[str, _Group] = {}  # model → the lines being gathered
        self._remotes: dict[str, _Remote] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._run_tag = f"{int(time.time() * 1000):x}"
        self._sync = asyncio.Semaphore(max(1, self.capabilities.default_concurrency))

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """The job's image from a provider batch (or, for a retry with ``retry_now``, from the
        synchronous API).

        Raises:
            ProviderError: the line's own error, classified like the synchronous answer;
                ``remote_gone`` when the batch ended without it (sent again).
        """
        if self._synchronous(request):
            async with self._sync:
                return await self.inner.generate(request)
        loop = asyncio.get_running_loop()
        handle = request.resume or {}
        if handle.get("economy"):
            line = _Line(request, str(handle["line"]), loop.create_future())
            remote = self._follow(str(handle["economy"]), str(handle.get("submitted_at", "")))
            remote.waiters[line.line_id] = line
        else:
            line = self._gather(request, loop.create_future())
            remote = None
        try:
            outcome = await line.future
        except asyncio.CancelledError:
            self._left(line, remote)
            raise
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    def _synchronous(self, request: GenerationRequest) -> bool:
        # A retry, or a request whose provider batches kept ending without it, goes at list
        # price only where the user allowed it.
        again = request.retry > 0 or request.gone >= MAX_REMOTE_GONE
        return (again and self.retry_now) or not self.api.accepts(request)

    def price_factor(self, request: GenerationRequest) -> float:
        """The batch discount, or the list price for a request sent synchronously."""
        if self._synchronous(request):
            return 1.0
        return catalogue.batch_factor(self.capabilities.name)

    # ---- gathering and submitting --------------------------------------------------------
    def _gather(self, request: GenerationRequest, future: asyncio.Future[Outcome]) -> _Line:
        """Add the request to the open group of its model (a Gemini batch has one model); a
        group is submitted ``gather_s`` after its last arrival, ``GATHER_MAX_S`` after its
        first at the latest, or at once when the next line would pass a limit."""
        line_id = f"atelier-{self._run_tag}-{next(self._ids)}"
        line = _Line(request, line_id, future)
        line.body = self.api.line(request, line_id)
        line.size = self.api.line_size(line.body)
        group = self._open.get(request.model)
        if group is not None and (
            len(group.lines) + 1 > self.api.max_lines or group.size + line.size > self.api.max_bytes
        ):
            self._flush(request.model)
            group = None
        loop = asyncio.get_running_loop()
        if group is None:
            group = self._open[request.model] = _Group(loop.time())
        group.lines.append(line)
        group.size += line.size
        if group.timer is not None:
            group.timer.cancel()
        wait = min(self.gather_s, group.since + GATHER_MAX_S - loop.time())
        group.timer = loop.call_later(max(0.0, wait), self._flush, request.model)
        return line

    def _flush(self, model: str) -> None:
        group = self._open.pop(model, None)
        if group is None:
            return
        if group.timer is not None:
            group.timer.cancel()
        if group.lines:
            self._spawn(self._submit(group.lines))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, lines: list[_Line]) -> None:
        live = [ln for ln in lines if not ln.future.done()]
        if not live:
            return
        model = live[0].request.model
        try:
            batch_id = await self.api.submit(model, [ln.body for ln in live])
        except ProviderError as e:
            self._settle(live, e)
            return
        except Exception as e:
            log.exception("%s: submitting a batch failed", self.label)
            self._settle(live, self.inner.unexpected(e))
            return
        at = datetime.now(UTC).isoformat(timespec="seconds")
        remote = _Remote(batch_id, at, len(live))
        # Jobs that left during the upload because the studio quit leave the batch running.
        remote.keep = any(ln.future.cancelled() and ln.request.detached() for ln in live)
        log.info("%s: batch %s submitted with %s requests", self.label, batch_id, len(live))
        for ln in live:
            ln.request.submitted({"economy": batch_id, "line": ln.line_id, "submitted_at": at})
            if not ln.future.done():
                remote.waiters[ln.line_id] = ln
        self._remotes[batch_id] = remote
        self._report(remote, "submitted", 0)
        self._start(remote, delay=self.poll_first_s)
        if not remote.waiters:  # every job left while it was uploaded
            self._abandon(remote)

    @staticmethod
    def _settle(lines: list[_Line], outcome: Outcome) -> None:
        for ln in lines:
            if not ln.future.done():
                ln.future.set_result(outcome)

    # ---- following ------------------------------------------------------------------------
    def _follow(self, batch_id: str, submitted_at: str) -> _Remote:
        """The poller of ``batch_id``, started (after the gathering window, so the jobs of a
        resumed run all join it before its first poll) if none runs."""
        remote = self._remotes.get(batch_id)
        if remote is None or remote.task is None or remote.task.done():
            remote = _Remote(batch_id, submitted_at, 0)
            self._remotes[batch_id] = remote
            self._start(remote, delay=self.gather_s)
        return remote

    def _start(self, remote: _Remote, delay: float) -> None:
        remote.task = asyncio.get_running_loop().create_task(self._poll(remote, delay))

    async def _poll(self, remote: _Remote, delay: float) -> None:
        await asyncio.sleep(delay)
        # poll_first_s, then 1.5 times longer each time, up to ECONOMY_POLL_MAX_S.
        first = self.poll_first_s
        pace = Backoff(first, max(first, ECONOMY_POLL_MAX_S), factor=1.5)
        try:
            state = await poll(lambda: self._poll_once(remote), pace)
        except ProviderError as e:
            self._end(remote, e)
            return
        try:
            await self._collect(remote, state)
        except ProviderError as e:
            self._end(remote, _ran(e, state))
        except Exception as e:
            log.exception("%s: reading batch %s failed", self.label, remote.batch_id)
            self._end(remote, _ran(self.inner.unexpected(e), state))

    async def _poll_once(self, remote: _Remote) -> BatchState | None:
        """One poll of ``remote``: its state once finished, else ``None`` (a transient error
        is logged and polled again).

        Raises:
            ProviderError: the provider batch is gone, or an error that polling cannot cure.
        """
        try:
            state = await self.api.status(remote.batch_id)
        except ProviderError as e:
            if e.code == REMOTE_GONE or e.error_class not in _TRANSIENT:
                raise
            log.warning("%s: polling batch %s: %s", self.label, remote.batch_id, e)
            return None
        remote.total = state.total or remote.total or len(remote.waiters)
        self._report(remote, state.state, state.done)
        return state if state.finished else None

    async def _collect(self, remote: _Remote, state: BatchState) -> None:
        requests = {k: ln.request for k, ln in remote.waiters.items()}
        unreadable = 0  # output lines whose job could not be told (not even their id read)
        async for line_id, outcome in self.api.results(state, requests):
            if line_id is None:
                unreadable += 1
                log.warning("%s: batch %s: %s", self.label, remote.batch_id, outcome)
                continue
            ln = remote.waiters.pop(line_id, None)  # a repeated line (Gemini) is dropped
            if ln is not None and not ln.future.done():
                ln.future.set_result(outcome)
        if state.refused:
            self._end(
                remote,
                ProviderError(
                    ErrorClass.INVALID_REQUEST,
                    tr("{provider} refused batch {id} ({reason}).").format(
                        provider=self.label, id=remote.batch_id, reason=state.reason
                    ),
                ),
            )
        elif state.lost:
            gone = remote_gone(
                self.label, tr("this job's line ({reason})").format(reason=state.reason)
            )
            gone.message = tr(
                "{provider}'s batch {id} ended ({reason}) before this job was made; it goes into the next batch."
            ).format(provider=self.label, id=remote.batch_id, reason=state.reason)
            self._end(remote, gone)
        elif unreadable:  # a job without its line: its line was most likely one of those
            self._end(
                remote,
                unreadable_line(
                    self.label,
                    tr("batch {id}: {count} line(s) could not be read").format(
                        id=remote.batch_id, count=unreadable
                    ),
                ),
            )
        else:
            self._end(
                remote,
                ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr("{provider}'s batch {id} finished without an answer for this job.").format(
                        provider=self.label, id=remote.batch_id
                    ),
                ),
            )

    def _end(self, remote: _Remote, outcome: Outcome) -> None:
        """Settle every line still waiting on ``remote`` with ``outcome``."""
        self._settle(list(remote.waiters.values()), outcome)
        remote.waiters.clear()
        if self._remotes.get(remote.batch_id) is remote:
            del self._remotes[remote.batch_id]

    def _left(self, line: _Line, remote: _Remote | None) -> None:
        """A waiting job was cancelled (batch cancel, quit): once no job waits on its provider
        batch, the batch is cancelled too, unless the studio is quitting."""
        group = self._open.get(line.request.model)
        if group is not None and line in group.lines:
            group.lines.remove(line)
            group.size -= line.size
            return
        remote = remote or next(
            (r for r in self._remotes.values() if r.waiters.get(line.line_id) is line), None
        )
        if remote is None:
            return
        remote.keep = remote.keep or line.request.detached()
        remote.waiters.pop(line.line_id, None)
        if not remote.waiters:
            self._abandon(remote)

    def _abandon(self, remote: _Remote) -> None:
        if remote.task is not None:
            remote.task.cancel()
        self._remotes.pop(remote.batch_id, None)
        if not remote.keep:
            log.info("%s: cancelling batch %s", self.label, remote.batch_id)
            self._spawn(fire_and_forget(self.api.cancel(remote.batch_id), 15.0))

    def _report(self, remote: _Remote, state: str, done: int | None) -> None:
        with contextlib.suppress(Exception):  # a view's trouble never stops the poller
            self._on_waiting(
                Waiting(self.label, remote.batch_id, remote.submitted_at, state, done, remote.total)
            )

    async def aclose(self) -> None:
        """Stop the pollers (provider batches keep running remotely) and close the pool."""
        for remote in list(self._remotes.values()):
            if remote.task is not None:
                remote.task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 15.0)
        await self.inner.aclose()

    async def test_connection(self) -> str:
        """The synchronous adapter's check: the batch API shares its key and endpoint."""
        return await self.inner.test_connection()

    def unexpected(self, e: Exception) -> ProviderError:
        return self.inner.unexpected(e)


def _ran(error: ProviderError, state: BatchState) -> ProviderError:
    """``error`` (reading a finished batch's output failed), marked ``paid`` when the batch
    completed: its lines were run and billed, so sending them again pays twice."""
    if not state.lost and not state.refused:
        error.paid = True
    return error


_TRANSIENT = frozenset(
    {ErrorClass.NETWORK, ErrorClass.TIMEOUT, ErrorClass.SERVER_ERROR, ErrorClass.RATE_LIMIT}
)
