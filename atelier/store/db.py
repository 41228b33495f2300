"""The store's connection, transactions and the one writer of every status."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.paths import PRIVATE_DIR, private_file
from atelier.core.status import (
    BatchStatus,
    IllegalTransitionError,
    JobStatus,
    batch_sources,
    job_sources,
)
from atelier.store.schema import migrate


def now_iso() -> str:
    """UTC now, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(AtelierError):
    """The store cannot be used; the message names the file and what to do.

    Attributes:
        path: the store file; damaged: it is unreadable as a database (``move_aside`` helps).
    """

    def __init__(self, path: Path, message: str, damaged: bool) -> None:
        super().__init__(message)
        self.path, self.damaged = path, damaged


def store_error(path: Path, e: BaseException) -> StoreError:
    """A ``StoreError`` for what SQLite or the OS said while opening ``path``."""
    text = str(e)
    if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, sqlite3.OperationalError):
        return StoreError(
            path,
            tr(
                "The store {path} is damaged ({reason}). Your images are not affected. Atelier can move it aside (kept as {aside}) and start a new one: choose “Move aside” in the studio, or run again with --move-damaged-store."
            ).format(path=path, reason=text, aside=aside_name(path).name),
            damaged=True,
        )
    if "full" in text:
        return StoreError(
            path,
            tr("The disk holding {path} is full ({reason}). Free some space and try again.").format(
                path=path, reason=text
            ),
            False,
        )
    return StoreError(
        path,
        tr(
            "Cannot open the store {path} ({reason}): {folder} must be a folder you can write. Fix its permissions or set ATELIER_HOME to another folder."
        ).format(path=path, reason=text, folder=path.parent),
        damaged=False,
    )


def aside_name(path: Path) -> Path:
    """Where ``move_aside`` puts a damaged store."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.name}.damaged-{stamp}")


def move_aside(path: Path) -> Path:
    """Rename a damaged store (and its -wal and -shm) out of the way, never deleting it;
    returns its new name."""
    dest = aside_name(path)
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            src.replace(Path(f"{dest}{suffix}"))
    return dest


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
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            private_file(path)  # 0600; SQLite gives its -wal and -shm the same mode
            self._db = sqlite3.connect(
                path, timeout=30.0, check_same_thread=False, isolation_level=None
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute(
                "SELECT count(*) FROM sqlite_master"
            ).fetchone()  # a garbage file fails here
            with self._lock:
                migrate(self._db, path)
        except (sqlite3.DatabaseError, OSError) as e:
            raise store_error(path, e) from e
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self._before_close: list[Callable[[], None]] = []

    def before_close(self, fn: Callable[[], None]) -> None:
        """Have ``fn`` run (once) when the store closes, before the connection does: work
        still writing to it elsewhere finishes first (the channel judge's last verdicts)."""
        if fn not in self._before_close:
            self._before_close.append(fn)

    def close(self) -> None:
        """Finish what :meth:`before_close` registered, then close the connection."""
        hooks, self._before_close = self._before_close, []
        for fn in hooks:
            fn()
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
