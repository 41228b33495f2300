"""The SQLite store: batches, jobs, attempts and images; the single source of truth.

WAL mode with a busy timeout, so the window can read while the engine writes and two Atelier
processes can share one ``ATELIER_HOME``. A job is claimed with one guarded ``UPDATE … WHERE
status = 'pending'`` so no two workers (or processes) ever run the same job. Jobs are written
before anything is sent and after anything is learnt: a crash loses nothing, and on restart
jobs whose owning process is gone go back to ``pending``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.models import TERMINAL_STATUSES, JobSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    output_dir TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    settings_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'ready',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    estimated_cost REAL,
    owner_pid INTEGER,
    owner_host TEXT,
    warnings_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS batches_fingerprint ON batches(fingerprint);
CREATE UNIQUE INDEX IF NOT EXISTS batches_fingerprint_unique ON batches(fingerprint);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    spec_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_type TEXT,
    cost REAL NOT NULL DEFAULT 0,
    cost_unknown INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    started_at TEXT,
    finished_at TEXT,
    owner_pid INTEGER,
    owner_host TEXT
);
CREATE INDEX IF NOT EXISTS jobs_batch_status ON jobs(batch_id, status, seq);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    error TEXT,
    error_type TEXT,
    http_status INTEGER,
    images INTEGER NOT NULL DEFAULT 0,
    cost REAL
);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    sample_index INTEGER NOT NULL,
    path TEXT NOT NULL,
    thumb TEXT,
    created_at TEXT NOT NULL,
    adopted INTEGER NOT NULL DEFAULT 0,
    UNIQUE(job_id, sample_index)
);
"""


def now_iso() -> str:
    """UTC now, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _pid_alive(pid: int | None, host: str | None) -> bool:
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


@dataclass(frozen=True)
class BatchRow:
    """A batch as stored. Costs in USD; ``counts`` maps status → job count."""

    id: int
    name: str
    fingerprint: str
    output_dir: Path
    provider: str
    model: str
    source: str
    settings: dict[str, Any]
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    estimated_cost: float | None
    warnings: list[str]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Number of jobs."""
        return sum(self.counts.values())

    @property
    def unfinished(self) -> int:
        """Jobs not yet completed, failed or cancelled."""
        return sum(n for s, n in self.counts.items() if s not in TERMINAL_STATUSES)


@dataclass(frozen=True)
class JobRow:
    """A job as stored. ``cost`` is USD spent so far (``None`` when some of it is unknown)."""

    id: int
    batch_id: int
    seq: int
    spec: JobSpec
    status: str
    attempts: int
    error: str | None
    error_type: str | None
    cost: float | None
    duration_ms: int | None
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class JobSummary:
    """What lists show of a job, read without validating its whole spec (10,000 in ~30 ms)."""

    id: int
    seq: int
    prompt: str
    output_path: str
    status: str
    attempts: int
    error: str | None
    error_type: str | None
    cost: float | None
    duration_ms: int | None


@dataclass(frozen=True)
class ImageRow:
    """One written image file."""

    id: int
    job_id: int
    batch_id: int
    sample_index: int
    path: Path
    thumb: Path | None
    created_at: str


class Store:
    """Thread-safe access to the SQLite store at ``path``."""

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
            self._db.executescript(SCHEMA)
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

    # ---- batches -------------------------------------------------------------------------
    def create_batch(
        self,
        *,
        name: str,
        fingerprint: str,
        output_dir: Path,
        provider: str,
        model: str,
        source: str,
        settings: dict[str, Any],
        specs: list[JobSpec],
        estimated_cost: float | None,
        warnings: list[str] | None = None,
    ) -> int:
        """Insert a batch and all its jobs as ``pending`` in one transaction; return its id."""
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO batches(name, fingerprint, output_dir, provider, model, source, settings_json,"
                " created_at, estimated_cost, warnings_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    fingerprint,
                    str(output_dir),
                    provider,
                    model,
                    source,
                    json.dumps(settings),
                    now_iso(),
                    estimated_cost,
                    json.dumps(warnings or [], ensure_ascii=False),
                ),
            )
            batch_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO jobs(batch_id, seq, spec_json) VALUES (?,?,?)",
                ((batch_id, i, s.model_dump_json()) for i, s in enumerate(specs)),
            )
        return batch_id

    def update_batch_settings(self, batch_id: int, settings: dict[str, Any]) -> None:
        """Replace a batch's run settings (concurrency, timeouts, retry policy)."""
        with self.tx() as db:
            db.execute(
                "UPDATE batches SET settings_json=? WHERE id=?", (json.dumps(settings), batch_id)
            )

    def find_batch(self, fingerprint: str) -> int | None:
        """The newest batch with this fingerprint (same jobs, provider and folder), if any."""
        rows = self._q(
            "SELECT id FROM batches WHERE fingerprint=? ORDER BY id DESC LIMIT 1", (fingerprint,)
        )
        return int(rows[0]["id"]) if rows else None

    def _batch_from_row(self, r: sqlite3.Row) -> BatchRow:
        counts = {
            str(c["status"]): int(c["n"])
            for c in self._q(
                "SELECT status, COUNT(*) AS n FROM jobs WHERE batch_id=? GROUP BY status",
                (r["id"],),
            )
        }
        return BatchRow(
            int(r["id"]),
            r["name"],
            r["fingerprint"],
            Path(r["output_dir"]),
            r["provider"],
            r["model"],
            r["source"],
            json.loads(r["settings_json"]),
            r["status"],
            r["created_at"],
            r["started_at"],
            r["finished_at"],
            r["estimated_cost"],
            json.loads(r["warnings_json"]),
            counts,
        )

    def batch(self, batch_id: int) -> BatchRow:
        """The batch ``batch_id``.

        Raises:
            KeyError: no such batch.
        """
        rows = self._q("SELECT * FROM batches WHERE id=?", (batch_id,))
        if not rows:
            raise KeyError(batch_id)
        return self._batch_from_row(rows[0])

    def batches(self, limit: int = 500) -> list[BatchRow]:
        """Batches, newest first."""
        return [
            self._batch_from_row(r)
            for r in self._q("SELECT * FROM batches ORDER BY id DESC LIMIT ?", (limit,))
        ]

    def set_batch_status(
        self, batch_id: int, status: str, *, started: bool = False, finished: bool = False
    ) -> None:
        """Set a batch's status; ``started`` claims it for this process."""
        with self.tx() as db:
            if started:
                db.execute(
                    "UPDATE batches SET status=?, started_at=COALESCE(started_at, ?), finished_at=NULL,"
                    " owner_pid=?, owner_host=? WHERE id=?",
                    (status, now_iso(), self.pid, self.host, batch_id),
                )
            elif finished:
                db.execute(
                    "UPDATE batches SET status=?, finished_at=? WHERE id=?",
                    (status, now_iso(), batch_id),
                )
            else:
                db.execute("UPDATE batches SET status=? WHERE id=?", (status, batch_id))

    def others_working(self, batch_id: int) -> int:
        """Jobs of the batch another live process is working on right now."""
        rows = self._q(
            "SELECT owner_pid, owner_host FROM jobs WHERE batch_id=? AND status IN ('running','waiting')",
            (batch_id,),
        )
        return sum(
            1
            for r in rows
            if (r["owner_pid"], r["owner_host"]) != (self.pid, self.host)
            and _pid_alive(r["owner_pid"], r["owner_host"])
        )

    def interrupted_batches(self) -> list[BatchRow]:
        """Batches left ``running``/``paused`` by a process that is gone, with work left."""
        out = []
        for r in self._q(
            "SELECT * FROM batches WHERE status IN ('running','paused') ORDER BY id DESC"
        ):
            if not _pid_alive(r["owner_pid"], r["owner_host"]):
                b = self._batch_from_row(r)
                if b.unfinished:
                    out.append(b)
        return out

    # ---- jobs ----------------------------------------------------------------------------
    def _job_from_row(self, r: sqlite3.Row) -> JobRow:
        cost = None if r["cost_unknown"] else float(r["cost"])
        return JobRow(
            int(r["id"]),
            int(r["batch_id"]),
            int(r["seq"]),
            JobSpec.model_validate_json(r["spec_json"]),
            r["status"],
            int(r["attempts"]),
            r["error"],
            r["error_type"],
            cost,
            r["duration_ms"],
            r["started_at"],
            r["finished_at"],
        )

    def jobs(self, batch_id: int) -> list[JobRow]:
        """All jobs of a batch in sequence order."""
        return [
            self._job_from_row(r)
            for r in self._q("SELECT * FROM jobs WHERE batch_id=? ORDER BY seq", (batch_id,))
        ]

    def job_summaries(self, batch_id: int) -> list[JobSummary]:
        """All jobs of a batch for the views, in sequence order."""
        rows = self._q(
            "SELECT id, seq, json_extract(spec_json, '$.prompt') AS prompt, json_extract(spec_json, '$.output_path')"
            " AS output_path, status, attempts, error, error_type, cost, cost_unknown, duration_ms FROM jobs"
            " WHERE batch_id=? ORDER BY seq",
            (batch_id,),
        )
        return [
            JobSummary(
                int(r["id"]),
                int(r["seq"]),
                r["prompt"],
                r["output_path"],
                r["status"],
                int(r["attempts"]),
                r["error"],
                r["error_type"],
                None if r["cost_unknown"] else float(r["cost"]),
                r["duration_ms"],
            )
            for r in rows
        ]

    def job(self, job_id: int) -> JobRow:
        """One job.

        Raises:
            KeyError: no such job.
        """
        rows = self._q("SELECT * FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return self._job_from_row(rows[0])

    def known_spend_usd(self, batch_id: int) -> float:
        """What the batch's jobs have cost so far, USD, leaving out jobs whose cost is unknown
        (the sum of ``Job.cost`` where it is not ``None``), without loading the jobs."""
        rows = self._q(
            "SELECT COALESCE(SUM(CASE WHEN cost_unknown THEN 0 ELSE cost END), 0) AS spent "
            "FROM jobs WHERE batch_id=?",
            (batch_id,),
        )
        return float(rows[0]["spent"])

    def pending_job_ids(self, batch_id: int) -> list[int]:
        """Ids of the batch's ``pending`` jobs in sequence order."""
        return [
            int(r["id"])
            for r in self._q(
                "SELECT id FROM jobs WHERE batch_id=? AND status='pending' ORDER BY seq",
                (batch_id,),
            )
        ]

    def pending_targets(self, batch_id: int) -> list[tuple[int, str | None, str | None]]:
        """``(job id, its own provider, its own model)`` of the pending jobs, in sequence order."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self._q(
                "SELECT id, json_extract(spec_json, '$.provider'), json_extract(spec_json, '$.model') FROM jobs"
                " WHERE batch_id=? AND status='pending' ORDER BY seq",
                (batch_id,),
            )
        ]

    def claim_job(self, job_id: int) -> bool:
        """Atomically move a ``pending`` job to ``running`` for this process.

        Returns ``False`` when another worker or process got it first.
        """
        with self.tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status='running', owner_pid=?, owner_host=?, started_at=?, error=NULL,"
                " error_type=NULL, finished_at=NULL WHERE id=? AND status='pending'",
                (self.pid, self.host, now_iso(), job_id),
            )
            return cur.rowcount == 1

    def start_attempt(self, job_id: int) -> tuple[int, int]:
        """Record that a request is about to be sent; returns ``(attempt_id, job attempts)``."""
        with self.tx() as db:
            db.execute(
                "UPDATE jobs SET attempts=attempts+1, status='running' WHERE id=?", (job_id,)
            )
            n = int(db.execute("SELECT attempts FROM jobs WHERE id=?", (job_id,)).fetchone()[0])
            cur = db.execute(
                "INSERT INTO attempts(job_id, number, started_at) VALUES (?,?,?)",
                (job_id, n, now_iso()),
            )
            return int(cur.lastrowid or 0), n

    def finish_attempt(
        self,
        attempt_id: int,
        outcome: str,
        *,
        error: str | None = None,
        error_type: str | None = None,
        http_status: int | None = None,
        images: int = 0,
        cost: float | None = None,
    ) -> None:
        """Close an attempt row with its outcome (``ok``, ``error``, ``cancelled``)."""
        with self.tx() as db:
            db.execute(
                "UPDATE attempts SET finished_at=?, outcome=?, error=?, error_type=?, http_status=?,"
                " images=?, cost=? WHERE id=?",
                (now_iso(), outcome, error, error_type, http_status, images, cost, attempt_id),
            )

    def attempts(self, job_id: int) -> list[dict[str, Any]]:
        """The attempt rows of a job, oldest first."""
        return [
            dict(r) for r in self._q("SELECT * FROM attempts WHERE job_id=? ORDER BY id", (job_id,))
        ]

    def add_cost(self, job_id: int, usd: float | None) -> None:
        """Add spend to a job; ``None`` marks its cost as (partly) unknown."""
        with self.tx() as db:
            if usd is None:
                db.execute("UPDATE jobs SET cost_unknown=1 WHERE id=?", (job_id,))
            else:
                db.execute("UPDATE jobs SET cost=cost+? WHERE id=?", (usd, job_id))

    def set_job_status(
        self,
        job_id: int,
        status: str,
        *,
        error: str | None = None,
        error_type: str | None = None,
        duration_ms: int | None = None,
    ) -> None:
        """Set a job's status (terminal statuses also stamp ``finished_at``)."""
        fin = now_iso() if status in TERMINAL_STATUSES else None
        with self.tx() as db:
            db.execute(
                "UPDATE jobs SET status=?, error=?, error_type=?, duration_ms=COALESCE(?, duration_ms),"
                " finished_at=? WHERE id=?",
                (status, error, error_type, duration_ms, fin, job_id),
            )

    def reset_for_retry(self, job_ids: Iterable[int]) -> list[int]:
        """Put failed or cancelled jobs back to ``pending`` (same job, next attempt). Returns the
        ids actually reset; completed, pending and running jobs are left alone."""
        changed: list[int] = []
        with self.tx() as db:
            for jid in job_ids:
                cur = db.execute(
                    "UPDATE jobs SET status='pending', error=NULL, error_type=NULL, finished_at=NULL"
                    " WHERE id=? AND status IN ('failed','cancelled')",
                    (jid,),
                )
                if cur.rowcount:
                    changed.append(jid)
        return changed

    def failed_job_ids(self, batch_id: int) -> list[int]:
        """Ids of failed jobs."""
        return [
            int(r["id"])
            for r in self._q(
                "SELECT id FROM jobs WHERE batch_id=? AND status='failed' ORDER BY seq", (batch_id,)
            )
        ]

    def recover(self, batch_id: int) -> int:
        """Jobs left ``running``/``waiting`` by a dead process (or by this one, when it is not
        running them any more) go back to ``pending``. Returns how many."""
        n = 0
        with self.tx() as db:
            for r in db.execute(
                "SELECT id, owner_pid, owner_host FROM jobs WHERE batch_id=? AND status IN"
                " ('running','waiting')",
                (batch_id,),
            ).fetchall():
                mine = r["owner_pid"] == self.pid and r["owner_host"] == self.host
                if mine or not _pid_alive(r["owner_pid"], r["owner_host"]):
                    db.execute("UPDATE jobs SET status='pending' WHERE id=?", (r["id"],))
                    db.execute(
                        "UPDATE attempts SET finished_at=?, outcome='interrupted' WHERE job_id=? AND"
                        " finished_at IS NULL",
                        (now_iso(), r["id"]),
                    )
                    n += 1
        return n

    def cancel_unfinished(self, batch_id: int, reason: str) -> list[int]:
        """Mark every pending, waiting or running job of this process ``cancelled``."""
        with self.tx() as db:
            ids = [
                int(r[0])
                for r in db.execute(
                    "SELECT id FROM jobs WHERE batch_id=? AND (status='pending' OR (status IN ('running','waiting')"
                    " AND owner_pid=? AND owner_host=?))",
                    (batch_id, self.pid, self.host),
                ).fetchall()
            ]
            for jid in ids:
                db.execute(
                    "UPDATE jobs SET status='cancelled', error=?, error_type='cancelled', finished_at=?"
                    " WHERE id=?",
                    (reason, now_iso(), jid),
                )
                db.execute(
                    "UPDATE attempts SET finished_at=?, outcome='cancelled' WHERE job_id=? AND"
                    " finished_at IS NULL",
                    (now_iso(), jid),
                )
        return ids

    # ---- images --------------------------------------------------------------------------
    def add_image(
        self, job_id: int, sample_index: int, path: Path, thumb: Path | None, adopted: bool = False
    ) -> None:
        """Record a written image (idempotent per job and sample)."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO images(job_id, sample_index, path, thumb, created_at, adopted)"
                " VALUES (?,?,?,?,?,?)",
                (
                    job_id,
                    sample_index,
                    str(path),
                    str(thumb) if thumb else None,
                    now_iso(),
                    int(adopted),
                ),
            )

    def forget_images(self, job_id: int, samples: list[int]) -> None:
        """Drop image records whose files are gone; a completed job goes back to pending."""
        with self.tx() as db:
            db.executemany(
                "DELETE FROM images WHERE job_id=? AND sample_index=?",
                [(job_id, s) for s in samples],
            )
            db.execute(
                "UPDATE jobs SET status='pending', finished_at=NULL WHERE id=? AND status='completed'",
                (job_id,),
            )

    def samples_done(self, job_id: int) -> set[int]:
        """Sample indices of ``job_id`` that already have a file."""
        return {
            int(r[0]) for r in self._q("SELECT sample_index FROM images WHERE job_id=?", (job_id,))
        }

    def images(self, batch_id: int) -> list[ImageRow]:
        """Every image of a batch, in job then sample order."""
        return [
            ImageRow(
                int(r["id"]),
                int(r["job_id"]),
                int(r["batch_id"]),
                int(r["sample_index"]),
                Path(r["path"]),
                Path(r["thumb"]) if r["thumb"] else None,
                r["created_at"],
            )
            for r in self._q(
                "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
                " WHERE jobs.batch_id=? ORDER BY jobs.seq, images.sample_index",
                (batch_id,),
            )
        ]

    def image_paths(self, job_id: int) -> list[str]:
        """Paths of a job's images in sample order."""
        return [
            str(r[0])
            for r in self._q(
                "SELECT path FROM images WHERE job_id=? ORDER BY sample_index", (job_id,)
            )
        ]
