"""What the HTTP providers share: one pooled httpx client, transport-error mapping,
Retry-After parsing, result downloads and polling.

Status-code defaults follow ``design.md``'s error classes: 401/403 ``auth``, 402
``payment_required``, 408/504 ``timeout``, 429 ``rate_limit``, other 4xx ``invalid_request``,
5xx ``server_error``. Each adapter first maps its own machine-readable codes (never message
text, see providers.md) and falls back to these.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import httpx

from atelier.core.addresses import AddressRefusedError, check_host
from atelier.core.backoff import Backoff, poll, retry
from atelier.core.errors import ErrorClass, ProviderError, describe_exception
from atelier.core.i18n import tr
from atelier.core.redact import register_secret
from atelier.providers.base import Capabilities, Provider
from atelier.providers.http_errors import default_error as default_error
from atelier.providers.http_errors import error_body as error_body
from atelier.providers.http_errors import validation_errors as validation_errors

T = TypeVar("T")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
#: Largest response body read into memory (a 4K PNG is ~25 MB; anything far beyond is broken).
MAX_BODY_BYTES = 100_000_000


def parse_duration_s(text: str) -> float | None:
    """``"1m30s"`` → 90.0, ``"12ms"`` → 0.012, ``"40s"`` → 40.0 (OpenAI ``x-ratelimit-reset-*``
    and Google ``RetryInfo.retryDelay`` formats); ``None`` when unreadable."""
    parts = _DURATION.findall(text.strip())
    if not parts:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (read first) or ``retry-after`` (seconds or an
    HTTP date), as the OpenAI SDK reads them; ``None`` when absent or unreadable."""
    ms = headers.get("retry-after-ms")
    if ms:
        with contextlib.suppress(ValueError):
            return max(0.0, float(ms) / 1000)
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


MAX_REDIRECTS = 5
DOWNLOAD_TRIES = 3  # a paid result's download, before the job is sent (and paid) again
DOWNLOAD_BACKOFF = Backoff(0.5, 2.0, retry_after_cap_s=10.0)
"""0.5 s, then 1 s between a download's tries (a server's Retry-After, up to 10 s, wins)."""
REDIRECTS = (301, 302, 303, 307, 308)
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "x-key", "x-goog-api-key", "x-api-key", "api-key", "cookie"}
)


def _origin(u: httpx.URL) -> tuple[str, str, int | None]:
    return (u.scheme, u.host, u.port)


def _without_credentials(kw: dict[str, Any]) -> dict[str, Any]:
    """Request options for another origin: no credential header, no client-level auth."""
    headers = {
        k: v for k, v in (kw.get("headers") or {}).items() if k.lower() not in CREDENTIAL_HEADERS
    }
    return {**kw, "headers": headers, "auth": None}


class HttpProvider(Provider):
    """A provider that talks HTTP through one pooled ``httpx.AsyncClient``.

    Subclasses set ``capabilities`` and implement ``generate``; ``classify`` turns an error
    response into a ``ProviderError``. Messages name the provider by ``capabilities.label``.
    """

    default_timeout_s: ClassVar[float] = 300.0
    """One request's read timeout when none is given (self-hosted GPUs are given longer)."""
    max_timeout_s: ClassVar[float | None] = None
    """A cap on that timeout (fal's queue requests answer at once: 120 s)."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout_s: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_interval_s: float = 1.0,
    ) -> None:
        """The shared HTTP options of every adapter (keyword-only, so a subclass adds its own
        options and passes these on as ``**http``): ``timeout_s`` per request (seconds),
        ``transport`` for tests, ``poll_interval_s`` between polls of a queued job."""
        caps: Capabilities = self.capabilities
        timeout_s = timeout_s or self.default_timeout_s
        if self.max_timeout_s is not None:
            timeout_s = min(timeout_s, self.max_timeout_s)
        base = (base_url or caps.default_base_url).rstrip("/")
        register_secret(api_key)  # whoever made this provider, its key is redacted everywhere
        super().__init__(api_key, base)
        self.base_url: str = base  # never None here: the provider's public endpoint by default
        self.poll_interval_s = poll_interval_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=15.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
            follow_redirects=False,  # request() follows them, checking every hop
        )
        self._base_host = httpx.URL(base).host
        self._checked_hosts: set[str] = set()

    def need_key(self) -> str:
        """The key, or an ``auth`` error that says where to put one."""
        if not self._key:
            env = self.capabilities.key_env_var
            raise ProviderError(
                ErrorClass.AUTH,
                (
                    tr("No {provider} API key: add one in Settings → Providers or set {env}.")
                    if env
                    else tr("No {provider} API key: add one in Settings → Providers.")
                ).format(provider=self.label, env=env),
            )
        return self._key

    def classify(self, resp: httpx.Response) -> ProviderError:
        """Map an error response (status ≥ 400); adapters override for their own codes."""
        return default_error(
            resp.status_code, self.label, retry_after_s=parse_retry_after(resp.headers)
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...] = (),
        limit: int = MAX_BODY_BYTES,
        **kw: Any,
    ) -> httpx.Response:
        """Send one request, following at most ``MAX_REDIRECTS`` redirects ourselves: every hop
        is checked by ``check_url`` (a provider's answer cannot make us fetch a private
        address), and no credential crosses to another origin (httpx keeps ``x-key``,
        ``x-goog-api-key`` and fal's ``Authorization: Key`` on a cross-origin redirect).
        Transport failures become ``timeout``/``network`` errors and error statuses go through
        ``classify`` (except those listed in ``ok``).

        The body is streamed and abandoned past ``limit`` bytes (``MAX_BODY_BYTES``), so a
        broken server cannot make us buffer gigabytes.
        """
        for _hop in range(MAX_REDIRECTS + 1):
            await self.check_url(url)
            full = await self._send(method, url, limit, **kw)
            location = full.headers.get("location")
            if full.status_code not in REDIRECTS or not location:
                break
            nxt = full.url.join(location)
            if nxt.scheme not in ("http", "https") or _origin(nxt) != _origin(full.url):
                kw = _without_credentials(kw)
            if full.status_code in (301, 302, 303) and method != "HEAD":
                method = "GET"  # as browsers and httpx do; the body is not sent again
                kw = {k: v for k, v in kw.items() if k not in ("json", "content", "data", "files")}
            url = str(nxt)
        else:
            raise ProviderError(
                ErrorClass.NETWORK,
                tr(
                    "{provider} redirected more than {limit} times (last to {host}); the request was abandoned."
                ).format(provider=self.label, limit=MAX_REDIRECTS, host=httpx.URL(url).host),
            )
        if full.status_code >= 400 and full.status_code not in ok:
            raise self.classify(full)
        return full

    async def check_url(self, url: str) -> None:
        """Refuse to fetch ``url`` unless it is http(s) on a public address, or on the host of
        the configured base URL (a self-hosted server, a local proxy, the tests' fakes); a cloud
        metadata or link-local address is refused even there (``atelier.core.addresses``).

        Raises:
            ProviderError: ``server_error`` naming the scheme or host refused (an address
                handed back); ``invalid_request`` when the configured host itself is a
                metadata address (never retried: no retry can change it).
        """
        u = httpx.URL(url)
        if u.scheme not in ("http", "https"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr(
                    "{provider} handed back a {scheme}: address; Atelier fetches only http(s)."
                ).format(provider=self.label, scheme=u.scheme or tr("relative")),
            )
        host = u.host
        if host in self._checked_hosts:
            return
        configured = host == self._base_host
        try:
            await check_host(host, user_set=configured)
        except AddressRefusedError as e:
            if configured:
                raise ProviderError(
                    ErrorClass.INVALID_REQUEST,
                    tr(
                        "The {provider} address {host} is a cloud metadata or link-local address; Atelier never calls it."
                    ).format(provider=self.label, host=host),
                ) from None
            if e.kind == "metadata":
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr(
                        "{provider} handed back a cloud metadata or link-local address ({host}); Atelier never calls it."
                    ).format(provider=self.label, host=host),
                ) from None
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr(
                    "{provider} handed back an address on a private or local network ({host}); Atelier does not fetch it."
                ).format(provider=self.label, host=host),
            ) from None
        self._checked_hosts.add(host)

    async def _send(self, method: str, url: str, limit: int, **kw: Any) -> httpx.Response:
        """One request without redirects, its body read within the size bound."""
        try:
            async with self._client.stream(method, url, **kw) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise self._oversized(resp.status_code, int(declared))
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise self._oversized(resp.status_code, size)
                    chunks.append(chunk)
                return httpx.Response(
                    resp.status_code,
                    headers=resp.headers,
                    content=b"".join(chunks),
                    request=resp.request,
                )
        except httpx.TimeoutException as e:
            raise ProviderError(
                ErrorClass.TIMEOUT,
                tr("{provider} did not answer in time ({error}).").format(
                    provider=self.label, error=type(e).__name__
                ),
            ) from e
        except httpx.HTTPError as e:  # transport and decoding failures alike
            raise ProviderError(
                ErrorClass.NETWORK,
                tr("Network error talking to {provider} at {host}: {error} {reason}")
                .format(
                    provider=self.label, host=httpx.URL(url).host, error=type(e).__name__, reason=e
                )
                .strip(),
            ) from e

    def unexpected(self, e: Exception) -> ProviderError:
        """An adapter tripping over an answer (a field of the wrong type, an empty list) means
        the provider broke its own contract: a ``server_error``, retried as one."""
        if isinstance(e, KeyError | TypeError | IndexError | AttributeError | ValueError):
            return ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} sent an answer Atelier could not read ({reason}).").format(
                    provider=self.label, reason=describe_exception(e)
                ),
            )
        return super().unexpected(e)

    def _oversized(self, status: int, size: int) -> ProviderError:
        return ProviderError(
            ErrorClass.SERVER_ERROR,
            tr("{provider} sent an oversized response (over {size} MB); it was abandoned.").format(
                provider=self.label, size=size // 1_000_000
            ),
            status=status,
        )

    async def probe(
        self, method: str, url: str, hint: str | None = None, **kw: Any
    ) -> httpx.Response:
        """A free request for "Test connection" (15 s at most): a server that cannot be reached
        or does not answer is named by its endpoint, with ``hint`` on what to check (default:
        "Check the endpoint.").

        Raises:
            ProviderError: as ``request``; network and timeout messages rewritten as above.
        """
        try:
            return await self.request(method, url, timeout=15.0, **kw)
        except ProviderError as e:
            if e.error_class in (ErrorClass.NETWORK, ErrorClass.TIMEOUT):
                e.message = tr("Cannot reach {base_url} ({message}). {hint}").format(
                    base_url=self.base_url,
                    message=e.message,
                    hint=hint or tr("Check the endpoint."),
                )
            raise

    def json_of(self, resp: httpx.Response) -> Any:
        """The JSON body, or a ``server_error`` naming the broken contract."""
        try:
            return resp.json()
        except ValueError as e:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} sent a malformed response (not JSON).").format(provider=self.label),
                status=resp.status_code,
            ) from e

    async def download(
        self, url: str, headers: dict[str, str] | None = None
    ) -> tuple[bytes, str | None]:
        """Fetch a result image. A download that fails on the way (network, timeout, 5xx) is
        tried again as a download (``DOWNLOAD_TRIES`` in all) while its URL is valid: the image
        is paid for, and sending the job again would pay twice. 401/403/404/410 mean the signed
        URL expired: a ``server_error`` with code ``expired`` and ``paid`` set."""

        def transient(e: Exception) -> bool:
            return isinstance(e, ProviderError) and (
                e.error_class in (ErrorClass.NETWORK, ErrorClass.TIMEOUT)
                or (e.status is not None and e.status >= 500)
            )

        try:
            resp = await retry(
                lambda: self.request("GET", url, headers=headers or {}, ok=(401, 403, 404, 410)),
                DOWNLOAD_BACKOFF,
                tries=DOWNLOAD_TRIES,
                when=transient,
            )
        except ProviderError as e:
            e.message = tr("Downloading the {provider} result failed: {message}").format(
                provider=self.label, message=e.message
            )
            raise
        if resp.status_code in (401, 403, 404, 410):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr(
                    "The {provider} result URL expired or vanished (HTTP {status}) before it was downloaded."
                ).format(provider=self.label, status=resp.status_code),
                status=resp.status_code,
                code="expired",
                paid=True,
            )
        ctype = resp.headers.get("content-type", "").split(";")[0].strip() or None
        if ctype and not ctype.startswith(("image/", "application/octet-stream", "binary/")):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("The {provider} result is {ctype}, not an image.").format(
                    provider=self.label, ctype=ctype
                ),
                status=resp.status_code,
            )
        return resp.content, ctype

    async def stream_lines(
        self, url: str, headers: dict[str, str] | None = None
    ) -> AsyncIterator[str]:
        """The lines of a large text download (a batch's JSONL output, gigabytes of base64
        images), read as they arrive instead of into memory.

        Raises:
            ProviderError: as ``request`` (``classify`` for an error status).
        """
        await self.check_url(url)
        try:
            async with self._client.stream("GET", url, headers=headers or {}) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise self.classify(resp)
                async for line in resp.aiter_lines():
                    if line.strip():
                        yield line
        except httpx.TimeoutException as e:
            raise ProviderError(
                ErrorClass.TIMEOUT,
                tr("{provider} did not answer in time ({error}).").format(
                    provider=self.label, error=type(e).__name__
                ),
            ) from e
        except httpx.HTTPError as e:
            raise ProviderError(
                ErrorClass.NETWORK,
                tr("Network error downloading from {provider}: {reason}").format(
                    provider=self.label, reason=e
                ),
            ) from e

    async def poll(self, step: Callable[[], Awaitable[T | None]]) -> T:
        """Call ``step`` every ``poll_interval_s`` until it returns a value. Cancelling the
        task (job timeout, batch cancel) stops it; callers cancel the remote job."""
        interval = self.poll_interval_s
        return await poll(step, Backoff(interval, interval, factor=1.0))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


async def fire_and_forget(coro: Awaitable[Any], timeout_s: float = 5.0) -> None:
    """Run a best-effort cleanup call (a remote cancel) even while being cancelled."""
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.shield(asyncio.wait_for(coro, timeout_s))
