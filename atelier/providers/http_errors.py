"""How an HTTP error answer reads to a designer: the fallback classification of a status code
(``design.md``'s error classes: 401/403 ``auth``, 402 ``payment_required``, 408/504
``timeout``, 429 ``rate_limit``, 404 and other 4xx ``invalid_request``, 5xx ``server_error``),
and the error bodies adapters read their own codes from first."""

from __future__ import annotations

from typing import Any

import httpx

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr


def error_body(resp: httpx.Response) -> dict[str, Any]:
    """An error response's JSON object, or ``{}`` when its body is not one (an HTML page from a
    proxy, an empty body, a list): classifiers read fields from it without guarding each."""
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def validation_errors(detail: list[Any]) -> str:
    """FastAPI's 422 ``detail`` list (used by AUTOMATIC1111, Black Forest Labs and fal.ai) as
    ``field: message; …``, the field being ``loc`` without its leading ``body``/``query``."""
    return "; ".join(
        f"{'.'.join(str(x) for x in d.get('loc', [])[1:]) or 'input'}: {d.get('msg')}"
        for d in detail
        if isinstance(d, dict)
    )


def _by_status(status: int) -> tuple[ErrorClass, str]:
    """The class of ``status`` and its sentence, with ``{provider}``, ``{detail}``,
    ``{status}`` and ``{wait}`` fields."""
    if status in (401, 403):
        return ErrorClass.AUTH, tr(
            "{provider} rejected the credentials{detail}. Check the key in Settings → Providers."
        )
    if status == 402:
        return ErrorClass.PAYMENT_REQUIRED, tr(
            "{provider}: payment required, the account has no credits left{detail}. Top up, then retry."
        )
    if status in (408, 504):
        return ErrorClass.TIMEOUT, tr("{provider} timed out on its side{detail}.")
    if status == 429:
        return ErrorClass.RATE_LIMIT, tr("{provider} rate limit reached{wait}{detail}.")
    if status >= 500:
        return ErrorClass.SERVER_ERROR, tr("{provider} server error {status}{detail}.")
    if status == 404:
        return ErrorClass.INVALID_REQUEST, tr(
            "{provider} answered 404{detail}: check the model name and the endpoint."
        )
    return ErrorClass.INVALID_REQUEST, tr("{provider} rejected the request{detail}.")


def default_error(status: int, label: str, detail: str = "", **kw: Any) -> ProviderError:
    """The fallback classification of an HTTP error ``status`` from provider ``label``, with
    the provider's own ``detail`` in brackets; ``kw`` goes to ``ProviderError`` (a
    ``retry_after_s`` is said in the 429 sentence)."""
    error_class, text = _by_status(status)
    ra = kw.get("retry_after_s")
    wait = tr(" (asked to wait {seconds:.1f} s)").format(seconds=ra) if ra is not None else ""
    message = text.format(
        provider=label, detail=f" ({detail})" if detail else "", status=status, wait=wait
    )
    return ProviderError(error_class, message, status=status, **kw)
