"""The HTTP delivery targets: Standard Webhooks, Slack incoming webhooks and a CMS call.

Wire facts, with their sources (kept in ``docs/integrations.md``):

* Standard Webhooks 1.0 (standardwebhooks.com, spec ``spec/standard-webhooks.md``): headers
  ``webhook-id`` (the message's id, the same on every retry), ``webhook-timestamp`` (Unix
  seconds of this attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
  "{id}.{timestamp}.{body}">``, keyed by the base64 secret after ``whsec_``). Signing is the
  ``standardwebhooks`` package's own ``Webhook.sign``.
* Slack incoming webhooks (api.slack.com/messaging/webhooks): ``POST`` JSON ``{"text": …}``;
  success is 200 with body ``ok``; errors are plain-text bodies (``invalid_payload``,
  ``no_service``…); 429 with ``Retry-After``. Slack's rate limit for them is about one message
  per second (api.slack.com/docs/rate-limits, "Incoming webhooks"), hence ``min_interval_s``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from atelier.core.delivery_config import CmsTarget, SlackTarget, WebhookTarget
from atelier.core.i18n import tr
from atelier.core.redact import MIN_EXTRA, register_secret
from atelier.core.secrets import SecretCache
from atelier.delivery.base import (
    DeliveryError,
    Parcel,
    check_response,
    check_target_host,
    network_error,
    render,
)
from atelier.delivery.urls import literal_url, render_url


class _HttpSender:
    concurrency = 4
    min_interval_s = 0.0

    def __init__(self, name: str, timeout_s: float) -> None:
        self.name = name
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self.secrets = SecretCache()
        self._checked: set[str] = set()

    def secret_values(self) -> list[str]:
        """The secrets this sender has read (what ``redact_for`` replaces)."""
        return self.secrets.values()

    async def _call(
        self, what: str, method: str, url: str, content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """Send one request to ``url`` (the target's own address: a host the user set, so a
        private one is allowed, a metadata one never, ``atelier.core.addresses``); no redirect is
        followed."""
        host = httpx.URL(url).host
        if host not in self._checked:
            await check_target_host(self.name, host)
            self._checked.add(host)
        try:
            r = await self._client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as e:
            raise network_error(what, e) from e
        check_response(what, r)
        return r

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def webhook_body(payload: dict[str, Any]) -> str:
    """The exact bytes a webhook signs and sends (compact JSON, UTF-8 kept)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class WebhookSender(_HttpSender):
    """Sends Standard Webhooks messages to ``target.url`` (unsigned when no secret exists,
    which the window and the CLI warn about when the batch is set up)."""

    def __init__(self, target: WebhookTarget, timeout_s: float = 30.0) -> None:
        super().__init__(target.name, timeout_s)
        self.target = target

    async def send(self, parcel: Parcel) -> str | None:
        """POST the frozen payload with this attempt's timestamp and signature."""
        url = literal_url(self.target.url, tr("delivery {name}.url").format(name=self.name))
        body = webhook_body(parcel.payload)
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": parcel.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        secret = self.secrets.get(self.target.secret, "webhook")
        if secret:
            try:
                signer = Webhook(secret)
            except Exception as e:  # the library raises bare errors for a malformed secret
                raise DeliveryError(
                    tr("delivery {name}: the webhook secret is not a whsec_ base64 secret").format(
                        name=self.name
                    ),
                    retryable=False,
                ) from e
            headers["webhook-signature"] = signer.sign(parcel.message_id, now, body)
        await self._call(f"webhook {url}", "POST", url, body.encode(), headers)
        return None


class SlackSender(_HttpSender):
    """Posts ``{"text": …}`` messages to a Slack incoming webhook, one at a time."""

    concurrency = 1
    min_interval_s = 1.0

    def __init__(self, target: SlackTarget, timeout_s: float = 30.0) -> None:
        super().__init__(target.name, timeout_s)
        self.target = target

    async def send(self, parcel: Parcel) -> str | None:
        """POST the message; Slack's plain-text error body becomes the error."""
        address = self.secrets.get(self.target.url_secret, "slack")
        if not address:
            raise DeliveryError(
                tr(
                    "delivery {name}: no Slack webhook address in the keyring entry {entry!r} (or ATELIER_SLACK_WEBHOOK)"
                ).format(name=self.name, entry=self.target.url_secret),
                retryable=False,
            )
        url = literal_url(
            address, tr("delivery {name}: the Slack webhook address").format(name=self.name)
        )
        body = json.dumps(parcel.payload, ensure_ascii=False).encode()
        r = await self._call(
            "Slack", "POST", url, body, {"content-type": "application/json; charset=utf-8"}
        )
        if r.text.strip() not in ("ok", ""):
            raise DeliveryError(f"Slack: {r.text[:200]}", retryable=False)
        return None


class CmsSender(_HttpSender):
    """One templated JSON call per image (``CmsTarget``); returns the address it called."""

    def __init__(self, target: CmsTarget, timeout_s: float = 30.0) -> None:
        super().__init__(target.name, timeout_s)
        self.target = target

    async def send(self, parcel: Parcel) -> str | None:
        """Render the URL, headers and body from the image's values and send them."""
        t = self.target
        values = dict(parcel.values)
        if any("{secret}" in v for v in [t.url, t.body, *t.headers.values()]):
            secret = self.secrets.get(t.secret, "cms")
            if not secret:
                raise DeliveryError(
                    tr(
                        "delivery {name}: no token in the keyring entry {entry!r} (or ATELIER_CMS_TOKEN)"
                    ).format(name=t.name, entry=t.secret),
                    retryable=False,
                )
            # Registered however short: it may go in the address, which is logged (httpx's
            # request line) and recorded, and every log record passes ``atelier.core.redact``.
            register_secret(secret, min_length=MIN_EXTRA)
            values["secret"] = secret
        url = render_url(
            t.url, values, tr("delivery {name}.url").format(name=t.name), row=parcel.row
        )
        body = render(
            t.body, values, tr("delivery {name}.body").format(name=t.name), json_values=True
        )
        try:
            json.loads(body)
        except ValueError as e:
            raise DeliveryError(
                tr("delivery {name}.body is not JSON once filled: {reason}").format(
                    name=t.name, reason=e
                ),
                retryable=False,
            ) from e
        headers = {"content-type": "application/json"} | {
            k: render(
                v, values, tr("delivery {name}.headers.{header}").format(name=t.name, header=k)
            )
            for k, v in t.headers.items()
        }
        await self._call(f"{t.method} {url}", t.method, url, body.encode(), headers)
        return url
