"""The delivery outbox: one row per message to one target, with every attempt.

A row is recorded when its cause happens (an image written or picked, a job failed, a run
started or ended) with a ``key`` that names target, event and subject, so recording twice is
a no-op and one image is delivered once per target. A sender claims a due row (``pending`` →
``sending``, with this process as owner), and the outcome moves it to ``delivered``, back to
``pending`` with a later ``next_at`` (backoff), or to ``failed``. A row left ``sending`` by a
process that died is put back by ``recover_deliveries``: the call may have reached the target
(an S3 PUT of the same key is idempotent; a webhook repeats its ``message_id``), which is the
at-least-once the outbox promises. Deliveries run in *stages*: 0 storage (gives the URL), 1
per-image calls that use the URL, 2 per-batch messages sent once the images' are settled.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from atelier.core.processes import pid_alive
from atelier.store.db import Database, now_iso
from atelier.store.rows import ImageRow, JobRow

DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to record: ``key`` is unique per target, event and subject."""

    target: str
    event: str
    key: str
    stage: int
    job_id: int | None = None
    image_id: int | None = None


@dataclass(frozen=True)
class DeliveryRow:
    """One outbox row. ``next_at`` is Unix seconds; ``url`` is what the target gave back
    (a public address, a product id)."""

    id: int
    batch_id: int
    job_id: int | None
    image_id: int | None
    target: str
    event: str
    message_id: str
    stage: int
    status: str
    attempts: int
    next_at: float
    url: str | None
    error: str | None
    payload: str | None
    created_at: str
    key: str = ""
    """Unique per target, event and subject (``atelier.delivery.plan``)."""

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> DeliveryRow:
        """A ``deliveries`` row."""
        return cls(
            id=int(r["id"]),
            batch_id=int(r["batch_id"]),
            job_id=r["job_id"],
            image_id=r["image_id"],
            target=r["target"],
            event=r["event"],
            message_id=r["message_id"],
            stage=int(r["stage"]),
            status=r["status"],
            attempts=int(r["attempts"]),
            next_at=float(r["next_at"]),
            url=r["url"],
            error=r["error"],
            payload=r["payload"],
            created_at=r["created_at"],
            key=r["key"],
        )


# A row is due when its time has come and nothing it waits for is unsettled: a stage-1 row
# waits for its image's storage rows, a stage-2 row for every image and job row of its batch.
_DUE = """
SELECT d.* FROM deliveries d WHERE d.batch_id=? AND d.status='pending' AND d.next_at<=?
AND NOT EXISTS (SELECT 1 FROM deliveries w WHERE w.batch_id=d.batch_id AND w.stage<d.stage
    AND w.status IN ('pending','sending')
    AND (d.stage=2 OR (w.image_id IS NOT NULL AND w.image_id=d.image_id)))
ORDER BY d.stage, d.id LIMIT ?
"""


Outbox = Callable[[ImageRow], Iterable[NewDelivery]]
"""The deliveries an image causes as it is recorded (``atelier.delivery.plan``): the store
writes them in the image's own transaction, so an image is never recorded without them."""

JobOutbox = Callable[[JobRow], Iterable[NewDelivery]]
"""The deliveries a job's move causes (a failure's ``job.failed`` webhooks), written in the
move's own transaction."""


def insert_deliveries(db: sqlite3.Connection, batch_id: int, new: Iterable[NewDelivery]) -> int:
    """Insert ``new`` into the outbox in the caller's transaction ``db`` (a key recorded
    already is left alone); returns how many rows are new."""
    rows = [
        (
            batch_id,
            n.job_id,
            n.image_id,
            n.target,
            n.event,
            n.key,
            f"msg_{uuid.uuid4().hex}",
            n.stage,
            now_iso(),
        )
        for n in new
    ]
    if not rows:
        return 0
    before = db.total_changes
    db.executemany(
        "INSERT OR IGNORE INTO deliveries(batch_id, job_id, image_id, target, event, key,"
        " message_id, stage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return db.total_changes - before


class DeliveryStore(Database):
    """The ``deliveries`` and ``delivery_attempts`` tables (see the module docstring)."""

    def add_deliveries(self, batch_id: int, new: Iterable[NewDelivery]) -> int:
        """Record deliveries (those already recorded, by ``key``, are left alone); returns how
        many are new."""
        rows = list(new)
        if not rows:
            return 0
        with self.tx() as db:
            return insert_deliveries(db, batch_id, rows)

    def due_deliveries(self, batch_id: int, limit: int = 64) -> list[DeliveryRow]:
        """Pending rows of ``batch_id`` whose time has come and whose earlier stages are
        settled, oldest stage and row first."""
        return [DeliveryRow.from_row(r) for r in self._q(_DUE, (batch_id, time.time(), limit))]

    def next_delivery_at(self, batch_id: int) -> float | None:
        """When the next pending row of ``batch_id`` is due (Unix s), ``None`` when none is
        pending."""
        r = self._q(
            "SELECT MIN(next_at) AS t FROM deliveries WHERE batch_id=? AND status='pending'",
            (batch_id,),
        )
        return None if r[0]["t"] is None else float(r[0]["t"])

    def unsettled_deliveries(self, batch_id: int) -> int:
        """How many rows of ``batch_id`` are pending or sending."""
        r = self._q(
            "SELECT COUNT(*) AS n FROM deliveries WHERE batch_id=?"
            " AND status IN ('pending','sending')",
            (batch_id,),
        )
        return int(r[0]["n"])

    def claim_delivery(self, delivery_id: int) -> int | None:
        """``pending`` → ``sending`` for this process, with a new attempt recorded; returns the
        attempt's id, or ``None`` when another sender took the row first."""
        with self.tx() as db:
            cur = db.execute(
                "UPDATE deliveries SET status='sending', attempts=attempts+1, owner_pid=?,"
                " owner_host=? WHERE id=? AND status='pending'",
                (self.pid, self.host, delivery_id),
            )
            if cur.rowcount != 1:
                return None
            cur = db.execute(
                "INSERT INTO delivery_attempts(delivery_id, number, started_at)"
                " SELECT id, attempts, ? FROM deliveries WHERE id=?",
                (now_iso(), delivery_id),
            )
            return int(cur.lastrowid or 0)

    def set_delivery_payload(self, delivery_id: int, payload: str) -> None:
        """Freeze the message a row sends (its first attempt's), so retries repeat it."""
        with self.tx() as db:
            db.execute(
                "UPDATE deliveries SET payload=? WHERE id=? AND payload IS NULL",
                (payload, delivery_id),
            )

    def end_delivery(
        self,
        delivery_id: int,
        attempt_id: int,
        status: str,
        *,
        url: str | None = None,
        error: str | None = None,
        http_status: int | None = None,
        next_at: float = 0.0,
    ) -> None:
        """Close an attempt and move its row to ``status`` (``delivered``; ``pending`` again
        at ``next_at``, Unix s; ``failed``).

        Raises:
            ValueError: ``status`` is not a delivery status.
        """
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"not a delivery status: {status!r}")
        done = now_iso() if status == "delivered" else None
        with self.tx() as db:
            db.execute(
                "UPDATE delivery_attempts SET finished_at=?, outcome=?, http_status=?, error=?"
                " WHERE id=?",
                (now_iso(), status, http_status, error, attempt_id),
            )
            db.execute(
                "UPDATE deliveries SET status=?, url=COALESCE(?, url), error=?, next_at=?,"
                " delivered_at=COALESCE(?, delivered_at), owner_pid=NULL, owner_host=NULL"
                " WHERE id=?",
                (status, url, error, next_at, done, delivery_id),
            )

    def recover_deliveries(self, batch_id: int) -> int:
        """Rows of ``batch_id`` left ``sending`` by a process that is gone go back to
        ``pending``; returns how many."""
        rows = self._q(
            "SELECT id, owner_pid, owner_host FROM deliveries WHERE batch_id=?"
            " AND status='sending'",
            (batch_id,),
        )
        dead = [
            int(r["id"])
            for r in rows
            if (r["owner_pid"] == self.pid and r["owner_host"] == self.host)
            or not pid_alive(r["owner_pid"], r["owner_host"])
        ]
        with self.tx() as db:
            db.executemany(
                "UPDATE deliveries SET status='pending', owner_pid=NULL, owner_host=NULL"
                " WHERE id=? AND status='sending'",
                [(i,) for i in dead],
            )
            db.executemany(
                "UPDATE delivery_attempts SET finished_at=?, outcome='interrupted'"
                " WHERE delivery_id=? AND finished_at IS NULL",
                [(now_iso(), i) for i in dead],
            )
        return len(dead)

    def retry_deliveries(self, batch_id: int) -> int:
        """Failed rows of ``batch_id`` go back to ``pending`` with a fresh count of attempts
        (the user fixed what failed them), and rows waiting out a backoff are due now;
        returns how many failed rows went back."""
        with self.tx() as db:
            cur = db.execute(
                "UPDATE deliveries SET status='pending', attempts=0, next_at=0"
                " WHERE batch_id=? AND status='failed'",
                (batch_id,),
            )
            db.execute(
                "UPDATE deliveries SET next_at=0 WHERE batch_id=? AND status='pending'",
                (batch_id,),
            )
            return int(cur.rowcount)

    def deliveries(self, batch_id: int, job_id: int | None = None) -> list[DeliveryRow]:
        """Rows of ``batch_id`` (of one job, when given), oldest first."""
        if job_id is None:
            rows = self._q("SELECT * FROM deliveries WHERE batch_id=? ORDER BY id", (batch_id,))
        else:
            rows = self._q(
                "SELECT * FROM deliveries WHERE batch_id=? AND job_id=? ORDER BY id",
                (batch_id, job_id),
            )
        return [DeliveryRow.from_row(r) for r in rows]

    def batch_messages(self, batch_id: int) -> list[DeliveryRow]:
        """Rows of ``batch_id`` that belong to no job (Slack, ``batch.finished``), oldest first."""
        rows = self._q(
            "SELECT * FROM deliveries WHERE batch_id=? AND job_id IS NULL ORDER BY id",
            (batch_id,),
        )
        return [DeliveryRow.from_row(r) for r in rows]

    def delivery(self, delivery_id: int) -> DeliveryRow:
        """One row by id.

        Raises:
            KeyError: no such row.
        """
        rows = self._q("SELECT * FROM deliveries WHERE id=?", (delivery_id,))
        if not rows:
            raise KeyError(delivery_id)
        return DeliveryRow.from_row(rows[0])

    def delivery_attempts(self, delivery_id: int) -> list[sqlite3.Row]:
        """Every attempt of one row, oldest first."""
        return self._q(
            "SELECT * FROM delivery_attempts WHERE delivery_id=? ORDER BY number", (delivery_id,)
        )

    def delivery_counts(self, batch_id: int) -> dict[str, int]:
        """``{status: rows}`` for ``batch_id`` (every status, zeros included)."""
        rows = self._q(
            "SELECT status, COUNT(*) AS n FROM deliveries WHERE batch_id=? GROUP BY status",
            (batch_id,),
        )
        counts = dict.fromkeys(DELIVERY_STATUSES, 0)
        counts.update({r["status"]: int(r["n"]) for r in rows})
        return counts

    def delivered_urls(self, batch_id: int, image_ids: Iterable[int]) -> dict[int, list[str]]:
        """``{image_id: [url, …]}`` of the delivered storage rows (stage 0) of those images."""
        ids = list(image_ids)
        if not ids:
            return {}
        rows = self._q(
            "SELECT image_id, url FROM deliveries WHERE batch_id=? AND stage=0"
            " AND status='delivered' AND url IS NOT NULL"
            f" AND image_id IN ({','.join('?' * len(ids))}) ORDER BY id",
            (batch_id, *ids),
        )
        out: dict[int, list[str]] = {}
        for r in rows:
            out.setdefault(int(r["image_id"]), []).append(r["url"])
        return out
