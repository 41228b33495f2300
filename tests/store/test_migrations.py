"""A store written by Atelier 0.1.0 (``tests/data/store-v0.sqlite``, made by
``tests/data/make_store_v0.py`` before the schema had versions) opens in this release with its
batches, jobs, attempts, images and spend intact, and is migrated to the current schema."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from atelier.core.status import BatchStatus, JobStatus
from atelier.store import Store
from atelier.store.schema import SCHEMA_VERSION, StoreVersionError

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "store-v0.sqlite"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "atelier.db"
    shutil.copy(FIXTURE, path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    db.close()
    return path


def test_a_0_1_0_store_opens_with_everything_intact(old_store: Path) -> None:
    store = Store(old_store)
    try:
        assert [b.id for b in store.batches()] == [2, 1]
        b1, b2 = store.batch(1), store.batch(2)
        assert (b2.name, b2.status, b2.total) == ("interrupted.json", BatchStatus.RUNNING, 3)
        assert (b1.name, b1.status, b1.provider, b1.model) == (
            "catalog.csv",
            BatchStatus.FINISHED,
            "openai",
            "gpt-image-1.5",
        )
        assert b1.counts == {JobStatus.COMPLETED: 2, JobStatus.FAILED: 1, JobStatus.CANCELLED: 1}
        assert b1.estimated_cost == 0.15 and b1.warnings == ["row 3: empty {Vendor}"]
        assert b1.settings["concurrency"] == 4
        jobs = {j.seq: j for j in store.jobs(1)}
        assert (jobs[0].status, jobs[0].attempts, jobs[0].cost) == (JobStatus.COMPLETED, 2, 0.084)
        assert jobs[0].spec.sample_count == 2 and jobs[0].duration_ms == 5400
        assert (jobs[1].error_type, jobs[1].error) == ("content_policy", "Refused by moderation")
        assert jobs[2].status == JobStatus.CANCELLED
        assert jobs[3].cost is None  # a cost that was unknown stays unknown, never $0
        assert [a["outcome"] for a in store.attempts(jobs[0].id)] == ["error", "ok"]
        assert store.attempts(jobs[0].id)[0]["http_status"] == 429
        assert [im.path.name for im in store.images(1)] == [
            "NH-CND-001-1.png",
            "NH-CND-001-2.png",
            "unknown.png",
        ]
        # v3/v4: every old image has a UUID, is version 1 of its job, unreviewed
        olds = store.images(1)
        assert len({im.uuid for im in olds}) == 3 and all(len(im.uuid) == 36 for im in olds)
        assert {(im.version, im.flag, im.stars) for im in olds} == {(1, "unflagged", 0)}
        assert all(j.version == 1 and j.pick_version is None for j in store.jobs(1))
        assert store.known_spend_usd(1) == pytest.approx(0.084)
        assert store.known_spend_usd(2) == pytest.approx(0.011)
        assert store.job(5).spec.prompt == "日本の茶碗、白"
        # The batch a dead process left running is offered for resume, and its job comes back.
        assert [b.id for b in store.interrupted_batches()] == [2]
        assert store.recover(2) == 1
        assert store.batch(2).counts == {JobStatus.COMPLETED: 1, JobStatus.PENDING: 2}
    finally:
        store.close()
    db = sqlite3.connect(old_store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "attempts_job" in indexes and "batches_fingerprint" not in indexes


def test_a_new_store_and_a_migrated_one_have_the_same_schema(
    old_store: Path, tmp_path: Path
) -> None:
    Store(old_store).close()
    Store(tmp_path / "new.db").close()

    def schema(path: Path) -> set[tuple[str, str]]:
        db = sqlite3.connect(path)
        try:
            return set(
                db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            )
        finally:
            db.close()

    assert schema(old_store) == schema(tmp_path / "new.db")


def test_opening_twice_migrates_once(old_store: Path) -> None:
    Store(old_store).close()
    store = Store(old_store)  # already current: nothing applied again
    store.close()
    db = sqlite3.connect(old_store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_release_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreVersionError, match=r"future\.db was written by a newer Atelier"):
        Store(path)


def test_images_from_before_the_quality_checks_read_as_not_checked(old_store: Path) -> None:
    store = Store(old_store)
    try:
        olds = store.images(1)
        assert {(im.qa_flags, im.qa_remakes) for im in olds} == {(None, 0)}
        assert store.qa_hashes(1) == {} and store.qa_flags_by_job(1) == {}
    finally:
        store.close()
