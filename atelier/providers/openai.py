"""OpenAI Images API: ``POST {base}/images/generations`` and ``/images/edits``, plus
OpenAI-compatible servers (Seedream on BytePlus ModelArk, LocalAI…).

Wire facts (request body, ``usage``, error envelope ``{"error":{"message","type","param",
"code"}}``, ``x-ratelimit-*``, ``retry-after-ms``/``retry-after``, ``x-should-retry``, edits as
multipart with ``image[]`` and ``mask``) are from ``shared/docs/providers.md`` ("OpenAI
Images", openai-openapi spec and openai-python SDK, 2026-08; "Seedream direct" [3P]). ``base``
includes the version path, as in the official SDK (``https://api.openai.com/v1``), so
OpenAI-compatible servers plug in by URL alone.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import httpx

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import N_, tr
from atelier.core.provider_access import PROVIDER_ACCESS
from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from atelier.providers.catalogue import CatalogueModels
from atelier.providers.http import HttpProvider, default_error, parse_duration_s, parse_retry_after
from atelier.providers.inputs import data_uri, image_mime

__all__ = [
    "CAPABILITIES",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "classify_http_error",
    "parse_duration_s",
    "parse_retry_after",
]


CAPABILITIES = Capabilities(
    name="openai",
    label="OpenAI",
    description=N_("Images API"),
    models=CatalogueModels("openai"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["openai"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["openai"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["openai"].default_base_url,
    edits=True,
    batch_api=True,
    batch_references=False,
    # Ten in flight before any limit is known: a few 429s on a tier-1 key cost less than a
    # slow first second on every other key; the lane adapts either way.
    default_concurrency=10,
)


def _classify_known(
    status: int,
    code: str | None,
    etype: str,
    param: object,
    label: str,
    detail: str,
    kw: dict[str, Any],
) -> ProviderError | None:
    """The error classes an OpenAI-format answer names by ``code``, ``type`` or status; ``None``
    for the rest (``default_error`` maps those by status)."""
    known = _known_class(status, code, etype, param)
    if known is not None:
        error_class, text = known
        return ProviderError(error_class, text.format(provider=label, detail=detail), **kw)
    if 400 <= status < 500 and status not in (402, 404, 408, 429):
        where = tr(" in field '{param}'").format(param=param) if param else ""
        return ProviderError(
            ErrorClass.INVALID_REQUEST,
            tr("{provider} rejected the request{where}{detail}.").format(
                provider=label, where=where, detail=detail
            ),
            **kw,
        )
    return None


def _known_class(
    status: int, code: str | None, etype: str, param: object = None
) -> tuple[ErrorClass, str] | None:
    """The class and sentence (``{provider}``, ``{detail}`` fields) of an answer its ``code``,
    ``type`` or status names plainly; ``None`` for the rest. An ``image_generation_user_error``
    that names a field (``param``, e.g. ``background`` on gpt-image-2) is a bad request, not the
    safety system's refusal."""
    if code in ("moderation_blocked", "content_policy_violation") or (
        etype == "image_generation_user_error" and not param
    ):
        return ErrorClass.CONTENT_POLICY, tr(
            "{provider} refused this prompt under its content policy{detail}. Rephrase the prompt; retrying the same prompt will not help."
        )
    if status == 429 and code == "insufficient_quota":
        return ErrorClass.QUOTA, tr(
            "{provider}: the account has no quota left{detail}. Add credit or raise the limit in the provider's billing page, then retry."
        )
    if status == 401:
        return ErrorClass.AUTH, tr(
            "{provider} rejected the API key{detail}. Check it in Settings → Providers."
        )
    if status == 403:
        return ErrorClass.AUTH, tr(
            "{provider} refused access to this model{detail}. The organisation may need verification for it."
        )
    if status == 409:
        return ErrorClass.SERVER_ERROR, tr("{provider} answered 409 (conflict){detail}.")
    return None


def classify_http_error(
    status: int, body: bytes, headers: httpx.Headers, label: str
) -> ProviderError:
    """Map an OpenAI-format error response to a ``ProviderError``, on ``code``/``type``."""
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
    known = _classify_known(status, code, etype, param, label, detail, kw)
    if known is not None:
        return known
    return default_error(
        status, label, server_msg, code=code, retryable=retryable, retry_after_s=retry_after
    )


def rate_limit_headers(headers: httpx.Headers) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers of a response, lower-cased keys."""
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}


class OpenAIProvider(HttpProvider):
    """OpenAI Images over httpx."""

    capabilities = CAPABILITIES

    def classify(self, resp: httpx.Response) -> ProviderError:
        return classify_http_error(resp.status_code, resp.content, resp.headers, self.label)

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The JSON body of ``POST /images/generations`` for ``req``. Size ``auto`` is not
        sent: the API's default is ``auto`` (openai-python ``size`` docs), and an edit then keeps
        its reference's shape instead of being squared, as the reference batch tool sends it."""
        body: dict[str, Any] = {
            "model": req.model,
            "prompt": req.prompt,
            "n": req.n,
            "size": req.size,
            "quality": req.quality,
            "output_format": req.output_format,
            "moderation": req.moderation,
        }
        if req.size == "auto":
            del body["size"]
        if req.transparent_background:
            body["background"] = "transparent"
        if req.complexity:
            body["complexity"] = req.complexity
        return body

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Send one generation (or, with reference images, edit) request; decode every
        ``b64_json`` image.

        Raises:
            ProviderError: classified per ``classify_http_error``; malformed bodies and bad base64
                are ``server_error`` (the provider broke its contract, a retry may succeed).
        """
        headers = {"Authorization": f"Bearer {self.need_key()}"}
        if request.reference_images:
            body = self.body(request)
            data = {k: str(v) for k, v in body.items()}
            if request.input_fidelity:
                data["input_fidelity"] = request.input_fidelity
            files: list[tuple[str, tuple[str, bytes, str]]] = []
            for i, img in enumerate(request.reference_images):
                mime = image_mime(img)  # a JPEG reference goes as one, not labelled PNG
                files.append(("image[]", (f"reference-{i}.{mime.split('/')[1]}", img, mime)))
            if request.mask is not None:
                files.append(("mask", ("mask.png", request.mask, "image/png")))
            resp = await self.request(
                "POST", f"{self.base_url}/images/edits", data=data, files=files, headers=headers
            )
        else:
            resp = await self.request(
                "POST",
                f"{self.base_url}/images/generations",
                json=self.body(request),
                headers=headers,
            )
        return self.parse(resp, request)

    def parse(self, resp: httpx.Response, request: GenerationRequest) -> GenerationResult:
        """Decode an Images API 200 response (``data[].b64_json``, ``usage``)."""
        return self.decode(
            self.json_of(resp),
            request,
            resp.status_code,
            resp.headers.get("x-request-id"),
            rate_limit_headers(resp.headers),
        )

    def decode(
        self,
        payload: Any,
        request: GenerationRequest,
        status: int = 200,
        request_id: str | None = None,
        rate_limits: dict[str, str] | None = None,
    ) -> GenerationResult:
        """Decode an Images API body (a response's, or a Batch API output line's
        ``response.body``).

        Raises:
            ProviderError: ``server_error`` for a malformed body, bad base64 or no image.
        """
        if not isinstance(payload, dict):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} sent a malformed response.").format(provider=self.label),
                status=status,
            )
        images: list[GeneratedImage] = []
        revised = None
        for item in payload.get("data") or []:
            b64 = item.get("b64_json") if isinstance(item, dict) else None
            if not b64:
                continue
            try:
                data = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as e:
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr("{provider} sent an image that is not valid base64.").format(
                        provider=self.label
                    ),
                    status=status,
                ) from e
            fmt = payload.get("output_format") or request.output_format
            images.append(GeneratedImage(data, f"image/{fmt}"))
            revised = revised or item.get("revised_prompt")
        if not images:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} answered without any image.").format(provider=self.label),
                status=status,
            )
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else None
        return GenerationResult(
            images=images,
            usage=usage,
            request_id=request_id,
            revised_prompt=revised,
            rate_limits=rate_limits or {},
        )

    async def test_connection(self) -> str:
        """``GET {base}/models``: free, and tells a bad key (401) from a bad URL or a down server."""
        headers = {"Authorization": f"Bearer {self.need_key()}"}
        try:
            resp = await self.probe(
                "GET",
                f"{self.base_url}/models",
                headers=headers,
                hint=tr("Check the endpoint, or whether the server is running."),
            )
        except ProviderError as e:
            if e.status == 404:
                e.message = tr(
                    "{base_url} answered 404: it does not look like an OpenAI-compatible API. Check the base URL (it usually ends in /v1)."
                ).format(base_url=self.base_url)
            raise
        try:
            n = len(resp.json().get("data", []))
        except (ValueError, AttributeError):
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr(
                    "{base_url} answered, but not with the OpenAI API's JSON. Check the base URL."
                ).format(base_url=self.base_url),
            ) from None
        return tr("Connected to {base_url}: key accepted, {n} models visible.").format(
            base_url=self.base_url, n=n
        )


SEEDREAM_CAPABILITIES = Capabilities(
    name="seedream",
    label="Seedream",
    description=N_("BytePlus ModelArk, OpenAI-compatible"),
    models=CatalogueModels("seedream"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["seedream"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["seedream"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["seedream"].default_base_url,
    seed=True,
    default_concurrency=4,
)

LOCALAI_CAPABILITIES = Capabilities(
    name="localai",
    label="LocalAI",
    description=N_("OpenAI-compatible, self-hosted"),
    models=(
        ModelInfo(
            "stablediffusion",
            "Stable Diffusion (LocalAI)",
            ("256x256", "512x512", "1024x1024"),
            ("auto",),
            transparent_background=False,
            custom_size_multiple=8,
            max_samples_per_request=4,
        ),
    ),
    needs_key=False,
    key_env_var=PROVIDER_ACCESS["localai"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["localai"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["localai"].default_base_url,
    default_concurrency=1,
    local=True,
)


class OpenAICompatibleProvider(OpenAIProvider):
    """A server speaking the OpenAI Images format with its own quirks: asks for ``b64_json``
    explicitly, sends no GPT-only fields (``quality``, ``moderation``, ``output_format``).
    Each preset below sets its own capabilities and adds what its server takes to ``body``."""

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": req.model,
            "prompt": req.prompt,
            # these servers take fixed sizes only: "auto" (no size given) is their 1024x1024
            "size": "1024x1024" if req.size == "auto" else req.size,
            "response_format": "b64_json",
        }
        if req.n > 1:
            body["n"] = req.n
        return body

    def need_key(self) -> str:
        if self.capabilities.needs_key:
            return super().need_key()
        return self._key or "not-needed"


class SeedreamProvider(OpenAICompatibleProvider):
    """Seedream direct, ``POST …/api/v3/images/generations`` (providers.md [3P]): the
    OpenAI-compatible body plus ``watermark: false`` and the ``seed`` it accepts. An edit goes
    to the same path with its references in ``image`` (one ``data:`` URI, or a list of them),
    as BytePlus's own SDK sends it (byteplus-python-sdk-v2 3.0.63,
    ``byteplussdkarkruntime/resources/images/images.py``: ``generate(image=str | list[str])``
    posts ``/images/generations``; there is no ``/images/edits``)."""

    capabilities = SEEDREAM_CAPABILITIES

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        body = super().body(req)
        body["watermark"] = False
        if req.seed is not None:
            body["seed"] = req.seed
        if req.reference_images:
            refs = [data_uri(img) for img in req.reference_images]
            body["image"] = refs[0] if len(refs) == 1 else refs
        return body

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """One JSON request to ``/images/generations``, references included (see the class).

        Raises:
            ProviderError: as ``OpenAIProvider.generate``.
        """
        resp = await self.request(
            "POST",
            f"{self.base_url}/images/generations",
            json=self.body(request),
            headers={"Authorization": f"Bearer {self.need_key()}"},
        )
        return self.parse(resp, request)


class LocalAIProvider(OpenAICompatibleProvider):
    """LocalAI's OpenAI-compatible image endpoint on your own machine."""

    capabilities = LOCALAI_CAPABILITIES
