"""The status transition tables: every legal move works through the store, every illegal one
raises and leaves the row as it was."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import (
    BATCH_MOVES,
    JOB_MOVES,
    BatchStatus,
    IllegalTransitionError,
    JobStatus,
)
from atelier.store import Store
from tests.support.batches import store_batch


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.db")
    store_batch(s, RunSettings(), [JobSpec(prompt="p", output_path="p.png")], tmp_path / "o")
    return s


def _force_job(store: Store, status: JobStatus) -> None:
    with store.tx() as db:  # the setup of each case, not a move under test
        db.execute("UPDATE jobs SET status=? WHERE id=1", (status,))


def _force_batch(store: Store, status: BatchStatus) -> None:
    with store.tx() as db:
        db.execute("UPDATE batches SET status=? WHERE id=1", (status,))


def test_every_status_has_its_row_in_the_tables() -> None:
    assert set(JOB_MOVES) == set(JobStatus)
    assert set(BATCH_MOVES) == set(BatchStatus)


@pytest.mark.parametrize("old,new", list(itertools.product(JobStatus, JobStatus)))
def test_job_moves(store: Store, old: JobStatus, new: JobStatus) -> None:
    _force_job(store, old)
    if new in JOB_MOVES[old]:
        store.set_job_status(1, new)
        assert store.job(1).status == new
    else:
        with pytest.raises(IllegalTransitionError, match=f"job 1 is {old}: it cannot become {new}"):
            store.set_job_status(1, new)
        assert store.job(1).status == old


@pytest.mark.parametrize("old,new", list(itertools.product(BatchStatus, BatchStatus)))
def test_batch_moves(store: Store, old: BatchStatus, new: BatchStatus) -> None:
    _force_batch(store, old)
    if new in BATCH_MOVES[old]:
        store.set_batch_status(1, new)
        assert store.batch(1).status == new
    else:
        with pytest.raises(IllegalTransitionError, match=f"batch 1 is {old}"):
            store.set_batch_status(1, new)
        assert store.batch(1).status == old


def test_a_finished_job_is_never_overwritten_by_a_late_worker(store: Store) -> None:
    _force_job(store, JobStatus.COMPLETED)
    for late in (JobStatus.RUNNING, JobStatus.FAILED, JobStatus.WAITING, JobStatus.CANCELLED):
        with pytest.raises(IllegalTransitionError):
            store.set_job_status(1, late)
    assert not store.claim_job(1)  # a claim is not an error: someone else has it
    with pytest.raises(IllegalTransitionError):
        store.start_attempt(1)
    assert store.job(1).status == JobStatus.COMPLETED and store.job(1).attempts == 0


def test_bulk_moves_skip_what_they_may_not_move(store: Store) -> None:
    _force_job(store, JobStatus.COMPLETED)
    assert store.reset_for_retry([1]) == []
    assert store.cancel_unfinished(1, "stop") == []
    assert store.job(1).status == JobStatus.COMPLETED


def test_a_missing_job_is_named(store: Store) -> None:
    with pytest.raises(IllegalTransitionError, match="job 99 does not exist"):
        store.set_job_status(99, JobStatus.FAILED)
