"""What the window shows of deliveries: one state per target for a job or an image, and the
short mark and text made from them. The one rule for "how delivered is this image" (the
progress table, the gallery and their tooltips all use it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from atelier.core.i18n import N_, tr
from atelier.store.deliveries import DeliveryRow

_RANK = {"delivered": 0, "pending": 1, "sending": 2, "failed": 3}
"""Which status a summary of several rows shows: the worst one (failed over in-flight over
waiting over done)."""

MARKS = {"delivered": "☁✓", "pending": "☁…", "sending": "☁…", "failed": "☁✗"}
"""The gallery caption's mark for an image's worst delivery state."""


@dataclass(frozen=True)
class TargetState:
    """One target's newest state for a job's or image's deliveries: ``status`` one of
    ``pending`` / ``sending`` / ``delivered`` / ``failed``; ``url`` what the target gave back;
    ``error`` why the last attempt failed (``None`` once delivered)."""

    status: str
    url: str | None = None
    error: str | None = None


States = dict[str, TargetState]
"""Target name → its state (of one image, or folded over a job's images)."""

Keyed = dict[tuple[int | None, str], TargetState]
"""A job's rows: (image id, or ``None`` for its ``job.failed`` message; target) → state."""


def fold(keyed: Mapping[tuple[int | None, str], TargetState]) -> States:
    """A job's states per target: the worst over its images, a URL once known kept."""
    out: States = {}
    for (_, target), new in keyed.items():
        old = out.get(target)
        if old is None or _RANK.get(new.status, 0) > _RANK.get(old.status, 0):
            out[target] = TargetState(new.status, new.url or (old.url if old else None), new.error)
        elif new.url and not old.url:
            out[target] = TargetState(old.status, new.url, old.error)
    return out


def by_job_and_image(rows: Iterable[DeliveryRow]) -> tuple[dict[int, Keyed], dict[int, States]]:
    """A batch's outbox rows as (job id → its keyed rows, image id → states); a batch's own
    messages (Slack, ``batch.finished``) belong to neither."""
    jobs: dict[int, Keyed] = {}
    images: dict[int, States] = {}
    for r in rows:
        state = TargetState(r.status, r.url, r.error)
        if r.job_id is not None:
            jobs.setdefault(r.job_id, {})[(r.image_id, r.target)] = state
        if r.image_id is not None:
            images.setdefault(r.image_id, {})[r.target] = state
    return jobs, images


def worst(states: Mapping[str, TargetState]) -> str | None:
    """The worst status among ``states`` (``None``: nothing to deliver)."""
    if not states:
        return None
    return max((s.status for s in states.values()), key=lambda s: _RANK.get(s, 0))


STATUS_WORDS = {
    "delivered": N_("delivered"),
    "pending": N_("waiting"),
    "sending": N_("sending"),
    "failed": N_("failed"),
}
"""A delivery's status (the outbox's word) as a table cell or tooltip says it."""


def _word(status: str) -> str:
    return "✓" if status == "delivered" else tr(STATUS_WORDS.get(status, status))


def summary(states: Mapping[str, TargetState]) -> str:
    """One line for a table cell: ``s3 ✓ · webhook ✓`` or ``s3 failed · webhook waiting``."""
    return " · ".join(f"{t} {_word(s.status)}" for t, s in sorted(states.items()))


def details(states: Mapping[str, TargetState]) -> str:
    """Every target's state, URL and error, one per line (a tooltip)."""
    lines = []
    for t, s in sorted(states.items()):
        line = f"{t}: {tr(STATUS_WORDS.get(s.status, s.status))}"
        if s.url:
            line += f" → {s.url}"
        if s.error and s.status != "delivered":
            line += f" ({s.error})"
        lines.append(line)
    return "\n".join(lines)


def counts_text(counts: Mapping[str, int], batch: Mapping[str, TargetState]) -> str:
    """The progress page's delivery line: ``Delivery: 12 delivered · 3 waiting · slack ✓``
    from the outbox's ``{status: rows}`` and the batch's own messages (``""``: none)."""
    if not any(counts.values()):
        return ""
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    parts = [tr("{count} delivered").format(count=counts.get("delivered", 0))]
    if waiting:
        parts.append(tr("{count} waiting").format(count=waiting))
    if counts.get("failed"):
        parts.append(tr("{count} failed").format(count=counts["failed"]))
    if batch:
        parts.append(summary(batch))
    return tr("Delivery: {parts}").format(parts=" · ".join(parts))
