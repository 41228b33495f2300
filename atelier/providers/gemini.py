"""Google Gemini image models: ``POST {base}/models/{model}:generateContent``.

Wire facts from ``shared/docs/providers.md`` ("Google Gemini API", python-genai SDK and
cookbook, 2026-08): header ``x-goog-api-key``; ``generationConfig.responseModalities``
``["TEXT","IMAGE"]`` and ``imageConfig {aspectRatio, imageSize}`` (1K/2K/4K, the 3.x models);
images in ``candidates[0].content.parts[].inlineData``; a blocked prompt is HTTP 200 with
``promptFeedback.blockReason``; safety ``finishReason`` values; errors
``{"error":{"code","message","status","details"}}`` with ``google.rpc.RetryInfo.retryDelay`` on
429 ``RESOURCE_EXHAUSTED``. Imagen is shut down on this API, so it is not offered.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import N_, tr
from atelier.core.models import parse_size
from atelier.core.provider_access import PROVIDER_ACCESS
from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
)
from atelier.providers.catalogue import CatalogueModels
from atelier.providers.http import (
    HttpProvider,
    default_error,
    error_body,
    parse_duration_s,
    parse_retry_after,
)
from atelier.providers.inputs import image_mime
from atelier.providers.sizes import nearest_aspect_ratio

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
BLOCKING_FINISH = {
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "RECITATION",
    "BLOCKLIST",
    "SPII",
}

CAPABILITIES = Capabilities(
    name="gemini",
    label="Gemini",
    description=N_("Google"),
    models=CatalogueModels("gemini"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["gemini"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["gemini"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["gemini"].default_base_url,
    edits=True,
    batch_api=True,
    default_concurrency=4,
)


def aspect_ratio_for(size: str) -> str:
    """The supported aspect ratio nearest to ``size``."""
    return nearest_aspect_ratio(size, ASPECT_RATIOS)


def image_size_for(size: str) -> str:
    """``1K``/``2K``/``4K`` by the longer side."""
    w, h = parse_size(size)
    side = max(w, h)
    return "1K" if side <= 1024 else "2K" if side <= 2048 else "4K"


def _images_of(cand: dict[str, Any]) -> list[GeneratedImage]:
    """The ``inlineData`` images of one candidate (``candidates[].content.parts[]``).

    Raises:
        ProviderError: ``content_policy`` when a safety finish left no image,
            ``server_error`` for bad base64 or no image for another reason.
    """
    finish = str(cand.get("finishReason") or "")
    images: list[GeneratedImage] = []
    for part in (cand.get("content") or {}).get("parts") or []:
        inline = part.get("inlineData") if isinstance(part, dict) else None
        if inline and inline.get("data"):
            try:
                data = base64.b64decode(inline["data"], validate=True)
            except (binascii.Error, ValueError) as e:
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr("Gemini sent an image that is not valid base64."),
                    status=200,
                ) from e
            images.append(GeneratedImage(data, inline.get("mimeType")))
    if images:
        return images
    if finish in BLOCKING_FINISH:
        raise ProviderError(
            ErrorClass.CONTENT_POLICY,
            tr(
                "Gemini stopped for safety ({finish}) and made no image. Rephrase the prompt."
            ).format(finish=finish),
            status=200,
            code=finish,
        )
    raise ProviderError(
        ErrorClass.SERVER_ERROR,
        tr("Gemini made no image (finishReason {reason}).").format(reason=finish or "?"),
        status=200,
        code=finish or None,
    )


def _error_details(details: Any, retry_after: float | None) -> tuple[float | None, set[str], bool]:
    """Google's ``error.details``: the ``RetryInfo`` delay (seconds, else ``retry_after``),
    the ``ErrorInfo`` reasons, and whether a ``QuotaFailure`` is a per-day quota."""
    reasons: set[str] = set()
    per_day = False
    for d in details if isinstance(details, list) else []:
        if not isinstance(d, dict):
            continue
        kind = str(d.get("@type", ""))
        if kind.endswith("RetryInfo") and d.get("retryDelay"):
            retry_after = parse_duration_s(str(d["retryDelay"])) or retry_after
        if kind.endswith("ErrorInfo") and d.get("reason"):
            reasons.add(str(d["reason"]))
        if kind.endswith("QuotaFailure"):
            for v in d.get("violations") or []:
                if "PerDay" in str(v.get("quotaId", "")):
                    per_day = True
    return retry_after, reasons, per_day


def _plain_status(status: str) -> tuple[ErrorClass, str] | None:
    """The class and sentence (with a ``{detail}`` field) of a Google status that needs no
    more than its name, or ``None``."""
    if status in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
        return ErrorClass.INVALID_REQUEST, tr("Gemini rejected the request{detail}.")
    if status == "NOT_FOUND":
        return ErrorClass.INVALID_REQUEST, tr(
            "Gemini has no such model or route{detail}. Imagen and retired models answer 404."
        )
    if status == "DEADLINE_EXCEEDED":
        return ErrorClass.TIMEOUT, tr("Gemini timed out on its side{detail}.")
    return None


class GeminiProvider(HttpProvider):
    """Gemini ``generateContent`` with image output."""

    capabilities = CAPABILITIES

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The ``generateContent`` body: reference images as ``inlineData`` parts, then the prompt."""
        parts: list[dict[str, Any]] = [
            {"inlineData": {"mimeType": image_mime(img), "data": base64.b64encode(img).decode()}}
            for img in req.reference_images
        ]
        parts.append({"text": req.prompt})
        image_config: dict[str, str] = {"aspectRatio": aspect_ratio_for(req.size)}
        if not req.model.startswith("gemini-2.5"):  # 2.5 Flash Image has only 1K
            image_config["imageSize"] = image_size_for(req.size)
        return {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": image_config,
            },
        }

    def classify(self, resp: httpx.Response) -> ProviderError:
        err = error_body(resp).get("error")
        if not isinstance(err, dict):
            err = {}
        status = str(err.get("status") or "")
        message = str(err.get("message") or "").strip()
        details = err.get("details") or []
        retry_after = parse_retry_after(resp.headers)
        retry_after, reasons, per_day = _error_details(details, retry_after)
        kw: dict[str, Any] = {
            "status": resp.status_code,
            "code": status or None,
            "retry_after_s": retry_after,
        }
        detail = f" ({message})" if message else ""
        if "API_KEY_INVALID" in reasons or status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            return ProviderError(
                ErrorClass.AUTH,
                tr("Gemini rejected the API key{detail}. Check it in Settings → Providers.").format(
                    detail=detail
                ),
                **kw,
            )
        if status == "RESOURCE_EXHAUSTED" or resp.status_code == 429:
            if per_day:
                return ProviderError(
                    ErrorClass.QUOTA,
                    tr(
                        "Gemini: the daily quota is used up{detail}. It resets tomorrow, or raise it in Google AI Studio."
                    ).format(detail=detail),
                    **kw,
                )
            wait = (
                tr(" (asked to wait {seconds:.0f} s)").format(seconds=retry_after)
                if retry_after is not None
                else ""
            )
            return ProviderError(
                ErrorClass.RATE_LIMIT,
                tr("Gemini rate limit reached{wait}.").format(wait=wait),
                **kw,
            )
        plain = _plain_status(status)
        if plain is not None:
            return ProviderError(plain[0], plain[1].format(detail=detail), **kw)
        return default_error(
            resp.status_code, self.label, message, code=status or None, retry_after_s=retry_after
        )

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """One ``generateContent`` call → one image.

        Raises:
            ProviderError: blocked prompts and safety finishes are ``content_policy``.
        """
        url = f"{self.base_url}/models/{request.model}:generateContent"
        resp = await self.request(
            "POST", url, json=self.body(request), headers={"x-goog-api-key": self.need_key()}
        )
        return self.decode(self.json_of(resp), resp.headers.get("x-request-id"))

    def decode(self, data: Any, request_id: str | None = None) -> GenerationResult:
        """Decode a ``generateContent`` answer (a response's body, or a Batch Mode inline
        response).

        Raises:
            ProviderError: blocked prompts and safety finishes are ``content_policy``; a
                malformed answer or one without an image is ``server_error``.
        """
        if not isinstance(data, dict):
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("Gemini sent a malformed response."), status=200
            )
        block = (data.get("promptFeedback") or {}).get("blockReason")
        if block:
            raise ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr(
                    "Gemini blocked this prompt ({block}). Rephrase it; retrying the same prompt will not help."
                ).format(block=block),
                status=200,
                code=str(block),
            )
        candidates = data.get("candidates") or []
        if not candidates:
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("Gemini answered without a candidate."), status=200
            )
        images = _images_of(candidates[0])
        usage: dict[str, object] | None = None
        for d in (data.get("usageMetadata") or {}).get("candidatesTokensDetails") or []:
            if isinstance(d, dict) and d.get("modality") == "IMAGE":
                usage = {"output_tokens": int(d.get("tokenCount", 0))}
        return GenerationResult(images=images, usage=usage, request_id=request_id)

    async def test_connection(self) -> str:
        """``GET {base}/models``: lists models for a valid key without generating anything."""
        resp = await self.probe(
            "GET", f"{self.base_url}/models", headers={"x-goog-api-key": self.need_key()}
        )
        models = [
            m.get("name", "") for m in self.json_of(resp).get("models", []) if isinstance(m, dict)
        ]
        have = sum(1 for m in models if "image" in m)
        return tr(
            "Connected to {base_url}: key accepted, {count} models ({have} image models)."
        ).format(base_url=self.base_url, count=len(models), have=have)
