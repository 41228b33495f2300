"""Where a batch's images go after they are written: the delivery targets and how they run.

A batch's ``RunSettings.delivery`` holds a ``Delivery``: any combination of targets, "as made"
or "after review", and the retry policy of the outbox (``app.store.deliveries``). Targets hold
no credential: each names a secret that ``app.secrets.get_secret`` finds in the keyring (or an
environment variable), so nothing secret reaches the store, a template file or a report.

Templates (``key``, ``public_url``, the CMS ``url`` and ``body``) take the row's ``{column}``
values and the names in ``BUILTINS``; ``check_delivery`` checks them against a sheet's columns.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.delivery.base import placeholders
from app.errors import InputError
from app.i18n import tr
from app.templates import describe_unknown

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
)
"""Names every delivery template may use beside the row's columns: ``file`` (the image's path
in the output folder under the job's own name, ``shoes/cup.png``), ``name`` (``cup.png``),
``stem`` (``cup``), ``sample`` (1-based), ``job`` (its id), ``seq`` (1-based position),
``batch`` (id), ``version``, and, once stored, ``url``, ``bucket`` and ``key``."""

SEEDS_CACHE_CONTROL = "public, max-age=31536000"
"""The seeds' pipeline's Cache-Control for delivered images (one year, public)."""


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    """A label shown in the window and the report (default: the kind and a number)."""


class S3Target(_Target):
    """An S3-compatible bucket (AWS S3, R2, MinIO, B2, Wasabi).

    ``key`` is a template made safe as file names are (``app.templates.safe_relative_path``);
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


class WebhookTarget(_Target):
    """An HTTPS endpoint receiving Standard Webhooks 1.0 messages (``image.completed``,
    ``job.failed``, ``batch.finished``), signed with the ``whsec_`` secret of the keyring entry
    ``secret`` (else ``ATELIER_WEBHOOK_SECRET``; no secret: unsigned)."""

    kind: Literal["webhook"] = "webhook"
    url: str
    secret: str = "webhook"
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))


class SlackTarget(_Target):
    """A Slack incoming webhook: a started and a finished message. The webhook address is
    itself a credential, so the target names its keyring entry (``url_secret``, else
    ``ATELIER_SLACK_WEBHOOK``) and ``shown`` keeps a redacted form for the window."""

    kind: Literal["slack"] = "slack"
    url_secret: str = "slack"
    shown: str = ""


class CmsTarget(_Target):
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


class ShopifyTarget(_Target):
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
    def _names(cls, targets: list[_Target]) -> list[_Target]:
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


def templates_of(target: _Target) -> dict[str, str]:
    """``{field: template}`` of a target's templated fields."""
    if isinstance(target, S3Target):
        out = {"key": target.key}
        if target.public_url:
            out["public_url"] = target.public_url
        return out
    if isinstance(target, CmsTarget):
        return {"url": target.url, "body": target.body} | {
            f"headers.{k}": v for k, v in target.headers.items()
        }
    return {}


def check_delivery(delivery: Delivery, columns: list[str]) -> None:
    """Every template names a column of the sheet (``columns``) or a name in ``BUILTINS``; a
    CMS or Shopify target that needs a URL has a storage target before it.

    Raises:
        InputError: naming the target and field (``delivery s3.key``) and the unknown column,
            with the nearest column name.
    """
    known = [*columns, *BUILTINS, "secret"]
    for t in delivery.targets:
        for field, text in templates_of(t).items():
            where = tr("delivery {name}.{field}").format(name=t.name, field=field)
            names = placeholders(text, where, json_body=field == "body")
            unknown = [n for n in names if n not in known]
            if unknown:
                raise InputError(where, describe_unknown(where, unknown, columns))
        if isinstance(t, CmsTarget) and "{url}" in t.body + t.url and not delivery.has_storage():
            raise InputError(
                tr("delivery {name}").format(name=t.name),
                tr(
                    "the CMS call uses {url}, which needs a storage target (S3) to deliver to first"
                ),
            )
        if isinstance(t, ShopifyTarget) and columns and t.handle_column not in columns:
            raise InputError(
                tr("delivery {name}.handle_column").format(name=t.name),
                describe_unknown(
                    tr("delivery {name}").format(name=t.name), [t.handle_column], columns
                ),
            )
