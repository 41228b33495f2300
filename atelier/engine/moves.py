"""The one place the engine moves a job's status and announces it: each move is written to
the store (``atelier.store``, which checks it against ``atelier.core.status``) and then told
to the views as a ``JobChanged`` event, so no path can do one without the other."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.core.errors import ErrorClass
from atelier.core.events import EventBus, JobChanged
from atelier.core.status import IllegalTransitionError, JobStatus
from atelier.store import Store
from atelier.store.deliveries import JobOutbox


@dataclass(frozen=True)
class JobMoves:
    """Moves jobs of ``store`` and announces each move on ``events``."""

    store: Store
    events: EventBus

    def move(
        self,
        batch_id: int,
        job_id: int,
        status: JobStatus,
        *,
        error: str | None = None,
        kind: str | None = None,
        duration_ms: int | None = None,
        retry_in_s: float | None = None,
        tally: tuple[int, float | None] | None = None,
        outbox: JobOutbox | None = None,
        remade_usd: float = 0.0,
    ) -> None:
        """Move ``job_id`` to ``status`` with its ``error`` text and class ``kind``, then
        announce it (``remade_usd``: the part of its cost paid for quality re-makes). ``tally``: the job's attempts and cost (USD, ``None``: partly unknown)
        when the caller keeps them (a running job), else they are read back from the store.
        ``outbox``: the deliveries the move causes, written with it (``Store.set_job_status``).

        Raises:
            IllegalTransitionError: ``atelier.core.status`` does not allow the move (nothing
                is announced).
        """
        self.store.set_job_status(
            job_id, status, error=error, error_type=kind, duration_ms=duration_ms, outbox=outbox
        )
        attempts, cost = tally or self.store.job_attempts_and_cost(job_id)
        self.events.emit(
            JobChanged(
                batch_id,
                job_id,
                status,
                attempts,
                error,
                kind,
                cost,
                duration_ms,
                retry_in_s,
                remade_usd,
            )
        )

    def start_attempt(self, batch_id: int, job_id: int, cost: float | None) -> tuple[int, int]:
        """Record a request about to be sent (the job becomes ``running``) and announce it;
        returns ``(attempt_id, the job's attempts)``.

        Raises:
            IllegalTransitionError: the job is not running or waiting.
        """
        attempt_id, attempts = self.store.start_attempt(job_id)
        self.events.emit(JobChanged(batch_id, job_id, JobStatus.RUNNING, attempts, cost=cost))
        return attempt_id, attempts

    def fail_held(
        self,
        batch_id: int,
        job_id: int,
        message: str,
        error_class: ErrorClass,
        duration_ms: int | None = None,
        outbox: JobOutbox | None = None,
    ) -> None:
        """Fail a job this process holds that never reached ``JobRun``'s own bookkeeping
        (its open attempts closed with ``message``); a job that had already ended keeps what
        it ended as."""
        self.store.close_open_attempts(job_id, "error", message, error_class.value)
        try:
            self.move(
                batch_id,
                job_id,
                JobStatus.FAILED,
                error=message,
                kind=error_class.value,
                duration_ms=duration_ms,
                outbox=outbox,
            )
        except IllegalTransitionError:
            return

    def cancel_unfinished(self, batch_id: int, reason: str, *, only_mine: bool) -> list[int]:
        """Cancel the batch's unfinished jobs (``only_mine``: those this process holds) with
        ``reason`` and announce each; returns their ids."""
        stopped = self.store.cancel_unfinished(batch_id, reason, only_mine=only_mine)
        for jid in stopped:
            self.announce(batch_id, jid, JobStatus.CANCELLED, reason, "cancelled")
        return stopped

    def announce(
        self,
        batch_id: int,
        job_id: int,
        status: JobStatus,
        error: str | None = None,
        kind: str | None = None,
    ) -> None:
        """Announce a move the store made as part of a wider write (a bulk cancel, a retry's
        reset to ``pending``: ``Store.reset_for_retry``)."""
        attempts, cost = self.store.job_attempts_and_cost(job_id)
        self.events.emit(JobChanged(batch_id, job_id, status, attempts, error, kind, cost))
