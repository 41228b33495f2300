"""What one job's run needs from the engine around it: the ``RunContext``, and the shapes the
job's stages share (``Sent``, ``ActiveJob``).

``atelier.engine.jobrun.JobRun`` and its stages (``atelier.engine.copying``,
``atelier.engine.job_saving``) see only this, never the ``Engine``: so the engine imports them
and none of them imports the engine, and a ``JobRun`` can be run with a context built by hand
(a test, a tool).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from atelier.core.errors import ProviderError
from atelier.core.events import EventBus
from atelier.core.models import JobSpec
from atelier.core.status import JobStatus
from atelier.engine.lane import Run
from atelier.engine.moves import JobMoves
from atelier.output.qa import SizeRule
from atelier.pricing.budget import Budget
from atelier.providers.base import GenerationResult
from atelier.store import JobRow, Store


@dataclass(frozen=True)
class RunContext:
    """The engine's parts a job uses while it runs.

    Attributes:
        store: the SQLite store (every step is recorded there).
        events: where the job's events go.
        budget: prices answers and reserves the worst case before a request.
        rng: the retry backoff's jitter source.
        thumb_dir: the thumbnail cache (``None``: no thumbnails).
        spool_dir: where a run's paid but unwritten images wait (``Run`` → folder).
        halt: start no more jobs in a run, with the reason (``Engine.halt``).
        detaching: whether the app is quitting, so a cancelled request leaves its remote job
            running to be followed later (``Engine.detach``).
    """

    store: Store
    events: EventBus
    budget: Budget[Run]
    rng: random.Random
    thumb_dir: Path | None
    spool_dir: Callable[[Run], Path]
    halt: Callable[[Run, str], None]
    detaching: Callable[[], bool] = lambda: False

    @property
    def moves(self) -> JobMoves:
        """Where a job's status moves and is announced (``atelier.engine.moves``)."""
        return JobMoves(self.store, self.events)


@dataclass
class Sent:
    """One request's answer: ``result`` or ``error``; ``cost`` in USD (``None``: unknown)."""

    attempt_id: int
    samples: list[int]
    result: GenerationResult | None = None
    error: ProviderError | None = None
    cost: float | None = None
    factor: float = 1.0  # against the list price (economy: the batch discount)
    abandoned: bool = False  # given up in flight (the job timeout): the server may have billed it


class ActiveJob(Protocol):
    """A job being worked on, as its saving and copying stages see it (``JobRun`` is one)."""

    ctx: RunContext
    run: Run
    job: JobRow
    spec: JobSpec
    id: int
    provider: str
    model: str
    names: list[str]
    """Each sample's file name, relative to the run's output folder."""
    done: set[int]
    """Sample indices that have an image already."""
    key: str | None
    """The request's content key (``atelier.pricing.reuse``)."""
    leads: asyncio.Future[None] | None
    """Set when this job is the first of its run to make its key: done when it ends."""
    qa_rule: SizeRule
    """The model's size rounding, for the quality checks on save (``atelier.output.qa``)."""
    qa_remakes: dict[int, int]
    """Sample → how often it was made again because the checks flagged it."""
    qa_pending: set[int]
    """Samples waiting for such a re-make (``RunSettings.qa_retry``)."""

    def remake_offset(self, sample: int) -> int:
        """What a re-make of ``sample`` adds to the job's seed (0 for its first making)."""

    def move(
        self,
        status: JobStatus,
        error: ProviderError | None = None,
        *,
        retry_in_s: float | None = None,
        duration: bool = False,
    ) -> None:
        """Record the job's new status and announce it."""
