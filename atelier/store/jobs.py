"""Jobs and their attempts in the store.

A job is claimed with one guarded ``UPDATE … WHERE status = 'pending'``, so no two workers (or
processes) ever run the same job. Jobs are written before anything is sent and after anything
is learnt: a crash loses nothing, and on restart jobs whose owning process is gone go back to
``pending`` (``recover``). Every status change goes through ``Database._move_jobs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from atelier.core.i18n import message_json
from atelier.core.processes import pid_alive
from atelier.core.redact import redact
from atelier.core.status import ACTIVE, TERMINAL, JobStatus
from atelier.store.db import Database, now_iso
from atelier.store.deliveries import JobOutbox, insert_deliveries
from atelier.store.rows import JobRow, JobSummary

_ACTIVE = tuple(sorted(ACTIVE))


_OWN_TARGET = (
    "json_extract(spec_json, '$.provider') AS provider, json_extract(spec_json, '$.model') AS model"
)
"""SQL selecting a job's own provider and model (``JobSpec.provider``, ``.model``; ``NULL``:
the batch's) from its stored spec without validating it."""


class JobStore(Database):
    """The ``jobs`` and ``attempts`` tables."""

    def jobs(self, batch_id: int) -> list[JobRow]:
        """All jobs of a batch in sequence order."""
        rows = self._q("SELECT * FROM jobs WHERE batch_id=? ORDER BY seq", (batch_id,))
        return [JobRow.from_row(r) for r in rows]

    def job_summaries(self, batch_id: int, first: int | None = None) -> list[JobSummary]:
        """The jobs of a batch for the views, in sequence order (``first``: only that many)."""
        limit = "" if first is None else f" LIMIT {int(first)}"
        rows = self._q(f"{JobSummary.SQL} WHERE batch_id=? ORDER BY seq{limit}", (batch_id,))
        return [JobSummary.from_row(r) for r in rows]

    def job(self, job_id: int) -> JobRow:
        """One job.

        Raises:
            KeyError: no such job.
        """
        rows = self._q("SELECT * FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return JobRow.from_row(rows[0])

    def job_ids(self, batch_id: int, statuses: Iterable[JobStatus]) -> list[int]:
        """Ids of the batch's jobs in any of ``statuses``, in sequence order."""
        wanted = tuple(JobStatus(s) for s in statuses)
        rows = self._q(
            f"SELECT id FROM jobs WHERE batch_id=? AND status IN ({','.join('?' * len(wanted))})"
            " ORDER BY seq",
            (batch_id, *wanted),
        )
        return [int(r["id"]) for r in rows]

    def pending_job_ids(self, batch_id: int) -> list[int]:
        """Ids of the batch's ``pending`` jobs in sequence order."""
        return self.job_ids(batch_id, (JobStatus.PENDING,))

    def failed_job_ids(self, batch_id: int) -> list[int]:
        """Ids of the batch's ``failed`` jobs in sequence order."""
        return self.job_ids(batch_id, (JobStatus.FAILED,))

    def pending_targets(self, batch_id: int) -> list[tuple[int, str | None, str | None]]:
        """``(job id, its own provider, its own model)`` of the pending jobs, in sequence order."""
        rows = self._q(
            f"SELECT id, {_OWN_TARGET} FROM jobs WHERE batch_id=? AND status=? ORDER BY seq",
            (batch_id, JobStatus.PENDING),
        )
        return [(int(r["id"]), r["provider"], r["model"]) for r in rows]

    def job_price_facts(
        self, batch_id: int
    ) -> list[tuple[int, str | None, str | None, str, str, int, int]]:
        """``(job id, its own provider, its own model, quality, size, samples, references)``
        of every job of the batch, in sequence order: what prices a job, read by SQLite
        without validating each spec (``job_list_prices`` on 10,000 jobs, issue 29's window
        benchmark). A spec stored without one of these fields (none is written so) is read
        whole instead.

        Raises:
            StoreError: the database cannot be read.
        """
        rows = self._q(
            f"SELECT id, {_OWN_TARGET}, json_extract(spec_json, '$.quality') AS quality,"
            " json_extract(spec_json, '$.size') AS size,"
            " json_extract(spec_json, '$.sample_count') AS samples,"
            " json_array_length(spec_json, '$.reference_images') AS refs"
            " FROM jobs WHERE batch_id=? ORDER BY seq",
            (batch_id,),
        )
        out: list[tuple[int, str | None, str | None, str, str, int, int]] = []
        for r in rows:
            if None in (r["quality"], r["size"], r["samples"], r["refs"]):
                spec = self.job(int(r["id"])).spec
                out.append(
                    (int(r["id"]), spec.provider, spec.model, spec.quality, spec.size,
                     spec.sample_count, len(spec.reference_images))
                )  # fmt: skip
                continue
            out.append(
                (int(r["id"]), r["provider"], r["model"], r["quality"], r["size"],
                 int(r["samples"]), int(r["refs"]))
            )  # fmt: skip
        return out

    def known_spend_usd(self, batch_id: int) -> float:
        """What the batch's jobs have cost so far, USD, leaving out jobs whose cost is unknown
        (the sum of ``Job.cost`` where it is not ``None``), without loading the jobs."""
        rows = self._q(
            "SELECT COALESCE(SUM(CASE WHEN cost_unknown THEN 0 ELSE cost END), 0) AS spent "
            "FROM jobs WHERE batch_id=?",
            (batch_id,),
        )
        return float(rows[0]["spent"])

    # ---- status --------------------------------------------------------------------------
    def claim_job(self, job_id: int) -> bool:
        """Atomically move a ``pending`` job to ``running`` for this process.

        Returns ``False`` when another worker or process got it first.
        """
        with self.tx() as db:
            return bool(
                self._move_jobs(
                    db,
                    JobStatus.RUNNING,
                    "id=? AND status=?",
                    (job_id, JobStatus.PENDING),
                    also="owner_pid=?, owner_host=?, started_at=?, error=NULL, error_msg=NULL,"
                    " error_type=NULL,"
                    " finished_at=NULL",
                    also_args=(self.pid, self.host, now_iso()),
                )
            )

    def set_job_status(
        self,
        job_id: int,
        status: JobStatus,
        *,
        error: str | None = None,
        error_type: str | None = None,
        duration_ms: int | None = None,
        outbox: JobOutbox | None = None,
    ) -> None:
        """Move a job to ``status`` (terminal statuses also stamp ``finished_at``); the
        deliveries ``outbox`` gives for the moved job are written in the same transaction.

        Raises:
            IllegalTransitionError: ``JOB_MOVES`` does not allow the move.
        """
        status = JobStatus(status)
        fin = now_iso() if status in TERMINAL else None
        with self.tx() as db:
            self._move_job(
                db,
                job_id,
                status,
                also="error=?, error_msg=?, error_type=?, duration_ms=COALESCE(?, duration_ms),"
                " finished_at=?",
                also_args=(
                    redact(error) if error else None,
                    message_json(error, redact),
                    error_type,
                    duration_ms,
                    fin,
                ),
            )
            if outbox is not None:
                job = JobRow.from_row(
                    db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
                )
                insert_deliveries(db, job.batch_id, outbox(job))

    def reset_for_retry(self, job_ids: Iterable[int]) -> list[int]:
        """Put failed or cancelled jobs back to ``pending`` (same job, next attempt). Returns the
        ids actually reset; completed, pending and running jobs are left alone."""
        ids = list(job_ids)
        with self.tx() as db:
            return self._move_jobs(
                db,
                JobStatus.PENDING,
                "id IN (SELECT value FROM json_each(?)) AND status IN (?, ?)",
                (_json_ids(ids), JobStatus.FAILED, JobStatus.CANCELLED),
                also="error=NULL, error_msg=NULL, error_type=NULL, finished_at=NULL",
            )

    def recover(self, batch_id: int) -> int:
        """Jobs left ``running``/``waiting`` by a dead process (or by this one, when it is not
        running them any more) go back to ``pending``; their open attempts are closed as
        ``interrupted``. Returns how many."""
        with self.tx() as db:
            rows = db.execute(
                "SELECT id, owner_pid, owner_host FROM jobs WHERE batch_id=? AND status IN (?, ?)",
                (batch_id, *_ACTIVE),
            ).fetchall()
            ids = [
                int(r["id"])
                for r in rows
                if (r["owner_pid"], r["owner_host"]) == (self.pid, self.host)
                or not pid_alive(r["owner_pid"], r["owner_host"])
            ]
            moved = self._move_jobs(
                db, JobStatus.PENDING, "id IN (SELECT value FROM json_each(?))", (_json_ids(ids),)
            )
            self._close_attempts(db, moved, "interrupted")
        return len(moved)

    def cancel_unfinished(
        self, batch_id: int, reason: str, *, only_mine: bool = False
    ) -> list[int]:
        """Mark every running or waiting job of this process, and (unless ``only_mine``) every
        pending job, ``cancelled`` with ``reason``; returns their ids."""
        pending = "0" if only_mine else "status=?"
        pending_args: tuple[Any, ...] = () if only_mine else (JobStatus.PENDING,)
        with self.tx() as db:
            ids = self._move_jobs(
                db,
                JobStatus.CANCELLED,
                f"batch_id=? AND ({pending} OR (status IN (?, ?) AND owner_pid=? AND owner_host=?))",
                (batch_id, *pending_args, *_ACTIVE, self.pid, self.host),
                also="error=?, error_msg=?, error_type='cancelled', finished_at=?",
                also_args=(reason, message_json(reason, redact), now_iso()),
            )
            self._close_attempts(db, ids, "cancelled")
        return ids

    # ---- attempts ------------------------------------------------------------------------
    def start_attempt(self, job_id: int) -> tuple[int, int]:
        """Record that a request is about to be sent for a running (or waiting) job; returns
        ``(attempt_id, job attempts)``.

        Raises:
            IllegalTransitionError: the job is not running or waiting.
        """
        with self.tx() as db:
            row = db.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None or row["status"] != JobStatus.RUNNING:
                self._move_job(db, job_id, JobStatus.RUNNING)  # from waiting, else it raises
            n = int(
                db.execute(
                    "UPDATE jobs SET attempts=attempts+1 WHERE id=? RETURNING attempts", (job_id,)
                ).fetchone()[0]
            )
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
        """Close an attempt row with its outcome (``ok``, ``error``, ``cancelled``,
        ``abandoned``: given up in flight by the job timeout)."""
        with self.tx() as db:
            db.execute(
                "UPDATE attempts SET finished_at=?, outcome=?, error=?, error_type=?, http_status=?,"
                " images=?, cost=? WHERE id=?",
                (
                    now_iso(),
                    outcome,
                    redact(error) if error else None,
                    error_type,
                    http_status,
                    images,
                    cost,
                    attempt_id,
                ),
            )

    def set_remote_job(self, attempt_id: int, handle: dict[str, Any]) -> None:
        """Keep the remote job an attempt submitted (``GenerationRequest.on_submitted``)."""
        with self.tx() as db:
            db.execute(
                "UPDATE attempts SET remote_job=? WHERE id=?", (json.dumps(handle), attempt_id)
            )

    def remote_job_to_follow(self, job_id: int) -> dict[str, Any] | None:
        """The remote job the job's newest attempt left running when its process died (closed
        ``interrupted`` by ``recover``), to follow instead of submitting again; else ``None``."""
        rows = self._q(
            "SELECT outcome, remote_job FROM attempts WHERE job_id=? ORDER BY id DESC LIMIT 1",
            (job_id,),
        )
        if not rows or rows[0]["outcome"] != "interrupted" or not rows[0]["remote_job"]:
            return None
        handle = json.loads(rows[0]["remote_job"])
        return handle if isinstance(handle, dict) else None

    def unsubmitted(self, batch_id: int) -> int:
        """Jobs of the batch not yet handed to a provider that keeps them: pending, waiting
        out a backoff, or running without a remote job on their open attempt (``--no-wait``
        exits when this is 0)."""
        rows = self._q(
            "SELECT COUNT(*) AS n FROM jobs WHERE batch_id=? AND (status IN (?, ?) OR"
            " (status=? AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id=jobs.id"
            " AND a.outcome IS NULL AND a.remote_job IS NOT NULL)))",
            (batch_id, JobStatus.PENDING, JobStatus.WAITING, JobStatus.RUNNING),
        )
        return int(rows[0]["n"])

    def lost_in_flight(self, batch_id: int) -> int:
        """Requests of the batch given up in flight, each of which may have been billed: in
        flight when their process died on a provider that gives no job id to follow (OpenAI,
        Gemini, Stability, A1111), or cancelled by the job timeout (outcome ``abandoned``,
        counted as spent at the estimated price)."""
        rows = self._q(
            "SELECT COUNT(*) AS n FROM attempts JOIN jobs ON jobs.id=attempts.job_id"
            " WHERE jobs.batch_id=? AND ((attempts.outcome='interrupted'"
            " AND attempts.remote_job IS NULL) OR attempts.outcome='abandoned')",
            (batch_id,),
        )
        return int(rows[0]["n"])

    def paid_without_image(self, batch_id: int) -> int:
        """Attempts of the batch that were billed but brought no image (lost after payment)."""
        rows = self._q(
            "SELECT COUNT(*) AS n FROM attempts JOIN jobs ON jobs.id=attempts.job_id"
            " WHERE jobs.batch_id=? AND attempts.outcome='error' AND attempts.images=0"
            " AND attempts.cost > 0",
            (batch_id,),
        )
        return int(rows[0]["n"])

    def attempts(self, job_id: int) -> list[dict[str, Any]]:
        """The attempt rows of a job, oldest first."""
        rows = self._q("SELECT * FROM attempts WHERE job_id=? ORDER BY id", (job_id,))
        return [dict(r) for r in rows]

    def add_cost(self, job_id: int, usd: float | None) -> None:
        """Add spend (USD) to a job; ``None`` marks its cost as (partly) unknown."""
        with self.tx() as db:
            if usd is None:
                db.execute("UPDATE jobs SET cost_unknown=1 WHERE id=?", (job_id,))
            else:
                db.execute("UPDATE jobs SET cost=cost+? WHERE id=?", (usd, job_id))

    def close_open_attempts(
        self, job_id: int, outcome: str, error: str | None = None, error_type: str | None = None
    ) -> None:
        """Close the job's attempts still open (a run that broke mid-request)."""
        with self.tx() as db:
            db.execute(
                "UPDATE attempts SET finished_at=?, outcome=?, error=?, error_type=?"
                " WHERE job_id=? AND finished_at IS NULL",
                (now_iso(), outcome, error, error_type, job_id),
            )

    def job_attempts_and_cost(self, job_id: int) -> tuple[int, float | None]:
        """A job's attempts and cost (USD, ``None`` when unknown) without reading its spec."""
        rows = self._q("SELECT attempts, cost, cost_unknown FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        r = rows[0]
        return int(r["attempts"]), None if r["cost_unknown"] else float(r["cost"])

    @staticmethod
    def _close_attempts(db: Any, job_ids: list[int], outcome: str) -> None:
        db.execute(
            "UPDATE attempts SET finished_at=?, outcome=? WHERE finished_at IS NULL AND job_id IN"
            " (SELECT value FROM json_each(?))",
            (now_iso(), outcome, _json_ids(job_ids)),
        )


def _json_ids(ids: Iterable[int]) -> str:
    """Ids as one JSON array parameter (``json_each``), so a list of 10,000 binds once."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
