"""The store's connection, transactions and the one writer of every status."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.status import (
    BatchStatus,
    IllegalTransitionError,
    JobStatus,
    batch_sources,
    job_sources,
)
from app.store.schema import migrate


def now_iso() -> str:
    """UTC now, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def pid_alive(pid: int | None, host: str | None) -> bool:
    """Whether process ``pid`` on ``host`` may still be working (another host's: assumed)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True  # another machine's process: assume alive, do not steal its jobs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _marks(n: int) -> str:
    return ",".join("?" * n)


class Database:
    """Thread-safe access to the SQLite file at ``path``, migrated to the current schema.

    WAL mode with a busy timeout, so the window can read while the engine writes and two
    Atelier processes can share one ``ATELIER_HOME``.

    Attributes:
        pid, host: this process, as written into the jobs and batches it owns.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            migrate(self._db, path)
        self.pid = os.getpid()
        self.host = socket.gethostname()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (a write lock up front: no upgrade deadlocks)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # ---- the only writers of a status ------------------------------------------------------
    @staticmethod
    def _move_jobs(
        db: sqlite3.Connection,
        new: JobStatus,
        where: str,
        args: Iterable[Any] = (),
        *,
        also: str = "",
        also_args: Iterable[Any] = (),
    ) -> list[int]:
        """Move the jobs matching ``where`` to ``new`` if ``JOB_MOVES`` allows it from their
        status; the others are left as they are. ``also`` sets more columns (``"error=?"``).
        Returns the ids moved."""
        sources = sorted(job_sources(new))
        sets = "status=?" + (f", {also}" if also else "")
        rows = db.execute(
            f"UPDATE jobs SET {sets} WHERE ({where}) AND status IN ({_marks(len(sources))})"
            " RETURNING id",
            (new, *also_args, *args, *sources),
        ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def _move_job(
        self,
        db: sqlite3.Connection,
        job_id: int,
        new: JobStatus,
        *,
        also: str = "",
        also_args: Iterable[Any] = (),
    ) -> None:
        """Move one job to ``new``.

        Raises:
            IllegalTransitionError: ``JOB_MOVES`` does not allow it from the job's status.
        """
        if not self._move_jobs(db, new, "id=?", (job_id,), also=also, also_args=also_args):
            row = db.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
            raise IllegalTransitionError("job", job_id, row[0] if row else None, new)

    def _move_batch(
        self,
        db: sqlite3.Connection,
        batch_id: int,
        new: BatchStatus,
        *,
        also: str = "",
        also_args: Iterable[Any] = (),
    ) -> None:
        """Move a batch to ``new``.

        Raises:
            IllegalTransitionError: ``BATCH_MOVES`` does not allow it from the batch's status.
        """
        sources = sorted(batch_sources(new))
        sets = "status=?" + (f", {also}" if also else "")
        cur = db.execute(
            f"UPDATE batches SET {sets} WHERE id=? AND status IN ({_marks(len(sources))})",
            (new, *also_args, batch_id, *sources),
        )
        if cur.rowcount != 1:
            row = db.execute("SELECT status FROM batches WHERE id=?", (batch_id,)).fetchone()
            raise IllegalTransitionError("batch", batch_id, row[0] if row else None, new)
