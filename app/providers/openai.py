"""OpenAI Images API: ``POST {base}/images/generations`` with GPT-image models.

Wire facts (request body, ``usage``, error envelope ``{"error":{"message","type","param",
"code"}}``, ``x-ratelimit-*``, ``retry-after-ms``/``retry-after``, ``x-should-retry``) are from
``shared/docs/providers.md`` ("OpenAI Images", openai-openapi spec and openai-python SDK,
2026-08). ``base`` includes the version path, as in the official SDK
(``https://api.openai.com/v1``), so OpenAI-compatible servers plug in by URL alone.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import re
import time
from typing import Any

import httpx

from app.errors import ErrorClass, ProviderError
from app.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Provider,
)

_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("auto", "low", "medium", "high")

CAPABILITIES = Capabilities(
    name="openai",
    label="OpenAI Images",
    models=(
        ModelInfo("gpt-image-1.5", "GPT Image 1.5", _GPT_SIZES, _GPT_QUALITIES),
        ModelInfo(
            "gpt-image-2",
            "GPT Image 2",
            _GPT_SIZES,
            _GPT_QUALITIES,
            custom_size_multiple=16,
            max_width=3840,
            max_height=3840,
            note="price not yet published",
        ),
        ModelInfo(
            "gpt-image-1-mini",
            "GPT Image 1 mini",
            _GPT_SIZES,
            _GPT_QUALITIES,
            note="deprecated by OpenAI",
        ),
        ModelInfo(
            "gpt-image-1",
            "GPT Image 1",
            _GPT_SIZES,
            _GPT_QUALITIES,
            note="listed as retired 2026-10-23",
        ),
    ),
    needs_key=True,
    key_env_var="OPENAI_API_KEY",
    base_url_env_var="ATELIER_OPENAI_BASE_URL",
    default_base_url="https://api.openai.com/v1",
    batch_api=True,
    default_concurrency=4,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration_s(text: str) -> float | None:
    """``"1m30s"`` → 90.0, ``"12ms"`` → 0.012 (``x-ratelimit-reset-*`` format); else ``None``."""
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
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(ra) if ra else None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def classify_http_error(
    status: int, body: bytes, headers: httpx.Headers, label: str
) -> ProviderError:
    """Map an OpenAI-format error response to a ``ProviderError`` (see module docstring)."""
    err: dict[str, Any] = {}
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            err = parsed["error"]
    except (ValueError, UnicodeDecodeError):
        pass
    code = str(err.get("code") or "") or None
    etype = str(err.get("type") or "")
    param = err.get("param")
    server_msg = str(err.get("message") or "").strip()
    detail = f" ({server_msg})" if server_msg else ""
    should = headers.get("x-should-retry")
    retryable = {"true": True, "false": False}.get(should) if should else None
    retry_after = parse_retry_after(headers)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "retryable": retryable,
        "retry_after_s": retry_after,
    }
    if (
        code in ("moderation_blocked", "content_policy_violation")
        or etype == "image_generation_user_error"
    ):
        return ProviderError(
            ErrorClass.CONTENT_POLICY,
            f"{label} refused this prompt under its content policy{detail}. "
            "Rephrase the prompt; retrying the same prompt will not help.",
            **kw,
        )
    if status == 429 and code == "insufficient_quota":
        return ProviderError(
            ErrorClass.QUOTA,
            f"{label}: the account has no quota left{detail}. Add credit or raise the "
            "limit in the provider's billing page, then retry.",
            **kw,
        )
    if status == 429:
        wait = f" (asked to wait {retry_after:.1f} s)" if retry_after is not None else ""
        return ProviderError(ErrorClass.RATE_LIMIT, f"{label} rate limit reached{wait}.", **kw)
    if status == 401:
        return ProviderError(
            ErrorClass.AUTH,
            f"{label} rejected the API key{detail}. Check it in Settings → Providers.",
            **kw,
        )
    if status == 403:
        return ProviderError(
            ErrorClass.AUTH,
            f"{label} refused access to this model{detail}. The organisation may need "
            "verification for it.",
            **kw,
        )
    if status == 402:
        return ProviderError(
            ErrorClass.PAYMENT_REQUIRED, f"{label}: payment required{detail}.", **kw
        )
    if status == 404:
        return ProviderError(
            ErrorClass.INVALID_REQUEST,
            f"{label} answered 404{detail}: check the model name and the base URL.",
            **kw,
        )
    if status == 408:
        return ProviderError(ErrorClass.TIMEOUT, f"{label} timed out on its side{detail}.", **kw)
    if status >= 500 or status == 409:
        return ProviderError(
            ErrorClass.SERVER_ERROR, f"{label} server error {status}{detail}.", **kw
        )
    where = f" in field '{param}'" if param else ""
    return ProviderError(
        ErrorClass.INVALID_REQUEST, f"{label} rejected the request{where}{detail}.", **kw
    )


def rate_limit_headers(headers: httpx.Headers) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers of a response, lower-cased keys."""
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}


class OpenAIProvider(Provider):
    """OpenAI Images over httpx (HTTP/1.1, one pooled client per provider instance)."""

    capabilities = CAPABILITIES
    label = "OpenAI"

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        timeout_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._key = api_key
        self.base_url = (base_url or self.capabilities.default_base_url).rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=15.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
        )

    def _headers(self) -> dict[str, str]:
        if not self._key:
            raise ProviderError(
                ErrorClass.AUTH,
                f"No {self.label} API key: add one in Settings → "
                f"Providers or set {self.capabilities.key_env_var}.",
            )
        return {"Authorization": f"Bearer {self._key}"}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The JSON body of ``POST /images/generations`` for ``req``."""
        body: dict[str, Any] = {
            "model": req.model,
            "prompt": req.prompt,
            "n": req.n,
            "size": req.size,
            "quality": req.quality,
            "output_format": req.output_format,
            "moderation": req.moderation,
        }
        if req.transparent_background:
            body["background"] = "transparent"
        return body

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(
                f"{self.base_url}{path}", json=body, headers=self._headers()
            )
        except httpx.TimeoutException as e:
            raise ProviderError(
                ErrorClass.TIMEOUT, f"{self.label} did not answer in time ({type(e).__name__})."
            ) from e
        except httpx.TransportError as e:
            raise ProviderError(
                ErrorClass.NETWORK,
                f"Network error talking to {self.base_url}: {type(e).__name__}: {e}".rstrip(": "),
            ) from e

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Send one generation request; decode every ``b64_json`` image.

        Raises:
            ProviderError: classified per ``classify_http_error``; malformed bodies and bad base64
                are ``server_error`` (the provider broke its contract, a retry may succeed).
        """
        resp = await self._post("/images/generations", self.body(request))
        if resp.status_code >= 400:
            raise classify_http_error(resp.status_code, resp.content, resp.headers, self.label)
        try:
            payload = resp.json()
            items = payload.get("data") or []
        except (ValueError, AttributeError) as e:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                f"{self.label} sent a malformed response (not JSON).",
                status=resp.status_code,
            ) from e
        images: list[GeneratedImage] = []
        revised = None
        for item in items:
            b64 = item.get("b64_json") if isinstance(item, dict) else None
            if not b64:
                continue
            try:
                data = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as e:
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    f"{self.label} sent an image that is not valid base64.",
                    status=resp.status_code,
                ) from e
            fmt = payload.get("output_format") or request.output_format
            images.append(GeneratedImage(data, f"image/{fmt}"))
            revised = revised or item.get("revised_prompt")
        if not images:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                f"{self.label} answered without any image.",
                status=resp.status_code,
            )
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else None
        return GenerationResult(
            images=images,
            usage=usage,
            request_id=resp.headers.get("x-request-id"),
            revised_prompt=revised,
            rate_limits=rate_limit_headers(resp.headers),
        )

    async def test_connection(self) -> str:
        """``GET {base}/models``: free, and tells a bad key (401) from a bad URL or a down server."""
        try:
            resp = await self._client.get(
                f"{self.base_url}/models", headers=self._headers(), timeout=15.0
            )
        except httpx.TimeoutException as e:
            raise ProviderError(
                ErrorClass.TIMEOUT, f"{self.base_url} did not answer within 15 s."
            ) from e
        except httpx.TransportError as e:
            raise ProviderError(
                ErrorClass.NETWORK,
                f"Cannot reach {self.base_url} ({type(e).__name__}). "
                "Check the base URL, or whether the server is running.",
            ) from e
        if resp.status_code >= 400:
            err = classify_http_error(resp.status_code, resp.content, resp.headers, self.label)
            if resp.status_code == 404:
                err.message = (
                    f"{self.base_url} answered 404: it does not look like an OpenAI-compatible "
                    "API. Check the base URL (it usually ends in /v1)."
                )
            raise err
        try:
            n = len(resp.json().get("data", []))
        except (ValueError, AttributeError):
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                f"{self.base_url} answered, but not with the "
                "OpenAI API's JSON. Check the base URL.",
            ) from None
        return f"Connected to {self.base_url}: key accepted, {n} models visible."

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
