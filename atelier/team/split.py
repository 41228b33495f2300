"""How a team batch's delivery is shared out: each job's own deliveries go with the job to
the worker that makes it; the run's messages (Slack's started and finished, the webhooks'
``batch.finished``) are the submitting machine's, sent while it follows the batch, since it
alone sees the whole batch (its store has every job and image the report counts)."""

from __future__ import annotations

from atelier.core.delivery_config import Delivery, Target


def per_job_delivery(delivery: Delivery | None) -> Delivery | None:
    """What a worker delivers of a batch's ``delivery``: each image and job's own deliveries,
    without the run's messages (each job is a run of its own there). ``None`` when nothing
    per image is left (the images then go back to the submitter)."""
    if delivery is None:
        return None
    targets = []
    for t in delivery.targets:
        if t.kind == "slack":
            continue
        if t.kind == "webhook":
            t = t.model_copy(update={"events": [e for e in t.events if e != "batch.finished"]})
        targets.append(t)
    return delivery.model_copy(update={"targets": targets}) if targets else None


def run_messages(delivery: Delivery | None) -> Delivery | None:
    """What the submitter delivers of a batch's ``delivery``: Slack targets, and webhooks
    asking for ``batch.finished`` (that event only). ``None`` when there are none."""
    if delivery is None:
        return None
    targets: list[Target] = []
    for t in delivery.targets:
        if t.kind == "slack":
            targets.append(t)
        elif t.kind == "webhook" and "batch.finished" in t.events:
            targets.append(t.model_copy(update={"events": ["batch.finished"]}))
    return delivery.model_copy(update={"targets": targets}) if targets else None
