"""The window's Deliver section as plain values, and the ``Delivery`` made from it (and back).

The window shows one target of each kind; a template's further targets (a second webhook
written in a batch config) are kept as they are in ``DeliveryForm.others``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from atelier.core.delivery_config import (
    CmsTarget,
    Delivery,
    S3Target,
    ShopifyTarget,
    SlackTarget,
    Target,
    WebhookTarget,
)
from atelier.core.errors import InputError
from atelier.core.i18n import N_, tr
from atelier.core.secrets import set_secret
from atelier.core.validation_messages import describe_error, first_problem

FIELD_LABELS = {
    "s3": N_("Deliver › S3"),
    "webhook": N_("Deliver › Webhook"),
    "slack": N_("Deliver › Slack"),
    "cms": N_("Deliver › CMS"),
    "shopify": N_("Deliver › Shopify"),
}
"""How messages name the Deliver section's groups."""


@dataclass(frozen=True)
class DeliveryForm:
    """The Deliver section's fields as typed (empty: that target is off).

    Attributes:
        s3_key: the key template (``{Vendor}/{file}``); s3_public_url: a template too.
        slack_url: a new Slack webhook address (stored in the keyring when the batch starts);
            slack_kept: the Slack target already configured (a template's), kept when
            ``slack_url`` is empty.
        cms_method / cms_url / cms_body: the CMS call per image.
        after_review: "deliver after review" (only picked images, when picked).
        others: targets the section does not show, kept as they are.
    """

    s3_bucket: str = ""
    s3_key: str = "{file}"
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_public_url: str = ""
    s3_access_key_id: str = ""
    webhook_url: str = ""
    slack_url: str = ""
    slack_kept: SlackTarget | None = None
    cms_method: str = "PATCH"
    cms_url: str = ""
    cms_body: str = '{"image_url": "{url}"}'
    shopify_shop: str = ""
    after_review: bool = False
    others: tuple[Any, ...] = field(default_factory=tuple)


def slack_target(url: str, where: str) -> tuple[SlackTarget, str | None]:
    """A Slack target for the incoming-webhook ``url``: the address goes to the keyring (it is
    a credential) and the target names its entry. Returns the target and a note when there is
    no keyring (the address then lasts for this process only).

    Raises:
        InputError: ``url`` is not an http(s) address (named ``where``).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(where, tr("{url!r} is not an http(s) address").format(url=url))
    name = f"slack:{hashlib.sha256(url.strip().encode()).hexdigest()[:12]}"
    kept = set_secret(name, url.strip())
    note = None if kept else tr("no keyring: the Slack address is kept for this run only")
    return SlackTarget(url_secret=name, shown=f"{parts.netloc}/…"), note


def _opt(text: str) -> str | None:
    return text.strip() or None


def _targets(f: DeliveryForm) -> tuple[list[Any], list[str]]:
    targets: list[Any] = []
    notes: list[str] = []
    if f.s3_bucket.strip():
        try:
            targets.append(
                S3Target(
                    bucket=f.s3_bucket.strip(),
                    key=f.s3_key.strip() or "{file}",
                    endpoint_url=_opt(f.s3_endpoint),
                    region=_opt(f.s3_region),
                    public_url=_opt(f.s3_public_url),
                    access_key_id=_opt(f.s3_access_key_id),
                )
            )
        except ValidationError as e:
            raise _named("s3", e) from None
    if f.webhook_url.strip():
        targets.append(WebhookTarget(url=f.webhook_url.strip()))
    if f.slack_url.strip():
        slack, note = slack_target(f.slack_url, tr(FIELD_LABELS["slack"]))
        targets.append(slack)
        notes += [note] if note else []
    elif f.slack_kept is not None:
        targets.append(f.slack_kept)
    if f.cms_url.strip():
        try:
            targets.append(
                CmsTarget(method=f.cms_method.upper(), url=f.cms_url.strip(), body=f.cms_body)
            )
        except ValidationError as e:
            raise _named("cms", e) from None
    if f.shopify_shop.strip():
        targets.append(ShopifyTarget(shop=f.shopify_shop.strip()))
    return targets, notes


def _named(kind: str, e: ValidationError) -> InputError:
    first = e.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return InputError(f"{tr(FIELD_LABELS[kind])} {loc}", describe_error(first))


def delivery_from_form(f: DeliveryForm) -> tuple[Delivery | None, list[str]]:
    """The ``Delivery`` the section describes (``None``: no target) and notes to show. A new
    Slack address is stored in the keyring here (``slack_target``).

    Raises:
        InputError: naming the section's field at fault (``Deliver › S3 bucket``).
    """
    targets, notes = _targets(f)
    targets += list(f.others)
    if not targets:
        return None, notes
    try:
        return Delivery(targets=targets, after_review=f.after_review), notes
    except ValidationError as e:
        raise InputError(tr("Deliver"), first_problem(e)) from None


def form_from_delivery(d: Delivery | None) -> DeliveryForm:
    """The section's fields for a template's ``Delivery`` (the first target of each kind shown,
    the rest kept in ``others``)."""
    if d is None:
        return DeliveryForm()
    values: dict[str, Any] = {"after_review": d.after_review}
    others: list[Target] = []
    seen: set[str] = set()
    for t in d.targets:
        if t.kind in seen:
            others.append(t)
            continue
        seen.add(t.kind)
        if isinstance(t, S3Target):
            values |= {
                "s3_bucket": t.bucket,
                "s3_key": t.key,
                "s3_endpoint": t.endpoint_url or "",
                "s3_region": t.region or "",
                "s3_public_url": t.public_url or "",
                "s3_access_key_id": t.access_key_id or "",
            }
        elif isinstance(t, WebhookTarget):
            values["webhook_url"] = t.url
        elif isinstance(t, SlackTarget):
            values["slack_kept"] = t
        elif isinstance(t, CmsTarget):
            values |= {"cms_method": t.method, "cms_url": t.url, "cms_body": t.body}
        elif isinstance(t, ShopifyTarget):
            values["shopify_shop"] = t.shop
    return DeliveryForm(**values, others=tuple(others))


def secret_entries(f: DeliveryForm) -> list[tuple[str, str]]:
    """The keyring entries the section's targets read, as (label, entry name): what the user
    may set from the window (``atelier.core.secrets.set_secret``). A Slack address is stored as it is
    typed (``slack_target``)."""
    out: list[tuple[str, str]] = []
    if f.s3_bucket.strip() and f.s3_access_key_id.strip():
        s3 = S3Target(bucket="bucket", access_key_id=f.s3_access_key_id.strip())
        out.append(
            (
                tr("S3 secret key of {key_id}").format(key_id=s3.access_key_id),
                s3.secret_entry() or "",
            )
        )
    if f.webhook_url.strip():
        out.append((tr("Webhook signing secret (whsec_…)"), WebhookTarget(url="x").secret))
    if f.cms_url.strip():
        out.append((tr("CMS token"), CmsTarget(url="x").secret))
    if f.shopify_shop.strip():
        out.append(
            (tr("Shopify Admin API token"), ShopifyTarget(shop=f.shopify_shop).token_entry())
        )
    return out
