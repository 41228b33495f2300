"""What every delivery sender shares: the parcel it sends, the error it raises, and the one
rule for which failures are worth another attempt.

Retry rule (Standard Webhooks 1.0, "Retry schedule", applied to every target): network errors,
timeouts, 408, 429 and 5xx are retried with backoff, honouring ``Retry-After``; any other 4xx
(400 a malformed call, 401/403 wrong credentials, 404 no such bucket or product) is permanent
for this attempt's policy, and stays ``failed`` until the user retries deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from atelier.core.addresses import AddressRefusedError, check_host
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.redact import redact
from atelier.sheet.templates import Template

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    """One delivery attempt failed.

    Attributes:
        retryable: another attempt may succeed (``RETRYABLE_STATUS``, network, timeout).
        http_status: the target's HTTP status, when it answered.
        retry_after_s: what the target asked for (``Retry-After``, a throttle), seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(redact(message))
        self.retryable = retryable
        self.http_status = http_status
        self.retry_after_s = retry_after_s


@dataclass
class Parcel:
    """What one outbox row sends.

    Attributes:
        event: ``image.completed``, ``job.failed``, ``batch.started`` or ``batch.finished``.
        message_id: stable across attempts (the webhook-id).
        values: the template context: the row's columns and ``BUILTINS``.
        path: the image file, for image events.
        payload: the event's JSON body (webhooks, Slack), frozen at the first attempt.
        attempt: this attempt's number (1-based); a later one may find the target already
            holding what an earlier attempt sent before a crash (``S3Sender`` looks first).
        row: names the image's row in messages (``row 4``, or ``job 4`` for a job that came
            from no sheet); empty for a batch's own messages.
    """

    event: str
    message_id: str
    values: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1
    row: str = ""


class Sender(Protocol):
    """One target's sender: ``send`` returns what the target gave back (a URL, a product id,
    ``None``) and raises ``DeliveryError``."""

    name: str
    concurrency: int
    min_interval_s: float

    async def send(self, parcel: Parcel) -> str | None:
        """Deliver ``parcel``. Raises ``DeliveryError``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (delta-seconds form; an HTTP date is treated as absent)."""
    raw = headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


def check_response(what: str, r: httpx.Response) -> None:
    """Raise ``DeliveryError`` for a non-2xx answer, retryable per the module's rule, with the
    start of the body (targets explain themselves there: Slack's ``invalid_payload``)."""
    if r.is_success:
        return
    body = r.text[:200].strip()
    raise DeliveryError(
        f"{what}: HTTP {r.status_code}" + (f" {body}" if body else ""),
        retryable=r.status_code in RETRYABLE_STATUS,
        http_status=r.status_code,
        retry_after_s=retry_after(r.headers),
    )


def network_error(what: str, e: httpx.HTTPError) -> DeliveryError:
    """A retryable ``DeliveryError`` for a connection failure or timeout."""
    kind = tr("timed out") if isinstance(e, httpx.TimeoutException) else tr("could not connect")
    return DeliveryError(f"{what}: {kind} ({type(e).__name__})", retryable=True)


# In a JSON body template the object's own braces enclose quotes; a placeholder never does.
_JSON_PLACEHOLDER = re.compile(r"\{([^{}\"\n]+)\}")


def placeholders(text: str, where: str, *, json_body: bool = False) -> list[str]:
    """The placeholders of a delivery template (a JSON body's: ``{name}`` without quotes).

    Raises:
        InputError: an unbalanced brace in a plain template.
    """
    if json_body:
        return list(dict.fromkeys(_JSON_PLACEHOLDER.findall(text)))
    return Template.parse(text, where).placeholders


def render(text: str, values: dict[str, str], where: str, *, json_values: bool = False) -> str:
    """Fill a delivery template. ``json_values``: a JSON body, each value JSON-escaped so the
    body stays valid JSON whatever a product title holds (quotes, CJK, newlines).

    Raises:
        DeliveryError: (not retryable) a placeholder the values lack, or a broken template.
    """
    try:
        names = placeholders(text, where, json_body=json_values)
    except InputError as e:
        raise DeliveryError(str(e), retryable=False) from e
    missing = [p for p in names if p not in values]
    if missing:
        raise DeliveryError(
            tr("{where}: no value for {{{name}}}").format(where=where, name=missing[0]),
            retryable=False,
        )
    if json_values:
        esc = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in values.items()}
        return _JSON_PLACEHOLDER.sub(lambda m: esc[m.group(1)], text)
    return Template.parse(text, where).render(values)[0]


async def check_target_host(name: str, host: str, *, user_set: bool = True) -> None:
    """The address guard (``atelier.core.addresses.check_host``) of one call of the delivery target
    ``name``: its own configured host (``user_set``: a private address is allowed there, a
    cloud metadata or link-local one never), or an address it was handed back (public only).

    Raises:
        DeliveryError: (permanent) naming the target and the host; nothing was sent.
    """
    try:
        await check_host(host, user_set=user_set)
    except AddressRefusedError as e:
        message = (
            tr(
                "delivery {name}: {host} is a cloud metadata or link-local address; Atelier never calls it, nothing was sent"
            )
            if e.kind == "metadata"
            else tr(
                "delivery {name}: {host} is on a private or local network and was handed back by the target, not set by you; nothing was sent"
            )
        )
        raise DeliveryError(message.format(name=name, host=host), retryable=False) from None


def redact_for(sender: object, text: str) -> str:
    """``text`` (an address, an error) as it may be recorded or shown: ``atelier.core.redact.redact``
    with the secrets ``sender`` used (its ``secret_values()``, when it has one), in every form
    they take in a URL, so a token sent as ``?access_token={secret}`` is not written down."""
    values = getattr(sender, "secret_values", None)
    return redact(text, values() if callable(values) else ())


_T = TypeVar("_T")


async def in_daemon_thread(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` on a daemon thread of its own, awaited: a blocking client's call (boto3)
    that a deadline abandoned may still hang on a dead target, and neither the loop's
    executor (``asyncio.run`` joins it on exit) nor the interpreter may wait for it, or the
    target would hold ``atelier run`` after all. Raises what ``fn`` raises."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[_T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not fut.done():  # abandoned (cancelled) already: nobody waits for it
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def work() -> None:
        value: Any
        try:
            value, ok = fn(*args), True
        except BaseException as e:  # handed to the awaiting coroutine, as to_thread does
            value, ok = e, False
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for it
            loop.call_soon_threadsafe(settle, ok, value)

    threading.Thread(target=work, name="atelier-delivery-call", daemon=True).start()
    return await fut
