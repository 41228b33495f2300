"""Where a batch's images go after they are written: the delivery targets and how they run.

A batch's ``RunSettings.delivery`` holds a ``Delivery``: any combination of targets, "as made"
or "after review", and the retry policy of the outbox (``atelier.store.deliveries``). Targets hold
no credential: each names a secret that ``atelier.core.secrets.get_secret`` finds in the keyring (or an
environment variable), so nothing secret reaches the store, a template file or a report.

Templates (``key``, ``public_url``, the CMS ``url`` and ``body``) take the row's ``{column}``
values and the names in ``BUILTINS``; ``atelier.delivery.checks.check_delivery`` checks them
against a sheet's columns. These models live in ``core`` because ``RunSettings`` and
``BatchConfig`` (``atelier.core.models``) hold them; sending is ``atelier.delivery``'s.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.secrets import secret_kind
from atelier.core.url_secrets import credential_key, without_secrets

BUILTINS = (
    "file",
    "name",
    "stem",
    "sample",
    "job",
    "seq",
    "batch",
    "version",
    "url",
    "bucket",
    "key",
    "channel",
)
"""Names every delivery template may use beside the row's columns: ``file`` (the image's path
in the output folder under the job's own name, ``shoes/cup.png``), ``name`` (``cup.png``),
``stem`` (``cup``), ``sample`` (1-based), ``job`` (its id), ``seq`` (1-based position),
``batch`` (id), ``version``, and, once stored, ``url``, ``bucket`` and ``key``; ``channel``
is the channel id of a channel's rendition (``atelier.delivery.channels``), empty for the image
as made."""

SEEDS_CACHE_CONTROL = "public, max-age=31536000"
"""The seeds' pipeline's Cache-Control for delivered images (one year, public)."""


class BaseTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    """A label shown in the window and the report (default: the kind and a number)."""


class S3Target(BaseTarget):
    """An S3-compatible bucket (AWS S3, R2, MinIO, B2, Wasabi).

    ``key`` is a template made safe as file names are (``atelier.sheet.templates.safe_relative_path``);
    ``public_url`` a template of the address the report and later targets use (default: AWS's
    virtual-hosted address, or ``{endpoint}/{bucket}/{key}`` with an endpoint). Credentials:
    with ``access_key_id``, its secret from the keyring entry ``s3:<access_key_id>``; without,
    boto3's standard chain (``AWS_ACCESS_KEY_ID``…, ``~/.aws``, profiles).
    """

    kind: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3, max_length=63)
    key: str = "{file}"
    endpoint_url: str | None = None
    region: str | None = None
    content_type: str | None = None
    """``None``: from the file's format (``image/png``)."""
    cache_control: str | None = SEEDS_CACHE_CONTROL
    public_url: str | None = None
    access_key_id: str | None = None

    def secret_entry(self) -> str | None:
        """The keyring entry of the secret access key (``None``: the AWS credential chain)."""
        return f"s3:{self.access_key_id}" if self.access_key_id else None


WebhookEvent = Literal["image.completed", "job.failed", "batch.finished"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("image.completed", "job.failed", "batch.finished")


class WebhookTarget(BaseTarget):
    """An HTTPS endpoint receiving Standard Webhooks 1.0 messages (``image.completed``,
    ``job.failed``, ``batch.finished``), signed with the ``whsec_`` secret of the keyring entry
    ``secret`` (else ``ATELIER_WEBHOOK_SECRET``; no secret: unsigned)."""

    kind: Literal["webhook"] = "webhook"
    url: str
    secret: str = "webhook"
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))


class SlackTarget(BaseTarget):
    """A Slack incoming webhook: a started and a finished message. The webhook address is
    itself a credential, so the target names its keyring entry (``url_secret``, else
    ``ATELIER_SLACK_WEBHOOK``) and ``shown`` keeps a redacted form for the window."""

    kind: Literal["slack"] = "slack"
    url_secret: str = "slack"
    shown: str = ""


class CmsTarget(BaseTarget):
    """One HTTP call per delivered image (the seeds' ``PATCH /api/products/{SKU}``).

    ``headers`` values are templates too and may hold ``{secret}``: the keyring entry
    ``secret`` (else ``ATELIER_CMS_TOKEN``). ``body`` renders to JSON (values are JSON-escaped).
    """

    kind: Literal["cms"] = "cms"
    method: Literal["POST", "PUT", "PATCH"] = "PATCH"
    url: str
    body: str = '{"image_url": "{url}"}'
    headers: dict[str, str] = Field(default_factory=lambda: {"Authorization": "Bearer {secret}"})
    secret: str = "cms"


class ShopifyTarget(BaseTarget):
    """Attach each delivered image to its product, found by handle, through the Admin GraphQL
    API (``shop``: ``my-shop`` or ``my-shop.myshopify.com``; token: keyring entry
    ``shopify:<shop>``, else ``ATELIER_SHOPIFY_TOKEN``). ``endpoint`` overrides the address
    (tests, a proxy)."""

    kind: Literal["shopify"] = "shopify"
    shop: str
    handle_column: str = "Handle"
    alt_column: str | None = "Title"
    api_version: str = "2025-10"
    endpoint: str | None = None

    def token_entry(self) -> str:
        """The keyring entry of the Admin API token: ``shopify:my-shop.myshopify.com``."""
        return f"shopify:{shop_domain(self.shop)}"


def shop_domain(shop: str) -> str:
    """``my-shop`` or ``https://my-shop.myshopify.com/`` → ``my-shop.myshopify.com``."""
    s = shop.strip().removeprefix("https://").removeprefix("http://").strip("/")
    return s if "." in s else f"{s}.myshopify.com"


Target = Annotated[
    S3Target | WebhookTarget | SlackTarget | CmsTarget | ShopifyTarget, Field(discriminator="kind")
]

STORAGE_KINDS = ("s3",)
"""Targets that give an image its public URL; the others wait for them."""


DEFAULT_WAIT_S = 60.0
"""How long a run waits for its deliveries after its jobs are settled, unless told."""
WAIT_ENV = "ATELIER_DELIVERY_WAIT"
"""The environment variable that sets that wait (seconds) when a batch does not."""


def run_wait_s(delivery: Delivery) -> float:
    """How long a run of a batch delivering ``delivery`` waits for its deliveries once its jobs
    are settled, in seconds: ``delivery.wait_s``, else ``ATELIER_DELIVERY_WAIT`` (a number of
    seconds from 0), else ``DEFAULT_WAIT_S``. A malformed variable counts as unset here
    (``atelier run`` refuses it up front, naming it)."""
    if delivery.wait_s is not None:
        return delivery.wait_s
    try:
        value = float(os.environ.get(WAIT_ENV, "").strip())
    except ValueError:
        return DEFAULT_WAIT_S
    return value if 0 <= value <= 86_400 else DEFAULT_WAIT_S


def attempt_deadline_s(delivery: Delivery) -> float:
    """The most one delivery attempt may take as a whole, in seconds:
    ``delivery.attempt_timeout_s``, else three times ``timeout_s`` and at least 30 s (an
    attempt may make several calls, as Shopify's, and wait out the target's throttle)."""
    if delivery.attempt_timeout_s is not None:
        return delivery.attempt_timeout_s
    return max(3 * delivery.timeout_s, 30.0)


class Delivery(BaseModel):
    """A batch's delivery: its targets, when images go, and the outbox's retry policy.

    ``after_review``: only picked images are delivered, when picked ("deliver after review");
    off: every image as it is written ("deliver as made"). A delivery is tried at most
    ``max_attempts`` times, ``backoff_s`` × 2ⁿ apart (at most ``max_backoff_s``; a
    ``Retry-After`` wins), then it is ``failed`` until ``atelier deliver`` or "Retry
    deliveries". ``timeout_s`` bounds each connect and read of a call (seconds);
    ``attempt_timeout_s`` one attempt as a whole (connect, send, read and a sender's own
    waits together; ``None``: ``attempt_deadline_s``), so a target that trickles its answer
    a byte at a time cannot hold it. ``wait_s``: how long a run waits for its deliveries
    once its jobs are settled (seconds; ``None``: ``run_wait_s``); what is still unfinished
    then stays in the outbox, for ``atelier deliver`` or "Retry deliveries".
    """

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(default_factory=list)
    after_review: bool = False
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_s: float = Field(default=2.0, ge=0)
    max_backoff_s: float = Field(default=300.0, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    attempt_timeout_s: float | None = Field(default=None, gt=0)
    wait_s: float | None = Field(default=None, ge=0, le=86_400)

    @field_validator("targets")
    @classmethod
    def _names(cls, targets: list[BaseTarget]) -> list[BaseTarget]:
        seen: dict[str, int] = {}
        for t in targets:
            kind = t.kind  # type: ignore[attr-defined]
            seen[kind] = seen.get(kind, 0) + 1
            if not t.name:
                t.name = kind if seen[kind] == 1 else f"{kind}-{seen[kind]}"
        names = [t.name for t in targets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                tr("two targets are named {name!r}; give each its own name").format(name=dupes[0])
            )
        return targets

    def has_storage(self) -> bool:
        """Whether a target gives images a URL (the CMS and Shopify targets use it)."""
        return any(t.kind in STORAGE_KINDS for t in self.targets)


# ---- whose credential a target may use, where it sends, what a shared file carries ----------


def secret_fields(target: BaseTarget) -> dict[str, str]:
    """``{field: keyring entry}`` of the secrets a target names itself (the webhook's and the
    CMS's ``secret``, Slack's ``url_secret``); S3's and Shopify's are made from their own key
    id and shop (``secret_entry``, ``token_entry``) and cannot name another."""
    if isinstance(target, (WebhookTarget, CmsTarget)):
        return {"secret": target.secret}
    if isinstance(target, SlackTarget):
        return {"url_secret": target.url_secret}
    return {}


def check_secrets(delivery: Delivery) -> None:
    """Every target names only a secret of its own kind (``cms`` or ``cms:NAME`` for a CMS
    target…), so no target (a shared template's, say) can send another kind's credential,
    such as a Shopify token or a Redis password, to the host it names.
    ``atelier.core.secrets.get_secret`` refuses the same when the secret is looked up.

    Raises:
        InputError: naming the target and field (``delivery cms.secret``).
    """
    for t in delivery.targets:
        kind = t.kind
        for field, entry in secret_fields(t).items():
            if secret_kind(entry) != kind:
                raise InputError(
                    tr("delivery {name}.{field}").format(name=t.name, field=field),
                    tr(
                        "{entry!r} is not a {kind} secret: a {kind} target may use only its "
                        "own ({kind} or {kind}:NAME)"
                    ).format(entry=entry, kind=kind),
                )


def _host(url: str) -> str:
    """The host (and port) of ``url`` without its userinfo; the text itself when it has none."""
    try:
        netloc = urlsplit(url.strip()).netloc.rpartition("@")[2]
    except ValueError:
        netloc = ""
    return netloc or url.strip()


def target_host(target: BaseTarget) -> str:
    """Where a target's calls (and credentials) go: ``cms.example.com``,
    ``my-shop.myshopify.com``, ``mybucket.s3.amazonaws.com``, an endpoint's host."""
    if isinstance(target, S3Target):
        if target.endpoint_url:
            return _host(target.endpoint_url)
        region = f".{target.region}" if target.region else ""
        return f"{target.bucket}.s3{region}.amazonaws.com"
    if isinstance(target, (WebhookTarget, CmsTarget)):
        return _host(target.url)
    if isinstance(target, SlackTarget):
        return target.shown.split("/", 1)[0] or tr(
            "the Slack address in the keyring entry {entry}"
        ).format(entry=target.url_secret)
    if isinstance(target, ShopifyTarget):
        return _host(target.endpoint) if target.endpoint else shop_domain(target.shop)
    return ""


def describe_target(target: BaseTarget) -> str:
    """One line for a list the user confirms: ``cms → cms.example.com``."""
    return f"{target.kind} → {target_host(target)}"  # type: ignore[attr-defined]


def _identity(target: BaseTarget) -> str:
    return target.model_dump_json(exclude={"name"})


def added_targets(new: Delivery | None, old: Delivery | None) -> list[BaseTarget]:
    """The targets of ``new`` that ``old`` does not have (compared on every field but the
    label ``name``): what adopting ``new`` would start sending to."""
    if new is None:
        return []
    known = {_identity(t) for t in old.targets} if old else set()
    return [t for t in new.targets if _identity(t) not in known]


_SCHEMES = {"bearer", "basic", "token", "bot", "digest", "apikey"}


def _header_without_secret(name: str, value: str) -> str:
    """A credential header's value keeps only its scheme word and placeholders: a literal
    token typed in (``Bearer abc123``) becomes ``Bearer {secret}``."""
    if not credential_key(name):
        return value
    rest = re.sub(r"\{[^{}]*\}", "", value).strip()
    if not rest or rest.lower() in _SCHEMES:
        return value
    first = value.split(None, 1)[0]
    return f"{first} {{secret}}" if first.lower() in _SCHEMES else "{secret}"


SECRET_NAME_FIELDS = ("secret", "url_secret", "shown", "access_key_id")
"""Target fields that name (or show part of) a credential of the user's: left out of a shared
file, so each reads its default entry on the reader's machine."""


def shareable(delivery: Delivery) -> dict[str, Any]:
    """``delivery`` as a template file to share carries it (JSON-ready): no keyring entry
    names, S3 access key id or Slack address (``SECRET_NAME_FIELDS``), and no credential
    written into an address or a credential header (a CMS's becomes ``{secret}``, the
    reader's own token; a webhook's or an endpoint's is dropped, a secret path segment
    replaced)."""
    doc = delivery.model_dump(mode="json")
    for data in doc["targets"]:
        for field in SECRET_NAME_FIELDS:
            data.pop(field, None)
        kind = data["kind"]
        if kind == "webhook":
            data["url"] = without_secrets(data["url"])
        elif kind == "cms":
            data["url"] = without_secrets(data["url"], "{secret}", paths=False)
            data["headers"] = {k: _header_without_secret(k, v) for k, v in data["headers"].items()}
        elif kind == "s3":
            for field in ("endpoint_url", "public_url"):
                if data[field]:
                    data[field] = without_secrets(data[field], paths=False)
        elif kind == "shopify" and data["endpoint"]:
            data["endpoint"] = without_secrets(data["endpoint"])
    return doc
