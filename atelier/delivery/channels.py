"""Delivery to a batch's channels: each image goes to a storage or webhook target once as made
and once per channel (``RunSettings.channels``) as that channel's rendition, under the
object-key / folder prefix ``<channel>/`` (``amazon/cup.jpg``), the webhook's payload naming the
channel in ``data.channel``. A Shopify product takes one image: Shopify's rendition when the
batch's channels include ``shopify``, else the image as made.

An image failing a channel's rule no fix can meet is not delivered there (its row fails with
the rules named) unless the designer overrode it for that image and channel
(``atelier review --override-channel``, the gallery's context menu). Its text is read (OCR)
before it goes to a channel with a text rule, if it was not read yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from atelier.core import paths
from atelier.core.delivery_config import Delivery
from atelier.core.i18n import tr
from atelier.delivery.base import DeliveryError
from atelier.output.channels.batch import judge_image, profiles_of
from atelier.store import NewDelivery, Store
from atelier.store.rows import ImageRow

CHANNEL_KINDS = ("s3", "webhook")
"""The targets a channel's rendition goes to: storage (its key prefixed) and webhooks. A Shopify
product and a CMS field take one image each: a Shopify product its own channel's rendition
(``KIND_CHANNELS``); a CMS field, which names no marketplace, the image as made."""

KIND_CHANNELS = {"shopify": "shopify"}
"""A target kind whose one image is a channel's rendition, when the batch checks that channel:
a Shopify product's media is the ``shopify`` profile's rendition (its size and format rules)."""

_MARK = "|channel="


def channel_rows(
    delivery: Delivery, rows: list[NewDelivery], channels: Sequence[str]
) -> list[NewDelivery]:
    """``rows`` and, for each row of a storage or webhook target, one more per channel (its key
    ending ``|channel=<id>``)."""
    kinds = {t.name: t.kind for t in delivery.targets}
    extra = [
        replace(r, key=f"{r.key}{_MARK}{c}")
        for r in rows
        if kinds.get(r.target) in CHANNEL_KINDS
        for c in channels
    ]
    return rows + extra


def target_channel(delivery: Delivery | None, target: str, channels: Sequence[str]) -> str | None:
    """The channel whose rendition a one-image target (a Shopify product) takes in place of
    the image as made: its kind's channel (``KIND_CHANNELS``) when the batch checks it. Decided
    when the row is sent, not in its key, so a row planned before this rule keeps its key (and
    an image already on the product is not uploaded twice)."""
    kind = next((t.kind for t in delivery.targets if t.name == target), None) if delivery else None
    own = KIND_CHANNELS.get(kind or "")
    return own if own in channels else None


def channel_of(key: str) -> str | None:
    """The channel a row's key names (``None``: the image as made)."""
    return key.rpartition(_MARK)[2] if _MARK in key else None


def rendition_dir(batch_id: int, channel: str) -> Path:
    """Where the renditions delivered to ``channel`` are kept (``ATELIER_HOME/renditions/…``)."""
    return paths.home() / "renditions" / str(batch_id) / channel


def rendition(
    store: Store, image: ImageRow, values: dict[str, str], channel: str
) -> tuple[Path, dict[str, str]]:
    """The rendition of ``image`` for ``channel`` (written under :func:`rendition_dir`) and the
    template values naming it (``file`` with the rendition's extension, ``channel`` the id:
    storage puts it under the prefix ``<channel>/``).

    Raises:
        DeliveryError: (permanent) the channel is no longer known, or a rule no fix can meet
            fails and the image is not overridden for it.
    """
    found = profiles_of([channel])
    if not found:
        raise DeliveryError(
            tr("no such channel: {channel}").format(channel=channel), retryable=False
        )
    from atelier.output.channels.fix import fix_channels  # numpy: loaded when one is made

    stored = store.image_verdicts(image.id).get(channel)
    if found[0].rules("text_area") and (stored is None or not stored.ocr):
        # Saving judges without reading text (OCR takes about 0.4 s a channel); an image is
        # not sent to a channel with a text rule before its text is read: text over the
        # channel's share is a rule no fix can meet. The verdict is stored, so the gallery's
        # mark and the next delivery use it.
        judge_image(store, image.id, image.path, found, use_ocr=True)
        stored = store.image_verdicts(image.id).get(channel)
    file = Path(values.get("file", image.path.name))
    out_dir = rendition_dir(image.batch_id, channel) / file.parent
    # Named as the file is (unique in the batch): one image of a product alone cannot know
    # which of its images comes first, and a code shared by several would overwrite them.
    (made,) = fix_channels(image.path, found, lambda p: out_dir, code=file.stem, recheck=False)
    bad = [r.label for r in made.unfixable]
    if stored is not None and stored.unfixable:
        bad += [str(r["label"]) for r in stored.failed_rules() if not r["fixable"]]
    if bad and not (stored is not None and stored.override):
        made.path.unlink(missing_ok=True)
        raise DeliveryError(
            tr(
                "not delivered to {channel}: {rules} (no fix can meet it; override it for this image to send it anyway)"
            ).format(channel=channel, rules="; ".join(dict.fromkeys(bad))),
            retryable=False,
        )
    name = (file.parent / made.path.name).as_posix()
    return made.path, values | {
        "file": name,
        "name": made.path.name,
        "stem": made.path.stem,
        "channel": channel,
    }
