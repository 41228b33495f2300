"""Reaching the team queue's Redis: the address, its password (from the keyring), TLS, and
retries through a server restart that give up at once on what waiting cannot fix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.secrets import get_secret


class QueueError(AtelierError):
    """The team queue cannot be reached or refuses us (its message names the address)."""


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and the store."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def queue_secret_name(url: str) -> str:
    """The keyring name of a queue's password: ``redis:<user>@<host>:<port>`` (``ATELIER_
    REDIS_PASSWORD`` when not in the keyring)."""
    p = urlsplit(url)
    return f"redis:{p.username or 'default'}@{p.hostname}:{p.port or 6379}"


def _transient(e: Exception) -> bool:
    # redis-py counts a refused password and a failed TLS handshake as connection errors:
    # retrying them only delays the message the user needs.
    if isinstance(e, (AuthenticationError, AuthorizationError)):
        return False
    return "SSL" not in str(e) and "certificate" not in str(e)


class _TransientRetry(Retry):
    """``Retry`` that gives up at once on what waiting cannot fix (``_transient``)."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[Any]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        return await super().call_with_retry(do, fail, _transient, with_failure_count)


def connect(url: str, retries: int = 40) -> aioredis.Redis:
    """A client for ``url`` (``redis://[user@]host:port/db`` or ``rediss://`` for TLS). A
    password not written in the URL comes from the keyring (``queue_secret_name``) or
    ``ATELIER_REDIS_PASSWORD``. Commands are retried ``retries`` times with backoff (up to
    2 s apart: about a minute with the default), through a restart of the server.

    Raises:
        QueueError: ``url`` is not a redis:// or rediss:// address.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise QueueError(
            tr(
                "{url} is not a Redis address: write redis://HOST:PORT/DB (rediss:// for TLS)."
            ).format(url=safe_url(url))
        )
    kwargs: dict[str, Any] = {}
    if parts.password is None:
        password = get_secret(queue_secret_name(url))
        if password:
            kwargs["password"] = password
    return aioredis.Redis.from_url(
        url,
        retry=_TransientRetry(ExponentialBackoff(cap=2.0, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=10,
        **kwargs,
    )
