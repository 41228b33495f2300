"""The messages deliveries send: webhook payloads and Slack's text.

Webhook payloads follow Standard Webhooks' recommended shape (``type``, ``timestamp``,
``data``). They carry the batch, the job, its row values, prompt, files, delivered URLs and
cost (USD), and never a credential: the store holds none and the text passes
``atelier.core.redact``. Slack messages stay short (Slack truncates a ``text`` over 40,000 characters
and designers read them on a phone): counts, spend, the first failures with their reasons and
the first delivered URLs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from atelier.core.i18n import tr
from atelier.core.redact import redact
from atelier.core.status import JobStatus
from atelier.store import Store
from atelier.store.rows import ImageRow, JobRow

SHOWN_FAILURES = 5
SHOWN_URLS = 3


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _batch(store: Store, batch_id: int) -> dict[str, Any]:
    b = store.batch(batch_id)
    return {"id": b.id, "name": b.name, "provider": b.provider, "model": b.model}


def _job(job: JobRow) -> dict[str, Any]:
    return {"id": job.id, "seq": job.seq + 1, "row": dict(job.spec.row_values)}


def image_payload(store: Store, image: ImageRow, values: dict[str, str]) -> dict[str, Any]:
    """``image.completed``: one written image, with the URLs its storage gave it."""
    job = store.job(image.job_id)
    urls = store.delivered_urls(job.batch_id, [image.id]).get(image.id, [])
    return {
        "type": "image.completed",
        "timestamp": _now(),
        "data": {
            "batch": _batch(store, job.batch_id),
            "job": _job(job),
            "prompt": job.spec.prompt,
            "negative_prompt": job.spec.negative_prompt,
            "seed": image.seed,
            "version": image.version,
            "sample": image.sample_index + 1,
            "files": [{"path": str(image.path), "name": values.get("file", image.path.name)}],
            "urls": urls,
            "cost_usd": image.cost,
            "model": image.model,
            "image_id": image.uuid,
        },
    }


def job_failed_payload(store: Store, job: JobRow) -> dict[str, Any]:
    """``job.failed``: a job that failed for good, with the reason and its error class."""
    return {
        "type": "job.failed",
        "timestamp": _now(),
        "data": {
            "batch": _batch(store, job.batch_id),
            "job": _job(job),
            "prompt": job.spec.prompt,
            "error": redact(job.error or ""),
            "error_type": job.error_type,
            "attempts": job.attempts,
            "cost_usd": job.cost,
        },
    }


def _counts(store: Store, batch_id: int) -> dict[str, Any]:
    b = store.batch(batch_id)
    c = b.counts
    return {
        "total": b.total,
        "succeeded": c.get(JobStatus.COMPLETED, 0),
        "failed": c.get(JobStatus.FAILED, 0),
        "cancelled": c.get(JobStatus.CANCELLED, 0),
        "unfinished": b.unfinished,
        "spent_usd": round(store.known_spend_usd(batch_id), 6),
        "estimated_usd": b.estimated_cost,
    }


def _failures(store: Store, batch_id: int) -> list[dict[str, Any]]:
    ids = store.job_ids(batch_id, (JobStatus.FAILED,))[:SHOWN_FAILURES]
    out = []
    for jid in ids:
        j = store.job(jid)
        out.append({"job": j.seq + 1, "file": j.spec.output_path, "error": redact(j.error or "")})
    return out


def _first_urls(store: Store, batch_id: int) -> list[str]:
    rows = [
        d.url
        for d in store.deliveries(batch_id)
        if d.stage == 0 and d.status == "delivered" and d.url
    ]
    return [u for u in rows if u][:SHOWN_URLS]


def batch_payload(store: Store, batch_id: int, event: str, *, slack: bool) -> dict[str, Any]:
    """``batch.started`` / ``batch.finished``: as a webhook payload, or as Slack's
    ``{"text": …}`` when ``slack``."""
    counts = _counts(store, batch_id)
    batch = _batch(store, batch_id)
    failures = _failures(store, batch_id) if event == "batch.finished" else []
    urls = _first_urls(store, batch_id) if event == "batch.finished" else []
    if not slack:
        data = {"batch": batch, **counts, "failures": failures, "urls": urls}
        data["deliveries"] = store.delivery_counts(batch_id)
        return {"type": event, "timestamp": _now(), "data": data}
    return {"text": slack_text(batch, counts, failures, urls, event)}


def slack_text(
    batch: dict[str, Any],
    counts: dict[str, Any],
    failures: list[dict[str, Any]],
    urls: list[str],
    event: str,
) -> str:
    """The Slack message of a run's start or end (the seeds' ``✅/⚠️ done: 38/40 succeeded,
    2 failed``)."""
    name = f"“{batch['name']}” ({batch['provider']}/{batch['model']})"
    if event == "batch.started":
        est = counts["estimated_usd"]
        cost = tr(", estimated ${usd:.2f}").format(usd=est) if est is not None else ""
        return tr("▶️ Atelier started {name}: {total} jobs{cost}").format(
            name=name, total=counts["total"], cost=cost
        )
    icon = "✅" if counts["failed"] == 0 and counts["unfinished"] == 0 else "⚠️"
    done = tr(
        "{icon} Atelier done {name}: {succeeded}/{total} succeeded, {failed} failed, "
        "${spent:.2f} spent"
    )
    lines = [
        done.format(
            icon=icon,
            name=name,
            succeeded=counts["succeeded"],
            total=counts["total"],
            failed=counts["failed"],
            spent=counts["spent_usd"],
        )
    ]
    if counts["cancelled"] or counts["unfinished"]:
        lines.append(
            tr("{cancelled} cancelled, {unfinished} not finished").format(
                cancelled=counts["cancelled"], unfinished=counts["unfinished"]
            )
        )
    job = tr("• job {job} ({file}): {error}")
    lines += [job.format(job=f["job"], file=f["file"], error=f["error"]) for f in failures]
    if counts["failed"] > len(failures):
        more = counts["failed"] - len(failures)
        lines.append(tr("… and {count} more failures").format(count=more))
    lines += [f"<{u}>" for u in urls]
    return "\n".join(lines)
