"""What the store hands out: frozen rows, read from SQLite by column name."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.i18n import render_stored
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import TERMINAL, BatchStatus, JobStatus


@dataclass(frozen=True)
class BatchRow:
    """A batch as stored. Costs in USD; ``counts`` maps job status → job count."""

    id: int
    name: str
    fingerprint: str
    output_dir: Path
    provider: str
    model: str
    source: str
    settings: dict[str, Any]
    status: BatchStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    estimated_cost: float | None
    warnings: list[str]
    counts: dict[JobStatus, int]

    def run_settings(self) -> RunSettings:
        """The batch's ``RunSettings``: the one typed view of ``settings`` (keys it does not
        know, such as a team batch's ``team``, are ignored).

        Raises:
            pydantic.ValidationError: the stored settings are not valid ``RunSettings``.
        """
        return RunSettings.model_validate(self.settings)

    @property
    def total(self) -> int:
        """Number of jobs."""
        return sum(self.counts.values())

    @property
    def unfinished(self) -> int:
        """Jobs not yet completed, failed or cancelled."""
        return sum(n for s, n in self.counts.items() if s not in TERMINAL)

    @classmethod
    def from_row(cls, r: sqlite3.Row, counts: dict[JobStatus, int]) -> BatchRow:
        """A ``batches`` row (``SELECT *``) with its job counts."""
        return cls(
            id=int(r["id"]),
            name=r["name"],
            fingerprint=r["fingerprint"],
            output_dir=Path(r["output_dir"]),
            provider=r["provider"],
            model=r["model"],
            source=r["source"],
            settings=json.loads(r["settings_json"]),
            status=BatchStatus(r["status"]),
            created_at=r["created_at"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            estimated_cost=r["estimated_cost"],
            warnings=json.loads(r["warnings_json"]),
            counts=counts,
        )


def _cost(r: sqlite3.Row) -> float | None:
    return None if r["cost_unknown"] else float(r["cost"])


@dataclass(frozen=True)
class JobRow:
    """A job as stored. ``cost`` is USD spent so far (``None`` when some of it is unknown)."""

    id: int
    batch_id: int
    seq: int
    spec: JobSpec
    status: JobStatus
    attempts: int
    error: str | None
    error_type: str | None
    cost: float | None
    duration_ms: int | None
    started_at: str | None
    finished_at: str | None
    version: int = 1
    """The version its next images are (1 until it is regenerated)."""
    pick_version: int | None = None
    """The version it shows; ``None``: its newest."""

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> JobRow:
        """A ``jobs`` row (``SELECT *``); validates its spec."""
        return cls(
            id=int(r["id"]),
            batch_id=int(r["batch_id"]),
            seq=int(r["seq"]),
            spec=JobSpec.model_validate_json(r["spec_json"]),
            status=JobStatus(r["status"]),
            attempts=int(r["attempts"]),
            error=render_stored(r["error"], r["error_msg"]),
            error_type=r["error_type"],
            cost=_cost(r),
            duration_ms=r["duration_ms"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            version=int(r["version"]),
            pick_version=r["pick_version"],
        )


@dataclass(frozen=True)
class JobSummary:
    """What lists show of a job, read without validating its whole spec (10,000 in ~30 ms)."""

    id: int
    seq: int
    prompt: str
    output_path: str
    status: JobStatus
    attempts: int
    error: str | None
    error_type: str | None
    cost: float | None
    duration_ms: int | None

    SQL = (
        "SELECT id, seq, json_extract(spec_json, '$.prompt') AS prompt,"
        " json_extract(spec_json, '$.output_path') AS output_path, status, attempts, error,"
        " error_msg, error_type, cost, cost_unknown, duration_ms FROM jobs"
    )
    """The query that ``from_row`` reads (add a ``WHERE``)."""

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> JobSummary:
        """A row of ``JobSummary.SQL``."""
        return cls(
            id=int(r["id"]),
            seq=int(r["seq"]),
            prompt=r["prompt"],
            output_path=r["output_path"],
            status=JobStatus(r["status"]),
            attempts=int(r["attempts"]),
            error=render_stored(r["error"], r["error_msg"]),
            error_type=r["error_type"],
            cost=_cost(r),
            duration_ms=r["duration_ms"],
        )


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
    uuid: str
    """The record's UUID (the report's ``history_uuid``)."""
    version: int = 1
    flag: str = "unflagged"
    stars: int = 0
    seed: int | None = None
    prompt: str | None = None
    model: str | None = None
    cost: float | None = None
    request_id: str | None = None
    content_key: str | None = None
    """What made it (``atelier.pricing.reuse.image_key``); ``None`` for images from before reuse."""
    sha256: str | None = None
    """The file's SHA-256 as written."""
    reused_from: int | None = None
    """The image this one is a copy of (made at $0), if it is one."""
    qa_flags: tuple[str, ...] | None = None
    """Its quality-check flags (``atelier.output.qa.FLAGS``); empty: passed; ``None``: not checked."""
    qa_detail: dict[str, Any] = field(default_factory=dict)
    """The values measured by the checks (``atelier.output.qa.Inspection.detail``)."""
    qa_remakes: int = 0
    """How many times its sample was made again because of a flag (``--qa-retry``)."""

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> ImageRow:
        """An ``images`` row joined with its job's ``batch_id``."""
        return cls(
            id=int(r["id"]),
            job_id=int(r["job_id"]),
            batch_id=int(r["batch_id"]),
            sample_index=int(r["sample_index"]),
            path=Path(r["path"]),
            thumb=Path(r["thumb"]) if r["thumb"] else None,
            created_at=r["created_at"],
            uuid=r["uuid"],
            version=int(r["version"]),
            flag=r["flag"],
            stars=int(r["stars"]),
            seed=r["seed"],
            prompt=r["prompt"],
            model=r["model"],
            cost=r["cost"],
            request_id=r["request_id"],
            content_key=r["content_key"],
            sha256=r["sha256"],
            reused_from=r["reused_from"],
            qa_flags=_flags(r["qa_flags"]),
            qa_detail=json.loads(r["qa_detail"]) if r["qa_detail"] else {},
            qa_remakes=int(r["qa_remakes"] or 0),
        )


def _flags(text: str | None) -> tuple[str, ...] | None:
    """Stored QA flags (``"blank,duplicate"``) as a tuple; ``None`` stays ``None``."""
    if text is None:
        return None
    return tuple(f for f in text.split(",") if f)
