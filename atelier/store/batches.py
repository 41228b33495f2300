"""Batches in the store: create, read (with job counts in the same query), set status."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from atelier.core.models import JobSpec, RunSettings
from atelier.core.processes import pid_alive
from atelier.core.status import ACTIVE, BatchStatus, JobStatus
from atelier.store.db import Database, now_iso
from atelier.store.rows import BatchRow

# One query per listing, however many batches: each row carries its jobs' counts by status.
_BATCH_SQL = (
    "SELECT b.*, (SELECT json_group_object(status, n) FROM (SELECT status, COUNT(*) AS n"
    " FROM jobs WHERE batch_id=b.id GROUP BY status)) AS counts_json FROM batches AS b"
)


def _batch(r: sqlite3.Row) -> BatchRow:
    counts = {JobStatus(s): int(n) for s, n in json.loads(r["counts_json"] or "{}").items()}
    return BatchRow.from_row(r, counts)


class BatchStore(Database):
    """The ``batches`` table."""

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
        """Insert a batch (``ready``) and all its jobs as ``pending`` in one transaction;
        return its id.

        Raises:
            sqlite3.IntegrityError: a batch with this fingerprint exists (another process
                stored the same batch a moment ago).
        """
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO batches(name, fingerprint, output_dir, provider, model, source,"
                " settings_json, created_at, estimated_cost, warnings_json, status)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
                    BatchStatus.READY,
                ),
            )
            batch_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO jobs(batch_id, seq, spec_json, status) VALUES (?,?,?,?)",
                (
                    (batch_id, i, s.model_dump_json(), JobStatus.PENDING)
                    for i, s in enumerate(specs)
                ),
            )
        return batch_id

    def update_batch_settings(self, batch_id: int, settings: dict[str, Any]) -> None:
        """Replace a batch's run settings (concurrency, timeouts, retry policy)."""
        with self.tx() as db:
            db.execute(
                "UPDATE batches SET settings_json=? WHERE id=?", (json.dumps(settings), batch_id)
            )

    def set_run_settings(self, batch_id: int, settings: RunSettings) -> None:
        """Replace a batch's run settings with ``settings``, keeping the keys stored beside
        them that are not run settings (``team``: the queue the batch was submitted to, which
        a raised cap or a resumed batch must not cut it off from)."""
        with self.tx() as db:
            row = db.execute("SELECT settings_json FROM batches WHERE id=?", (batch_id,)).fetchone()
            old = json.loads(row[0]) if row and row[0] else {}
            kept = {k: v for k, v in old.items() if k not in RunSettings.model_fields}
            new = {**kept, **settings.model_dump(mode="json")}
            db.execute("UPDATE batches SET settings_json=? WHERE id=?", (json.dumps(new), batch_id))

    def run_settings(self, batch_id: int) -> RunSettings:
        """The ``RunSettings`` of ``batch_id`` (see ``BatchRow.run_settings``), without the
        job counts ``batch`` reads.

        Raises:
            KeyError: no such batch.
        """
        rows = self._q("SELECT *, NULL AS counts_json FROM batches WHERE id=?", (batch_id,))
        if not rows:
            raise KeyError(batch_id)
        return _batch(rows[0]).run_settings()

    def find_batch(self, fingerprint: str) -> int | None:
        """The batch with this fingerprint (same jobs, provider and folder), if any."""
        rows = self._q(
            "SELECT id FROM batches WHERE fingerprint=? ORDER BY id DESC LIMIT 1", (fingerprint,)
        )
        return int(rows[0]["id"]) if rows else None

    def batch(self, batch_id: int) -> BatchRow:
        """The batch ``batch_id``.

        Raises:
            KeyError: no such batch.
        """
        rows = self._q(f"{_BATCH_SQL} WHERE b.id=?", (batch_id,))
        if not rows:
            raise KeyError(batch_id)
        return _batch(rows[0])

    def batch_status(self, batch_id: int) -> BatchStatus:
        """Only the status of ``batch_id`` (no job counts).

        Raises:
            KeyError: no such batch.
        """
        rows = self._q("SELECT status FROM batches WHERE id=?", (batch_id,))
        if not rows:
            raise KeyError(batch_id)
        return BatchStatus(rows[0]["status"])

    def batches(self, limit: int = 500) -> list[BatchRow]:
        """Batches, newest first, in one query."""
        return [_batch(r) for r in self._q(f"{_BATCH_SQL} ORDER BY b.id DESC LIMIT ?", (limit,))]

    def set_batch_status(
        self, batch_id: int, status: BatchStatus, *, started: bool = False, finished: bool = False
    ) -> None:
        """Move a batch to ``status``; ``started`` claims it for this process, ``finished``
        stamps ``finished_at``.

        Raises:
            IllegalTransitionError: ``BATCH_MOVES`` does not allow the move.
        """
        status = BatchStatus(status)
        with self.tx() as db:
            if started:
                self._move_batch(
                    db,
                    batch_id,
                    status,
                    also="started_at=COALESCE(started_at, ?), finished_at=NULL, owner_pid=?,"
                    " owner_host=?",
                    also_args=(now_iso(), self.pid, self.host),
                )
            elif finished:
                self._move_batch(db, batch_id, status, also="finished_at=?", also_args=(now_iso(),))
            else:
                self._move_batch(db, batch_id, status)

    def others_working(self, batch_id: int) -> int:
        """Jobs of the batch another live process is working on right now."""
        rows = self._q(
            f"SELECT owner_pid, owner_host FROM jobs WHERE batch_id=? AND status IN {_ACTIVE_SQL}",
            (batch_id,),
        )
        return sum(
            1
            for r in rows
            if (r["owner_pid"], r["owner_host"]) != (self.pid, self.host)
            and pid_alive(r["owner_pid"], r["owner_host"])
        )

    def interrupted_batches(self) -> list[BatchRow]:
        """Batches left ``running``/``paused`` by a process that is gone, with work left."""
        rows = self._q(
            f"{_BATCH_SQL} WHERE b.status IN (?, ?) ORDER BY b.id DESC",
            (BatchStatus.RUNNING, BatchStatus.PAUSED),
        )
        out = []
        for r in rows:
            if not pid_alive(r["owner_pid"], r["owner_host"]):
                b = _batch(r)
                if b.unfinished:
                    out.append(b)
        return out


_ACTIVE_SQL = "(" + ",".join(f"'{s.value}'" for s in sorted(ACTIVE)) + ")"
