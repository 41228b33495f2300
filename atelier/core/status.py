"""Job and batch statuses, and the only moves between them.

Every status a job or batch can have is a member of ``JobStatus`` or ``BatchStatus`` (string
enums, so the store and the JSON report keep the plain words). ``JOB_MOVES`` and
``BATCH_MOVES`` list the legal moves; ``atelier.store`` refuses any other (``IllegalTransitionError``),
so a finished job can never be silently overwritten by a late worker. The model is InvokeAI's
``_set_queue_item_status``: one place where a status changes.

The job's life (``docs/architecture.md`` draws it)::

    pending ─claim→ running ─→ completed | failed | cancelled
                     │  ↑
                     ↓  │ (backoff over)
                   waiting
    failed | cancelled ─retry→ pending      completed ─files lost | regenerate→ pending
"""

from __future__ import annotations

from enum import StrEnum

from atelier.core.errors import AtelierError


class JobStatus(StrEnum):
    """Where one job is. ``waiting``: a retry is scheduled after a backoff."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BatchStatus(StrEnum):
    """Where a batch is. ``paused``: stopped resumably (by the user, a quit or a budget cap)."""

    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"


TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
"""Statuses a job keeps until the user acts (retry, regenerate)."""

ACTIVE: frozenset[JobStatus] = frozenset({JobStatus.RUNNING, JobStatus.WAITING})
"""Statuses of a job some process is working on (its owner pid and host say which)."""

JOB_MOVES: dict[JobStatus, frozenset[JobStatus]] = {
    # A pending job is claimed, cancelled with its batch, or found already made on disk
    # (a file a killed run wrote, a spooled image delivered).
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.COMPLETED}),
    # A running job ends, waits for a retry, or goes back to pending: its process stopped
    # (recover) or the budget cap holds it.
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.WAITING,
            JobStatus.PENDING,
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.CANCELLED,
        }
    ),
    JobStatus.WAITING: frozenset(
        {JobStatus.RUNNING, JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    # Finished jobs move only by the user's hand (retry) or when their files are gone.
    JobStatus.COMPLETED: frozenset({JobStatus.PENDING}),
    # A job that failed writing its image (a full disk) completes when the spooled image is
    # written on resume.
    JobStatus.FAILED: frozenset({JobStatus.PENDING, JobStatus.COMPLETED}),
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING, JobStatus.COMPLETED}),
}

BATCH_MOVES: dict[BatchStatus, frozenset[BatchStatus]] = {
    # A run stopped before it claimed the batch (a quit or a cancel while it prepared)
    # leaves it paused or cancelled without ever running.
    BatchStatus.READY: frozenset({BatchStatus.RUNNING, BatchStatus.PAUSED, BatchStatus.CANCELLED}),
    # running → running: a new run takes over a batch left running by a process that died,
    # or a second process joins the run (the job claims keep them apart).
    BatchStatus.RUNNING: frozenset(
        {BatchStatus.RUNNING, BatchStatus.PAUSED, BatchStatus.FINISHED, BatchStatus.CANCELLED}
    ),
    BatchStatus.PAUSED: frozenset(
        {BatchStatus.RUNNING, BatchStatus.PAUSED, BatchStatus.FINISHED, BatchStatus.CANCELLED}
    ),
    # A finished or cancelled batch runs again when jobs are retried or it is resumed; a
    # second process that shared the run finishes it too.
    BatchStatus.FINISHED: frozenset({BatchStatus.RUNNING, BatchStatus.FINISHED}),
    BatchStatus.CANCELLED: frozenset(
        {BatchStatus.RUNNING, BatchStatus.CANCELLED, BatchStatus.FINISHED}
    ),
}


class IllegalTransitionError(AtelierError):
    """A status move the tables above do not allow (a bug in the caller, never user input).

    Attributes:
        kind: ``"job"`` or ``"batch"``; ``ident``: its id; ``old``/``new``: the statuses
        (``old`` is ``None`` when no such row exists).
    """

    def __init__(self, kind: str, ident: int, old: str | None, new: str) -> None:
        self.kind, self.ident, self.old, self.new = kind, ident, old, new
        where = "does not exist" if old is None else f"is {old}"
        super().__init__(f"{kind} {ident} {where}: it cannot become {new}")


def job_sources(new: JobStatus) -> frozenset[JobStatus]:
    """The statuses a job may move to ``new`` from."""
    return frozenset(old for old, moves in JOB_MOVES.items() if new in moves)


def batch_sources(new: BatchStatus) -> frozenset[BatchStatus]:
    """The statuses a batch may move to ``new`` from."""
    return frozenset(old for old, moves in BATCH_MOVES.items() if new in moves)
