"""Which outbox rows a batch's events cause, and what each row sends (its ``Parcel``).

The one rule for what is delivered when:

* "as made" (``Delivery.after_review`` off): each image written goes to the storage, CMS and
  webhook targets;
* "after review": only picked images go, when picked; a later pick of another version is a new
  image, delivered under the same key (so it replaces the object in the bucket);
* Shopify attaches picked images only, in both modes (a product's photos are chosen ones);
* a job that fails for good is a ``job.failed`` webhook; a run's start and end are Slack
  messages, and its end a ``batch.finished`` webhook.

Every function here only reads and writes the store, so the window may call them from a worker
thread and the engine from its loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atelier.core.delivery_config import Delivery
from atelier.core.i18n import tr
from atelier.delivery.base import Parcel
from atelier.delivery.channels import channel_of, channel_rows, rendition, target_channel
from atelier.delivery.messages import batch_payload, image_payload, job_failed_payload
from atelier.sheet.templates import safe_entry_name
from atelier.store import DeliveryRow, NewDelivery, Store
from atelier.store.deliveries import JobOutbox, Outbox
from atelier.store.rows import ImageRow, JobRow

STAGE = {"s3": 0, "shopify": 1, "cms": 1, "webhook": 1, "slack": 2}
"""0: storage (gives the URL); 1: per-image calls that use it; 2: the batch's messages."""

_PICKED_ONLY = ("shopify",)


def delivery_of(store: Store, batch_id: int) -> Delivery | None:
    """The batch's delivery settings; ``None`` when it delivers nowhere."""
    d = store.run_settings(batch_id).delivery
    return d if d is not None and d.targets else None


def image_deliveries(
    delivery: Delivery, image: ImageRow, picked: bool, channels: Sequence[str] = ()
) -> list[NewDelivery]:
    """The rows one image causes: as it is written (``picked`` false) or as it is picked; with
    ``channels``, one more per channel for storage and webhooks (``atelier.delivery.channels``)."""
    out = []
    for t in delivery.targets:
        if t.kind == "slack" or (t.kind == "webhook" and "image.completed" not in t.events):
            continue
        if t.kind in _PICKED_ONLY or delivery.after_review:
            if not picked:
                continue
        elif picked:
            continue  # delivered as made already
        out.append(
            NewDelivery(
                t.name,
                "image.completed",
                f"{t.name}|image|{image.uuid}",
                STAGE[t.kind],
                image.job_id,
                image.id,
            )
        )
    return channel_rows(delivery, out, channels) if channels else out


def job_failed_deliveries(delivery: Delivery, job: JobRow) -> list[NewDelivery]:
    """``job.failed`` webhooks for a job that failed for good (one per attempt count, so a
    retried job that fails again is told again)."""
    return [
        NewDelivery(t.name, "job.failed", f"{t.name}|job.failed|{job.id}|{job.attempts}", 1, job.id)
        for t in delivery.targets
        if t.kind == "webhook" and "job.failed" in t.events
    ]


def batch_deliveries(delivery: Delivery, event: str, run_tag: str) -> list[NewDelivery]:
    """A run's ``batch.started`` (Slack) or ``batch.finished`` (Slack, webhooks) rows;
    ``run_tag`` (the run's start time) makes each run's messages its own."""
    out = []
    for t in delivery.targets:
        if t.kind == "slack" or (
            t.kind == "webhook" and event == "batch.finished" and event in t.events
        ):
            stage = 0 if event == "batch.started" else 2
            out.append(NewDelivery(t.name, event, f"{t.name}|{event}|{run_tag}", stage))
    return out


def made_outbox(delivery: Delivery | None, channels: Sequence[str] = ()) -> Outbox | None:
    """What an image of a batch delivering with ``delivery`` causes as it is written (the
    store records the rows with the image: ``Store.add_image``); ``None`` when nothing
    (no delivery, or only after review)."""
    if delivery is None or not delivery.targets or delivery.after_review:
        return None
    return lambda image: image_deliveries(delivery, image, picked=False, channels=channels)


def failed_outbox(delivery: Delivery | None) -> JobOutbox | None:
    """What a job of a batch delivering with ``delivery`` causes as it fails for good (the
    store records the rows with the move: ``Store.set_job_status``); ``None``: nothing."""
    if delivery is None or not delivery.targets:
        return None
    return lambda job: job_failed_deliveries(delivery, job)


def picked_outbox(store: Store) -> Outbox:
    """What picking an image causes, under its batch's delivery (the store records the rows
    with the pick: ``Store.set_review``)."""
    cache: dict[int, tuple[Delivery | None, list[str]]] = {}

    def rows(image: ImageRow) -> list[NewDelivery]:
        if image.batch_id not in cache:
            channels = store.run_settings(image.batch_id).channels
            cache[image.batch_id] = (delivery_of(store, image.batch_id), channels)
        d, channels = cache[image.batch_id]
        return [] if d is None else image_deliveries(d, image, picked=True, channels=channels)

    return rows


def delivery_changed(store: Store, batch_id: int) -> int:
    """The batch's delivery settings changed (a run again with other targets): record the
    rows its images and picks cause under the new ones (rows recorded already are left
    alone); returns how many are new. Not a repair: the rows of an image are written with it."""
    delivery = delivery_of(store, batch_id)
    if delivery is None:
        return 0
    channels = store.run_settings(batch_id).channels
    new: list[NewDelivery] = []
    if not delivery.after_review:
        for img in store.images(batch_id):
            new += image_deliveries(delivery, img, picked=False, channels=channels)
    for img in store.picked_images(batch_id):
        new += image_deliveries(delivery, img, picked=True, channels=channels)
    return store.add_deliveries(batch_id, new)


def image_values(store: Store, image: ImageRow, job: JobRow) -> dict[str, str]:
    """The template context of an image (see ``atelier.core.delivery_config.BUILTINS``): the row's
    values, its file under the job's own name, and the URL its storage gave it."""
    names = job.spec.sample_paths()
    # Made safe again: a job stored before bidi controls were removed from names must not
    # carry them into an object key or a CMS message.
    file = safe_entry_name(names[min(image.sample_index, len(names) - 1)])
    values = dict(job.spec.row_values) | {
        "file": file,
        "name": Path(file).name,
        "stem": Path(file).stem,
        "sample": str(image.sample_index + 1),
        "job": str(job.id),
        "seq": str(job.seq + 1),
        "batch": str(job.batch_id),
        "version": str(image.version),
        "channel": "",
    }
    urls = store.delivered_urls(job.batch_id, [image.id]).get(image.id, [])
    if urls:
        values["url"] = urls[0]
    return values


def parcel_for(store: Store, row: DeliveryRow) -> Parcel:
    """What ``row`` sends: its values, file and payload (frozen in the row at its first
    attempt, so every retry sends the same message).

    Raises:
        KeyError: its image or job is gone from the store.
    """
    values: dict[str, str] = {}
    path: Path | None = None
    label = ""
    if row.image_id is not None:
        image = store.image(row.image_id)
        job = store.job(image.job_id)
        values = image_values(store, image, job)
        path = image.path
        label = row_label(job)
        channel = channel_of(row.key)
        if channel is None:  # a Shopify product: Shopify's rendition when the batch checks it
            rs = store.run_settings(image.batch_id)
            channel = target_channel(rs.delivery, row.target, rs.channels)
        if channel is not None:
            path, values = rendition(store, image, values, channel)
    if row.payload is not None:
        payload: dict[str, Any] = json.loads(row.payload)
    else:
        payload = _payload(store, row, values)
        if values.get("channel") and isinstance(payload.get("data"), dict):
            payload["data"]["channel"] = values["channel"]
            payload["data"]["files"] = [{"path": str(path), "name": values["file"]}]
        store.set_delivery_payload(row.id, json.dumps(payload, ensure_ascii=False))
    return Parcel(row.event, row.message_id, values, path, payload, row.attempts + 1, label)


def row_label(job: JobRow) -> str:
    """How messages name a job's row: ``row 4`` (1-based, as the sheet counts), or ``job 4``
    for a job that came from no sheet."""
    if job.spec.row_index is not None:
        return tr("row {row}").format(row=job.spec.row_index + 1)
    return tr("job {seq}").format(seq=job.seq + 1)


def _payload(store: Store, row: DeliveryRow, values: dict[str, str]) -> dict[str, Any]:
    target = next(
        (
            t
            for t in (delivery_of(store, row.batch_id) or Delivery()).targets
            if t.name == row.target
        ),
        None,
    )
    slack = target is not None and target.kind == "slack"
    if row.event == "image.completed" and row.image_id is not None:
        return image_payload(store, store.image(row.image_id), values)
    if row.event == "job.failed" and row.job_id is not None:
        return job_failed_payload(store, store.job(row.job_id))
    return batch_payload(store, row.batch_id, row.event, slack=slack)
