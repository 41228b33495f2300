"""A batch report as Markdown: the summary the CI workflow comments on a ``/batch`` issue
(as the reference batch tool's workflow does: total, succeeded, failed, duration, cost, one
line per image and per failure), from ``atelier report REPORT.json --format markdown``."""

from __future__ import annotations

import os
from pathlib import Path

from atelier.core.i18n import tr
from atelier.core.models import BatchReport
from atelier.output.qa import flag_label

MAX_LINES = 50
"""Lines per section before "… and N more" (GitHub comments are capped at 65,536 characters)."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short_paths(report: BatchReport) -> dict[int, str]:
    """Each result's file relative to the batch's folder (``shoes/cup.png``, not the runner's
    absolute path)."""
    paths = {i: r.output_path for i, r in enumerate(report.results) if r.output_path}
    if not paths:
        return {}
    root = os.path.commonpath([Path(p).parent for p in paths.values()])
    return {i: Path(p).relative_to(root).as_posix() for i, p in paths.items()}


def _qa_lines(report: BatchReport, short: dict[int, str]) -> list[str]:
    """The "Quality check" section: the counts and each flagged image (none: no section)."""
    flagged = [(i, r) for i, r in enumerate(report.results) if r.qa_flags]
    if not (flagged or report.qa_remakes):
        return []
    lines = [
        "",
        tr("#### Quality check"),
        "",
        tr("{flagged} image(s) flagged, {remade} made again (in the cost above)").format(
            flagged=report.qa_flagged, remade=report.qa_remakes
        ),
        "",
    ]
    for i, r in flagged[:MAX_LINES]:
        flags = ", ".join(flag_label(f) for f in r.qa_flags)
        lines.append(f"- `{_cell(short.get(i, ''))}`: {flags}")
    if len(flagged) > MAX_LINES:
        lines.append(tr("- … and {count} more").format(count=len(flagged) - MAX_LINES))
    return lines


def to_markdown(report: BatchReport) -> str:
    """The report as GitHub-flavoured Markdown."""
    icon = "✅" if report.failed == 0 and report.pending == 0 else "⚠️"
    secs = (report.total_duration_ms or 0) / 1000
    cost = "unknown" if report.total_cost is None else f"${report.total_cost:.4f}"
    lines = [
        tr("### {icon} Atelier batch {id} ({provider}/{model})").format(
            icon=icon, id=report.batch_id, provider=report.provider, model=report.model
        ),
        "",
        "| total | succeeded | failed | cancelled | duration | cost |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {report.total} | {report.succeeded} | {report.failed} | {report.cancelled} "
        f"| {secs:.1f} s | {cost} |",
    ]
    if report.deliveries:
        d = report.deliveries
        lines += [
            "",
            tr("Deliveries: {delivered} delivered, {failed} failed, {pending} pending").format(
                delivered=d["delivered"], failed=d["failed"], pending=d["pending"]
            ),
        ]
    short = _short_paths(report)
    done = [(i, r) for i, r in enumerate(report.results) if r.status == "completed"]
    failed = [r for r in report.results if r.status in ("failed", "cancelled")]
    if done:
        lines += ["", tr("#### Images"), ""]
        for i, r in done[:MAX_LINES]:
            urls = [x.url for x in r.deliveries if x.url and x.status == "delivered"]
            where = f" → {urls[0]}" if urls else ""
            lines.append(f"- `{_cell(short.get(i, ''))}`{where}: {_cell(r.prompt[:80])}")
        if len(done) > MAX_LINES:
            lines.append(tr("- … and {count} more").format(count=len(done) - MAX_LINES))
    if failed:
        lines += ["", tr("#### Failures"), ""]
        for r in failed[:MAX_LINES]:
            lines.append(
                tr("- job {job} ({error}): {cell}").format(
                    job=r.job_id, error=r.error_type or r.status, cell=_cell(r.error or "")
                )
            )
        if len(failed) > MAX_LINES:
            lines.append(tr("- … and {count} more").format(count=len(failed) - MAX_LINES))
    lines += _qa_lines(report, short)
    if report.warnings:
        lines += [
            "",
            tr("<details><summary>{count} warning(s)</summary>").format(count=len(report.warnings)),
            "",
        ]
        lines += [f"- {_cell(w)}" for w in report.warnings[:MAX_LINES]]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
