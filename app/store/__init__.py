"""The SQLite store: batches, jobs, attempts and images; the single source of truth.

``Store`` is the one object the engine, the controller and the views' loaders use. Its parts:
``db`` (connection, transactions and the only writers of a status, checked against
``app.status``), ``schema`` (numbered migrations), ``batches``, ``jobs`` and the images below.
Which threads may use it: see ``docs/architecture.md`` (any thread; one lock serialises).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from app.status import JobStatus
from app.store.batches import BatchStore
from app.store.db import now_iso
from app.store.jobs import JobStore
from app.store.rows import BatchRow, ImageRow, JobRow, JobSummary

__all__ = ["BatchRow", "ImageRow", "JobRow", "JobSummary", "Store", "now_iso"]


class Store(BatchStore, JobStore):
    """Thread-safe access to the SQLite store at ``path`` (created and migrated as needed).

    Raises:
        app.store.schema.StoreVersionError: the file was written by a newer Atelier.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    # ---- images --------------------------------------------------------------------------
    def add_image(
        self, job_id: int, sample_index: int, path: Path, thumb: Path | None, adopted: bool = False
    ) -> None:
        """Record a written image (idempotent per job and sample)."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO images(job_id, sample_index, path, thumb, created_at,"
                " adopted, uuid) VALUES (?,?,?,?,?,?,?)",
                (
                    job_id,
                    sample_index,
                    str(path),
                    str(thumb) if thumb else None,
                    now_iso(),
                    adopted,
                    str(uuid.uuid4()),
                ),
            )

    def forget_images(self, job_id: int, samples: list[int]) -> None:
        """Drop image records whose files are gone; a completed job goes back to pending."""
        with self.tx() as db:
            db.executemany(
                "DELETE FROM images WHERE job_id=? AND sample_index=?",
                [(job_id, s) for s in samples],
            )
            self._move_jobs(
                db,
                JobStatus.PENDING,
                "id=? AND status=?",
                (job_id, JobStatus.COMPLETED),
                also="finished_at=NULL",
            )

    def samples_done(self, job_id: int) -> set[int]:
        """Sample indices of ``job_id`` that already have a file."""
        rows = self._q("SELECT sample_index FROM images WHERE job_id=?", (job_id,))
        return {int(r["sample_index"]) for r in rows}

    def images(self, batch_id: int) -> list[ImageRow]:
        """Every image of a batch, in job then sample order."""
        rows = self._q(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            " WHERE jobs.batch_id=? ORDER BY jobs.seq, images.sample_index",
            (batch_id,),
        )
        return [ImageRow.from_row(r) for r in rows]

    def image_paths(self, job_id: int) -> list[str]:
        """Paths of a job's images in sample order."""
        rows = self._q("SELECT path FROM images WHERE job_id=? ORDER BY sample_index", (job_id,))
        return [str(r["path"]) for r in rows]
