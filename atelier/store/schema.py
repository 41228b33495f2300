"""The store's schema as numbered migrations, applied in order and recorded in
``PRAGMA user_version`` (InvokeAI's ``sqlite_migrator`` is the model).

Migration 1 is the schema Atelier 0.1.0 created without a version (its ``CREATE … IF NOT
EXISTS`` statements, word for word), so a store from that release (``user_version`` 0) and a
new, empty file both take every migration from 1 on and end the same.
``tests/store/test_migrations.py`` opens a store written by 0.1.0
(``tests/data/store-v0.sqlite``) and checks its batches, jobs, attempts, images and spend.

To change the schema: append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr

_V1 = """
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

# 2: attempts are read and closed by job (a job's attempt list, recover and cancel close its
# open attempts): without an index each of those scanned every attempt of every batch. The
# plain fingerprint index duplicated the unique one.
_V2 = """
CREATE INDEX IF NOT EXISTS attempts_job ON attempts(job_id);
DROP INDEX IF EXISTS batches_fingerprint;
"""

# 3: every image record gets a UUID, the ``history_uuid`` of the report (the reference batch
# tool's name for the id of a generation record); images stored before it get one now, made
# from random bytes in the UUID version-4 layout.
_V3 = """
ALTER TABLE images ADD COLUMN uuid TEXT;
UPDATE images SET uuid = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6))
) WHERE uuid IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS images_uuid ON images(uuid);
"""

# 4: versions and review. A job is regenerated as itself (same id, a new attempt): each run of
# it makes a new *version* of its images, kept beside the earlier ones; the job's
# ``pick_version`` (NULL: its newest) is the one under the job's own file name. Every image
# carries its review state (Lightroom's flag and 0–5 stars) and the seed and prompt it was made
# with, the model, its share of the request's cost (USD) and the provider's request id. SQLite cannot change a UNIQUE constraint in place, so ``images`` is rebuilt, as its
# documentation's "12-step" procedure does.
_V4 = """
ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN pick_version INTEGER;
CREATE TABLE images_v4 (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    version INTEGER NOT NULL DEFAULT 1,
    sample_index INTEGER NOT NULL,
    path TEXT NOT NULL,
    thumb TEXT,
    created_at TEXT NOT NULL,
    adopted INTEGER NOT NULL DEFAULT 0,
    uuid TEXT,
    flag TEXT NOT NULL DEFAULT 'unflagged' CHECK (flag IN ('unflagged', 'picked', 'rejected')),
    stars INTEGER NOT NULL DEFAULT 0 CHECK (stars BETWEEN 0 AND 5),
    seed INTEGER,
    prompt TEXT,
    model TEXT,
    cost REAL,
    request_id TEXT,
    UNIQUE(job_id, version, sample_index)
);
INSERT INTO images_v4(id, job_id, version, sample_index, path, thumb, created_at, adopted, uuid)
    SELECT id, job_id, 1, sample_index, path, thumb, created_at, adopted, uuid FROM images;
DROP TABLE images;
ALTER TABLE images_v4 RENAME TO images;
CREATE UNIQUE INDEX IF NOT EXISTS images_uuid ON images(uuid);
CREATE INDEX IF NOT EXISTS images_job ON images(job_id, version);
"""

# 5: the delivery outbox. One row per message to one target (an image to a bucket, a webhook
# event, a Slack message), recorded when its cause happens and kept with every attempt; ``key``
# (target, event, subject) makes enqueueing idempotent, so one image and target are delivered
# once; ``message_id`` is the webhook-id every retry repeats. ``payload`` is frozen at the
# first attempt, so a retried message is the same message.
_V5 = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
    image_id INTEGER REFERENCES images(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL UNIQUE,
    stage INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    url TEXT,
    error TEXT,
    payload TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX deliveries_batch ON deliveries(batch_id, status, next_at);
CREATE INDEX deliveries_image ON deliveries(image_id);
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    http_status INTEGER,
    error TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id);
"""

# 6: never pay twice (``atelier.pricing.reuse``). Each image keeps its content key (request key and
# sample), the SHA-256 of the file as written (a copy is made only while the file still has
# those bytes) and, for a copy, the image it was copied from.
_V6 = """
ALTER TABLE images ADD COLUMN content_key TEXT;
ALTER TABLE images ADD COLUMN sha256 TEXT;
ALTER TABLE images ADD COLUMN reused_from INTEGER REFERENCES images(id) ON DELETE SET NULL;
CREATE INDEX images_content ON images(content_key);
"""

# 7: resume without paying again. A provider that answers with a job id (fal, Replicate, BFL,
# ComfyUI) hands back a handle before the image exists; it is kept on the attempt, so after
# a crash the next run follows the same remote job instead of submitting it again.
_V7 = """
ALTER TABLE attempts ADD COLUMN remote_job TEXT;
"""

# 8: reasons said in the language of the reader. A job's error keeps, beside its text, the
# message it was made from (``atelier.core.i18n.Message``: msgid and fields, as JSON), so a reason
# stored while the window was English reads Japanese after switching; NULL (older rows, and
# texts made without a message) shows the text as stored.
_V8 = """
ALTER TABLE jobs ADD COLUMN error_msg TEXT;
"""

# 9: quality checks on save (``atelier.output.qa``). Each image keeps the QA flags it was given
# (comma-separated codes; '' passed; NULL: made before the checks), the measured values behind
# them (JSON), its 64-bit perceptual hash (16 hex digits; NULL when near-uniform: not compared)
# and how many times its sample was made again because of a flag (``--qa-retry``).
_V9 = """
ALTER TABLE images ADD COLUMN qa_flags TEXT;
ALTER TABLE images ADD COLUMN qa_detail TEXT;
ALTER TABLE images ADD COLUMN phash TEXT;
ALTER TABLE images ADD COLUMN qa_remakes INTEGER NOT NULL DEFAULT 0
"""

# 10: each image judged against its batch's channels (``atelier.output.channels``): one row per
# image and channel, with the verdict, whether text was read (OCR) and every rule's result as
# JSON; ``override`` is the designer's word that the image goes to that channel even though a
# rule no fix can meet fails (export and delivery honour it). A row may hold only an override.
_V10 = """
CREATE TABLE image_channels (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    passed INTEGER,
    unfixable INTEGER NOT NULL DEFAULT 0,
    ocr INTEGER NOT NULL DEFAULT 0,
    rules_json TEXT,
    checked_at TEXT,
    override INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_id, channel)
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10)
"""Migration ``n`` (1-based) takes a store from ``user_version`` n-1 to n."""

SCHEMA_VERSION = len(MIGRATIONS)


class StoreVersionError(AtelierError):
    """The store was written by a newer Atelier than this one."""


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Apply every migration ``db`` has not had, each in its own transaction with its
    ``user_version``; returns the version the store had before.

    Raises:
        StoreVersionError: the store's version is newer than ``SCHEMA_VERSION``.
    """
    before = int(db.execute("PRAGMA user_version").fetchone()[0])
    if before > SCHEMA_VERSION:
        raise StoreVersionError(
            tr(
                "{path} was written by a newer Atelier (schema {before}; this one knows up to {known}). Update Atelier, or set ATELIER_HOME to another folder."
            ).format(path=path, before=before, known=SCHEMA_VERSION)
        )
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                return before
            # executescript would COMMIT first; run the statements one by one instead.
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
