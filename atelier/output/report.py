"""A batch's report as the store has it (``BatchReport``), and writing it beside the images."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from atelier.core.errors import OutputError
from atelier.core.files import atomic_write
from atelier.core.models import BatchReport, DeliveryResult, JobResult
from atelier.core.status import JobStatus
from atelier.output.export import write_results_csv
from atelier.output.images import REPORT_CSV_NAME, REPORT_NAME
from atelier.store import JobSummary, Store


def iso_z(stamp: str | None) -> str | None:
    """An ISO 8601 time as the reference tool writes it: UTC, milliseconds, ``Z``
    (``2026-12-02T05:14:03.120Z``); a stamp without a zone is taken as UTC."""
    if not stamp:
        return None
    t = datetime.fromisoformat(stamp)
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class _Shown:
    """Per job: the paths, the first UUID, the version of the images it shows, and the file
    its first reused image copies."""

    paths: dict[int, list[str]] = field(default_factory=dict)
    uuid: dict[int, str] = field(default_factory=dict)
    version: dict[int, int] = field(default_factory=dict)
    reused_from: dict[int, str] = field(default_factory=dict)
    qa_flags: dict[int, list[str]] = field(default_factory=dict)
    qa_remakes: dict[int, int] = field(default_factory=dict)
    qa_flagged: int = 0


def _shown_images(store: Store, batch_id: int) -> _Shown:
    """What each job shows (two queries for the whole batch, not one per job: 10,000 at the
    end of a big batch)."""
    shown = _Shown()
    sources = store.reused_sources(batch_id)
    for im in store.images(batch_id):
        shown.paths.setdefault(im.job_id, []).append(str(im.path))
        shown.uuid.setdefault(im.job_id, im.uuid)
        shown.version[im.job_id] = im.version
        if im.id in sources:
            shown.reused_from.setdefault(im.job_id, str(sources[im.id]))
        if im.qa_flags:
            shown.qa_flagged += 1
            have = shown.qa_flags.setdefault(im.job_id, [])
            have += [f for f in im.qa_flags if f not in have]
        if im.qa_remakes:
            shown.qa_remakes[im.job_id] = shown.qa_remakes.get(im.job_id, 0) + im.qa_remakes
    return shown


def build_report(
    store: Store,
    batch_id: int,
    started_at: str | None = None,
    duration_s: float | None = None,
    reason: str | None = None,
) -> BatchReport:
    """The report of ``batch_id`` as it stands; costs in USD (``None`` when any is unknown)."""
    batch = store.batch(batch_id)
    results: list[JobResult] = []
    # Two queries for the whole batch, not one per job (10,000 at the end of a big batch).
    shown = _shown_images(store, batch_id)
    delivered = _deliveries(store, batch_id)
    for job in store.job_summaries(batch_id):
        results.append(_result(job, shown, delivered.get(job.id, [])))
    costs = [r.cost for r in results]
    total_cost = None if None in costs else sum(c for c in costs if c is not None)
    counts = batch.counts
    return BatchReport(
        batch_id=batch_id,
        provider=batch.provider,
        model=batch.model,
        total=batch.total,
        succeeded=counts.get(JobStatus.COMPLETED, 0),
        failed=counts.get(JobStatus.FAILED, 0),
        cancelled=counts.get(JobStatus.CANCELLED, 0),
        pending=batch.unfinished,
        results=results,
        started_at=iso_z(started_at or batch.started_at),
        finished_at=iso_z(datetime.now(UTC).isoformat()),
        total_duration_ms=int(duration_s * 1000) if duration_s is not None else None,
        estimated_cost=batch.estimated_cost,
        total_cost=round(total_cost, 6) if total_cost is not None else None,
        stopped_reason=reason,
        warnings=batch.warnings,
        paid_twice=store.paid_without_image(batch_id),
        lost_in_flight=store.lost_in_flight(batch_id),
        deliveries=_delivery_counts(store, batch_id),
        qa_flagged=shown.qa_flagged,
        qa_remakes=sum(shown.qa_remakes.values()),
    )


def _result(job: JobSummary, shown: _Shown, deliveries: list[DeliveryResult]) -> JobResult:
    """One job's line of the report."""
    paths = shown.paths.get(job.id, [])
    done = job.status == JobStatus.COMPLETED
    return JobResult(
        job_id=str(job.id),
        prompt=job.prompt,
        status=job.status,
        output_path=paths[0] if paths else None,
        output_paths=paths,
        error=None if done else job.error,
        error_type=None if done else job.error_type,
        attempts=job.attempts,
        duration_ms=job.duration_ms,
        cost=job.cost,
        history_uuid=shown.uuid.get(job.id) if done else None,
        version=shown.version.get(job.id, 1),
        deliveries=deliveries,
        reused_from=shown.reused_from.get(job.id),
        qa_flags=shown.qa_flags.get(job.id, []),
        qa_remakes=shown.qa_remakes.get(job.id, 0),
    )


def _deliveries(store: Store, batch_id: int) -> dict[int, list[DeliveryResult]]:
    """``{job_id: its deliveries}``, in the order they were recorded."""
    out: dict[int, list[DeliveryResult]] = {}
    for d in store.deliveries(batch_id):
        if d.job_id is not None:
            out.setdefault(d.job_id, []).append(
                DeliveryResult(target=d.target, status=d.status, url=d.url, error=d.error)
            )
    return out


def _delivery_counts(store: Store, batch_id: int) -> dict[str, int] | None:
    """The report's delivery counts, ``None`` for a batch that has never delivered."""
    c = store.delivery_counts(batch_id)
    if not any(c.values()):
        return None
    return {
        "delivered": c["delivered"],
        "failed": c["failed"],
        "pending": c["pending"] + c["sending"],
    }


def write_report_now(report: BatchReport, out_dir: Path) -> None:
    """``write_report`` on this thread, for a run interrupted while it waits for its
    deliveries (the app quits): no await is left to it."""
    try:
        atomic_write(out_dir / REPORT_NAME, report.model_dump_json(indent=2).encode("utf-8"))
        write_results_csv(report, out_dir / REPORT_CSV_NAME)
    except OutputError as e:
        report.warnings.append(f"report not written: {e}")


async def write_report(report: BatchReport, out_dir: Path) -> None:
    """Write ``atelier-report.json`` and ``atelier-report.csv`` into ``out_dir``; a failure
    becomes a warning in the report, never an exception."""
    try:
        await asyncio.to_thread(
            atomic_write, out_dir / REPORT_NAME, report.model_dump_json(indent=2).encode("utf-8")
        )
        await asyncio.to_thread(write_results_csv, report, out_dir / REPORT_CSV_NAME)
    except OutputError as e:
        report.warnings.append(f"report not written: {e}")
