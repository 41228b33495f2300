"""Images in the store: every version a job made, the one it shows, and each image's review.

A job's images of one run are a *version* (``images.version``, from the job's ``version`` when
it was made). The version a job shows (in the gallery, the report, an export) is its
``pick_version``, or its newest version with images when it has no pick. Review state is the
image's own: Lightroom's flag (``unflagged`` / ``picked`` / ``rejected``) and 0–5 stars.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.i18n import tr
from atelier.core.status import JobStatus
from atelier.store.db import Database, now_iso
from atelier.store.deliveries import Outbox, insert_deliveries
from atelier.store.rows import ImageRow

FLAGS = ("unflagged", "picked", "rejected")


@dataclass(frozen=True)
class Made:
    """By what an image was made: ``provider/model``, its share of the request's cost in USD
    (``None``: unknown), the provider's request id, its content key and file hash
    (``atelier.pricing.reuse``), and the image it was copied from (a reused image, at $0)."""

    model: str | None = None
    cost: float | None = None
    request_id: str | None = None
    content_key: str | None = None
    sha256: str | None = None
    reused_from: int | None = None


@dataclass(frozen=True)
class QaMarks:
    """What the quality checks on save found (``atelier.output.qa``): the flags (empty:
    passed), the measured values, the 64-bit perceptual hash (``None``: not compared) and how
    many times the sample was made again because of a flag."""

    flags: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    phash: int | None = None
    remakes: int = 0


# The version each job shows: its pick, else its newest version with an image.
_SHOWN = (
    "COALESCE(jobs.pick_version, (SELECT MAX(i2.version) FROM images i2 WHERE i2.job_id = jobs.id))"
)


class ImageStore(Database):
    """The ``images`` table (see the module docstring)."""

    def add_image(
        self,
        job_id: int,
        sample_index: int,
        path: Path,
        thumb: Path | None,
        adopted: bool = False,
        seed: int | None = None,
        prompt: str | None = None,
        made: Made | None = None,
        outbox: Outbox | None = None,
        qa: QaMarks | None = None,
    ) -> int:
        """Record a written image of the job's current version (idempotent per job, version
        and sample); ``made`` says by what and for how much, ``qa`` what the checks on save
        found (``None``: not checked, as a copied image). The deliveries ``outbox`` gives
        for it are written in the same transaction (the transactional outbox: an image is
        never recorded without them, nor they without it). Returns the image's id."""
        m = made or Made()
        with self.tx() as db:
            cur = db.execute(
                "INSERT OR REPLACE INTO images(job_id, version, sample_index, path, thumb,"
                " created_at, adopted, uuid, seed, prompt, model, cost, request_id,"
                " content_key, sha256, reused_from, qa_flags, qa_detail, phash, qa_remakes)"
                " VALUES (?, (SELECT version FROM jobs WHERE id=?), ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    job_id,
                    sample_index,
                    str(path),
                    str(thumb) if thumb else None,
                    now_iso(),
                    adopted,
                    str(uuid.uuid4()),
                    seed,
                    prompt,
                    m.model,
                    m.cost,
                    m.request_id,
                    m.content_key,
                    m.sha256,
                    m.reused_from,
                    None if qa is None else ",".join(qa.flags),
                    None if qa is None or not qa.detail else json.dumps(qa.detail),
                    None if qa is None or qa.phash is None else f"{qa.phash:016x}",
                    0 if qa is None else qa.remakes,
                ),
            )
            image_id = int(cur.lastrowid or 0)
            if outbox is not None:
                _add_outbox(db, [image_id], outbox)
            return image_id

    def qa_hashes(self, batch_id: int) -> dict[tuple[int, int], tuple[int, int]]:
        """``{(job_id, sample_index): (image_id, perceptual hash)}`` of the images each job of
        the batch shows, for near-duplicate checks (``atelier.output.qa.HashIndex``)."""
        rows = self._q(
            "SELECT images.id, images.job_id, images.sample_index, images.phash FROM images"
            " JOIN jobs ON jobs.id = images.job_id WHERE jobs.batch_id=? AND phash IS NOT NULL"
            f" AND images.version = {_SHOWN}",
            (batch_id,),
        )
        return {
            (int(r["job_id"]), int(r["sample_index"])): (int(r["id"]), int(r["phash"], 16))
            for r in rows
        }

    def qa_flags_by_job(self, batch_id: int) -> dict[int, dict[int, tuple[str, ...]]]:
        """``{job_id: {sample_index: QA flags}}`` of the flagged images the batch's jobs show
        (the progress table's Quality column)."""
        rows = self._q(
            "SELECT images.job_id, images.sample_index, images.qa_flags FROM images"
            " JOIN jobs ON jobs.id = images.job_id"
            " WHERE jobs.batch_id=? AND images.qa_flags IS NOT NULL AND images.qa_flags != ''"
            f" AND images.version = {_SHOWN}",
            (batch_id,),
        )
        out: dict[int, dict[int, tuple[str, ...]]] = {}
        for r in rows:
            flags = tuple(f for f in r["qa_flags"].split(",") if f)
            out.setdefault(int(r["job_id"]), {})[int(r["sample_index"])] = flags
        return out

    def reusable_images(self, keys: list[str]) -> dict[str, list[ImageRow]]:
        """``{content key: images with that key, originals first, then newest first}`` in any
        batch, for ``atelier.pricing.reuse`` (a copy stands in when its original's file is gone)."""
        out: dict[str, list[ImageRow]] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            rows = self._q(
                "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id = images.job_id"
                f" WHERE content_key IN ({','.join('?' * len(chunk))})"
                " AND sha256 IS NOT NULL ORDER BY reused_from IS NOT NULL, images.id DESC",
                tuple(chunk),
            )
            for r in rows:
                out.setdefault(r["content_key"], []).append(ImageRow.from_row(r))
        return out

    def content_keys(self) -> set[str]:
        """Every content key some recorded image has (``atelier.pricing.reuse``): read once when a run
        starts, so a job whose request nothing made yet asks the store nothing more."""
        rows = self._q("SELECT DISTINCT content_key FROM images WHERE sha256 IS NOT NULL")
        return {r["content_key"] for r in rows if r["content_key"]}

    def reused_sources(self, batch_id: int) -> dict[int, Path]:
        """``{image id: the path of the image it copies}`` for the batch's reused images."""
        rows = self._q(
            "SELECT images.id, src.path FROM images JOIN jobs ON jobs.id = images.job_id"
            " JOIN images src ON src.id = images.reused_from WHERE jobs.batch_id=?",
            (batch_id,),
        )
        return {int(r["id"]): Path(r["path"]) for r in rows}

    def forget_images(self, job_id: int, samples: list[int]) -> None:
        """Drop the current version's image records whose files are gone; a completed job goes
        back to pending."""
        with self.tx() as db:
            db.executemany(
                "DELETE FROM images WHERE job_id=? AND sample_index=?"
                " AND version=(SELECT version FROM jobs WHERE id=?)",
                [(job_id, s, job_id) for s in samples],
            )
            self._move_jobs(
                db,
                JobStatus.PENDING,
                "id=? AND status=?",
                (job_id, JobStatus.COMPLETED),
                also="finished_at=NULL",
            )

    def samples_done(self, job_id: int) -> set[int]:
        """Sample indices of ``job_id``'s current version that already have a file."""
        rows = self._q(
            "SELECT sample_index FROM images JOIN jobs ON jobs.id = images.job_id"
            " WHERE job_id=? AND images.version = jobs.version",
            (job_id,),
        )
        return {int(r["sample_index"]) for r in rows}

    def images(
        self, batch_id: int, current: bool = False, first: int | None = None
    ) -> list[ImageRow]:
        """The images each job of a batch shows (``current``: of the version it is making),
        in job then sample order (``first``: of its first that many jobs only)."""
        only = (
            ""
            if first is None
            else " AND jobs.seq IN (SELECT seq FROM jobs WHERE batch_id=? ORDER BY seq"
            f" LIMIT {int(first)})"
        )
        extra = () if first is None else (batch_id,)
        if current:
            rows = self._q(
                "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
                f" WHERE jobs.batch_id=? AND images.version = jobs.version{only}"
                " ORDER BY jobs.seq, images.sample_index",
                (batch_id, *extra),
            )
        else:
            # ``_SHOWN`` for a whole batch: the newest version per job in one grouped pass,
            # joined (its subquery per row costs 0.25 s on 10,000 jobs of three versions).
            rows = self._q(
                "WITH newest AS (SELECT i.job_id, MAX(i.version) AS v FROM images i"
                " JOIN jobs j ON j.id = i.job_id WHERE j.batch_id=? GROUP BY i.job_id)"
                " SELECT images.*, jobs.batch_id FROM images"
                " JOIN jobs ON jobs.id = images.job_id JOIN newest ON newest.job_id = images.job_id"
                f" WHERE images.version = COALESCE(jobs.pick_version, newest.v){only}"
                " ORDER BY jobs.seq, images.sample_index",
                (batch_id, *extra),
            )
        return [ImageRow.from_row(r) for r in rows]

    def image(self, image_id: int) -> ImageRow:
        """One image by id.

        Raises:
            KeyError: no such image (its job was deleted, or it was replaced).
        """
        rows = self._q(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            " WHERE images.id=?",
            (image_id,),
        )
        if not rows:
            raise KeyError(image_id)
        return ImageRow.from_row(rows[0])

    def picked_images(self, batch_id: int) -> list[ImageRow]:
        """Every picked image of a batch, of any version, in job then version order."""
        rows = self._q(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            " WHERE jobs.batch_id=? AND images.flag='picked'"
            " ORDER BY jobs.seq, images.version, images.sample_index",
            (batch_id,),
        )
        return [ImageRow.from_row(r) for r in rows]

    def all_versions(self, job_id: int) -> list[ImageRow]:
        """Every image a job made, oldest version first."""
        rows = self._q(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            " WHERE job_id=? ORDER BY images.version, images.sample_index",
            (job_id,),
        )
        return [ImageRow.from_row(r) for r in rows]

    def version_counts(self, batch_id: int) -> dict[int, int]:
        """``{job_id: versions made}`` for the jobs of a batch with more than one."""
        rows = self._q(
            "SELECT job_id, COUNT(DISTINCT images.version) AS n FROM images"
            " JOIN jobs ON jobs.id = images.job_id WHERE jobs.batch_id=?"
            " GROUP BY job_id HAVING n > 1",
            (batch_id,),
        )
        return {int(r["job_id"]): int(r["n"]) for r in rows}

    def set_review(
        self,
        image_ids: Iterable[int],
        flag: str | None = None,
        stars: int | None = None,
        outbox: Outbox | None = None,
    ) -> int:
        """Set the flag and/or stars of images; returns how many rows changed. The
        deliveries ``outbox`` gives for each image are written in the same transaction.

        Raises:
            ValueError: a flag not in ``FLAGS`` or stars outside 0–5.
        """
        if flag is not None and flag not in FLAGS:
            raise ValueError(
                tr("flag must be one of {flags}, got {flag!r}").format(
                    flags=", ".join(FLAGS), flag=flag
                )
            )
        if stars is not None and not 0 <= stars <= 5:
            raise ValueError(tr("stars go from 0 to 5, got {stars}").format(stars=stars))
        sets = [c for c, v in (("flag=?", flag), ("stars=?", stars)) if v is not None]
        if not sets:
            return 0
        args = [v for v in (flag, stars) if v is not None]
        ids = list(image_ids)
        with self.tx() as db:
            cur = db.executemany(
                f"UPDATE images SET {', '.join(sets)} WHERE id=?", [(*args, i) for i in ids]
            )
            if outbox is not None:
                _add_outbox(db, ids, outbox)
            return int(cur.rowcount)

    def shown_images(self, job_id: int) -> list[ImageRow]:
        """The images a job shows (its pick, else its newest version), in sample order; empty
        while it has none. ``images`` applies the same rule to a whole batch at once."""
        rows = self._q(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            f" WHERE job_id=? AND images.version = {_SHOWN} ORDER BY sample_index",
            (job_id,),
        )
        return [ImageRow.from_row(r) for r in rows]

    def move_image(self, image_id: int, path: Path) -> None:
        """Record that an image's file was renamed to ``path``."""
        with self.tx() as db:
            db.execute("UPDATE images SET path=?, thumb=NULL WHERE id=?", (str(path), image_id))

    def set_pick(self, job_id: int, version: int | None) -> None:
        """Make ``version`` the one the job shows (``None``: its newest)."""
        with self.tx() as db:
            db.execute("UPDATE jobs SET pick_version=? WHERE id=?", (version, job_id))

    def start_version(self, job_id: int, spec_json: str) -> bool:
        """Put a finished job back to ``pending`` as its next version, with ``spec_json`` (a new
        seed or prompt); its pick goes back to "newest". Returns whether it moved (a job that
        is pending or running is left alone)."""
        with self.tx() as db:
            moved = self._move_jobs(
                db,
                JobStatus.PENDING,
                "id=?",
                (job_id,),
                also="version=version+1, pick_version=NULL, spec_json=?, error=NULL,"
                " error_type=NULL, finished_at=NULL",
                also_args=(spec_json,),
            )
            return bool(moved)

    def set_spec(self, job_id: int, spec_json: str) -> None:
        """Replace a job's spec (a new seed or prompt for its next attempt)."""
        with self.tx() as db:
            db.execute("UPDATE jobs SET spec_json=? WHERE id=?", (spec_json, job_id))


def _add_outbox(db: sqlite3.Connection, image_ids: list[int], outbox: Outbox) -> None:
    """Write the deliveries ``outbox`` gives for ``image_ids`` in the open transaction ``db``."""
    for start in range(0, len(image_ids), 500):  # SQLite's bound-parameter limit
        chunk = image_ids[start : start + 500]
        rows = db.execute(
            "SELECT images.*, jobs.batch_id FROM images JOIN jobs ON jobs.id=images.job_id"
            f" WHERE images.id IN ({','.join('?' * len(chunk))})",
            tuple(chunk),
        ).fetchall()
        for r in rows:
            image = ImageRow.from_row(r)
            insert_deliveries(db, image.batch_id, outbox(image))
