"""Makes ``tests/data/store-v0.sqlite``: a store written by Atelier 0.1.0's own ``Store`` (the
schema before numbered migrations, ``PRAGMA user_version`` 0), kept as a fixture so that every
later schema is tested to open it with its batches, jobs, attempts, images and spend intact.

It was run once, at commit 348f1e4 (before the schema changed), with
``.venv/bin/python -m tests.data.make_store_v0``; running it on a later release makes that
release's store instead, so do not re-run it to "refresh" the fixture.

What it holds (``tests/store/test_migrations.py`` checks each):
- batch 1 "catalog.csv", finished: job 1 completed (2 samples, $0.084, 2 attempts: a 429 then
  ok), job 2 failed (content policy), job 3 cancelled, job 4 completed with an unknown cost;
- batch 2 "interrupted.json", left ``running`` by a dead process: job 5 completed ($0.011),
  job 6 ``running`` (owner pid 999999999), job 7 pending.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atelier.core.models import JobSpec
from atelier.store import Store

OUT = Path(__file__).with_name("store-v0.sqlite")


def main() -> None:
    """Write the fixture (replacing an older one)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(OUT) + suffix).unlink(missing_ok=True)
    store = Store(OUT)
    specs = [
        JobSpec(prompt="Nordic candle, pine", output_path="NH-CND-001.png", sample_count=2),
        JobSpec(prompt="Blocked prompt", output_path="blocked.png"),
        JobSpec(prompt="Cancelled prompt", output_path="cancelled.png"),
        JobSpec(prompt="Unknown price", output_path="unknown.png", quality="auto"),
    ]
    b1 = store.create_batch(
        name="catalog.csv",
        fingerprint="fp-catalog",
        output_dir=Path("/tmp/atelier-fixture/catalog"),
        provider="openai",
        model="gpt-image-1.5",
        source="/tmp/catalog.csv",
        settings={"provider": "openai", "model": "gpt-image-1.5", "concurrency": 4},
        specs=specs,
        estimated_cost=0.15,
        warnings=["row 3: empty {Vendor}"],
    )
    j1, j2, _j3, j4 = (j.id for j in store.jobs(b1))
    store.set_batch_status(b1, "running", started=True)
    assert store.claim_job(j1)
    a, _ = store.start_attempt(j1)
    store.finish_attempt(a, "error", error="Rate limited", error_type="rate_limit", http_status=429)
    a, _ = store.start_attempt(j1)
    store.add_cost(j1, 0.084)
    store.add_image(j1, 0, Path("/tmp/atelier-fixture/catalog/NH-CND-001-1.png"), None)
    store.add_image(j1, 1, Path("/tmp/atelier-fixture/catalog/NH-CND-001-2.png"), None)
    store.finish_attempt(a, "ok", images=2, cost=0.084)
    store.set_job_status(j1, "completed", duration_ms=5400)
    assert store.claim_job(j2)
    a, _ = store.start_attempt(j2)
    store.finish_attempt(
        a, "error", error="Refused by moderation", error_type="content_policy", http_status=400
    )
    store.set_job_status(
        j2, "failed", error="Refused by moderation", error_type="content_policy", duration_ms=900
    )
    store.cancel_unfinished(b1, "Cancelled by the user.")  # j3 and j4 are pending: cancelled
    store.reset_for_retry([j4])
    assert store.claim_job(j4)
    a, _ = store.start_attempt(j4)
    store.add_cost(j4, None)
    store.add_image(j4, 0, Path("/tmp/atelier-fixture/catalog/unknown.png"), None)
    store.finish_attempt(a, "ok", images=1, cost=None)
    store.set_job_status(j4, "completed", duration_ms=1200)
    store.set_batch_status(b1, "finished", finished=True)

    b2 = store.create_batch(
        name="interrupted.json",
        fingerprint="fp-interrupted",
        output_dir=Path("/tmp/atelier-fixture/interrupted"),
        provider="openai",
        model="gpt-image-1.5",
        source="/tmp/interrupted.json",
        settings={"provider": "openai", "model": "gpt-image-1.5"},
        specs=[
            JobSpec(prompt="日本の茶碗、白", output_path="JP-TEA-001.png", quality="low"),
            JobSpec(prompt="In flight at the crash", output_path="b.png", quality="low"),
            JobSpec(prompt="Never started", output_path="c.png", quality="low"),
        ],
        estimated_cost=0.033,
    )
    j5, j6, _j7 = (j.id for j in store.jobs(b2))
    store.set_batch_status(b2, "running", started=True)
    assert store.claim_job(j5)
    a, _ = store.start_attempt(j5)
    store.add_cost(j5, 0.011)
    store.add_image(j5, 0, Path("/tmp/atelier-fixture/interrupted/JP-TEA-001.png"), None)
    store.finish_attempt(a, "ok", images=1, cost=0.011)
    store.set_job_status(j5, "completed", duration_ms=3000)
    assert store.claim_job(j6)
    store.start_attempt(j6)
    store.close()
    # A process that died: its pid can never be alive.
    db = sqlite3.connect(OUT)
    db.execute("UPDATE batches SET owner_pid=999999999 WHERE id=?", (b2,))
    db.execute("UPDATE jobs SET owner_pid=999999999 WHERE batch_id=?", (b2,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    db.close()


if __name__ == "__main__":
    main()
