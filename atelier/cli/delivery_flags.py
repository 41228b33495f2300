"""``atelier run``'s delivery flags → the batch's ``Delivery`` (added to a config's or a
template's targets)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from atelier.cli.args import bounded, from_env
from atelier.cli.url_flags import ps_note
from atelier.core.delivery_config import (
    WAIT_ENV,
    CmsTarget,
    Delivery,
    S3Target,
    ShopifyTarget,
    SlackTarget,
    WebhookTarget,
)
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.secrets import get_secret
from atelier.core.validation_messages import first_problem
from atelier.delivery.forms import slack_target


def add_arguments(r: argparse.ArgumentParser) -> None:
    """The delivery flags of ``atelier run``."""
    g = r.add_argument_group(tr("delivery (see docs/integrations.md)"))
    _add_s3_arguments(g)
    _add_message_arguments(g)
    _add_when_arguments(g)


def _add_s3_arguments(g: argparse._ArgumentGroup) -> None:
    """The S3 target's flags."""
    g.add_argument(
        "--deliver",
        action="append",
        metavar="s3://BUCKET/PREFIX",
        help=tr("upload each image to BUCKET under PREFIX (may hold {column}s) + its file name"),
    )
    g.add_argument(
        "--s3-endpoint",
        metavar="URL",
        help=tr("S3-compatible endpoint (R2, MinIO…); {ps}").format(ps=ps_note()),
    )
    g.add_argument("--s3-region", metavar="REGION")
    g.add_argument(
        "--s3-public-url", metavar="TEMPLATE", help=tr("public address, e.g. https://cdn/{key}")
    )
    g.add_argument(
        "--s3-access-key-id",
        metavar="ID",
        help=tr("its secret from the keyring entry s3:ID (default: the AWS credential chain)"),
    )


def _add_message_arguments(g: argparse._ArgumentGroup) -> None:
    """The webhook, Slack, CMS and Shopify targets' flags."""
    g.add_argument(
        "--webhook",
        action="append",
        metavar="URL",
        help=tr(
            "Standard Webhooks target ({ps}: write an address holding a secret in a batch "
            "config file)"
        ).format(ps=ps_note()),
    )
    g.add_argument(
        "--slack",
        action="store_true",
        help=tr(
            "post to the Slack incoming webhook kept in the keyring "
            '(echo "$URL" | atelier secret set slack) or in ATELIER_SLACK_WEBHOOK'
        ),
    )
    g.add_argument(
        "--slack-webhook",
        metavar="URL",
        help=tr(
            "Slack incoming webhook given here: the address is its secret and shows in ps "
            "(prefer --slack)"
        ),
    )
    g.add_argument(
        "--cms-request",
        nargs=3,
        metavar=("METHOD", "URL", "BODY"),
        help=tr(
            "one call per image, e.g. PATCH 'https://cms/api/products/{SKU}' "
            '\'{"image_url": "{url}"}\' (token: keyring entry cms or ATELIER_CMS_TOKEN, '
            "sent as Bearer {secret}; a token written in the URL shows in ps)"
        ),
    )
    g.add_argument("--shopify-store", metavar="SHOP", help=tr("attach picked images to products"))


def _add_when_arguments(g: argparse._ArgumentGroup) -> None:
    """When deliveries happen and how long the run waits for them."""
    g.add_argument(
        "--deliver-after-review",
        action="store_true",
        help=tr("deliver only picked images, when picked (default: as made)"),
    )
    g.add_argument(
        "--delivery-wait",
        type=bounded(Delivery, "wait_s", float, unit=" s"),
        metavar="SECONDS",
        help=tr(
            "once the images are made, wait at most SECONDS for deliveries (default: "
            "ATELIER_DELIVERY_WAIT, else 60); unfinished ones stay in the outbox, counted as "
            "pending in the report, and 'atelier deliver BATCH' sends them. The exit code "
            "counts jobs only: deliveries failed or left pending do not change it"
        ),
    )


def _s3(spec: str, args: argparse.Namespace) -> S3Target:
    parts = urlsplit(spec)
    if parts.scheme != "s3" or not parts.netloc:
        raise InputError("--deliver", tr("{spec!r} is not s3://BUCKET/PREFIX").format(spec=spec))
    prefix = parts.path.strip("/")
    return S3Target(
        bucket=parts.netloc,
        key=f"{prefix}/{{file}}" if prefix else "{file}",
        endpoint_url=args.s3_endpoint,
        region=args.s3_region,
        public_url=args.s3_public_url,
        access_key_id=args.s3_access_key_id,
    )


def _keyring_slack() -> SlackTarget:
    """The Slack target of ``--slack``: the address in the keyring entry ``slack`` or
    ``ATELIER_SLACK_WEBHOOK``, never on the command line.

    Raises:
        InputError: neither holds an http(s) address (named ``--slack``).
    """
    url = get_secret("slack", "slack")
    host = urlsplit(url).netloc if url else ""
    if not url or not host:
        raise InputError(
            "--slack",
            tr(
                "no Slack webhook address in the keyring entry slack "
                '(echo "$URL" | atelier secret set slack) or ATELIER_SLACK_WEBHOOK'
            ),
        )
    return SlackTarget(shown=f"{host}/…")


def delivery_from_args(
    args: argparse.Namespace, base: Delivery | None
) -> tuple[Delivery | None, list[str]]:
    """``base`` (a config's or template's delivery) with the flags' targets added, and notes
    to show. Raises ``InputError`` naming the flag."""
    targets: list[Any] = list(base.targets) if base else []
    notes: list[str] = []
    try:
        targets += [_s3(s, args) for s in args.deliver or []]
        targets += [WebhookTarget(url=u) for u in args.webhook or []]
        if args.webhook and not get_secret("webhook"):
            notes.append(
                tr(
                    "webhooks will be unsigned: no secret in the keyring entry webhook "
                    "(atelier secret set webhook) or ATELIER_WEBHOOK_SECRET"
                )
            )
        if args.slack:
            targets.append(_keyring_slack())
        if args.slack_webhook:
            slack, note = slack_target(args.slack_webhook, "--slack-webhook")
            targets.append(slack)
            notes += [note] if note else []
        if args.cms_request:
            method, url, body = args.cms_request
            targets.append(CmsTarget(method=method.upper(), url=url, body=body))
        if args.shopify_store:
            targets.append(ShopifyTarget(shop=args.shopify_store))
    except ValidationError as e:
        raise InputError(tr("delivery flags"), first_problem(e)) from None
    if not targets:
        return None, notes
    after = args.deliver_after_review or (base.after_review if base else False)
    data = (base.model_dump() if base else {}) | {"targets": targets, "after_review": after}
    # The flag, then the config's or template's, then the environment (checked here, so a
    # malformed value exits 2 naming the variable); stored with the batch for a resume.
    wait = getattr(args, "delivery_wait", None)
    if wait is None and data.get("wait_s") is None:
        wait = from_env(WAIT_ENV, bounded(Delivery, "wait_s", float, unit=" s"))
    if wait is not None:
        data["wait_s"] = wait
    try:
        return Delivery.model_validate(data), notes
    except ValidationError as e:
        raise InputError("delivery", first_problem(e)) from None
