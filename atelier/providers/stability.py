"""Stability AI v2beta Stable Image: core, ultra and sd3 (SD 3.5 large, large-turbo, medium).

Wire facts from ``shared/docs/providers.md`` ("Stability AI v2beta", official API reference
copies; support article 2024-06): ``POST {base}/v2beta/stable-image/generate/{core|ultra|sd3}``,
always ``multipart/form-data``; ``accept: image/*`` returns raw bytes with ``finish-reason``
(``SUCCESS``/``CONTENT_FILTERED``) and ``seed`` headers; errors ``{"id","name","errors"}``, 403
``content_moderation``; 150 requests per 10 s, then a 60 s lockout, with no rate-limit headers.
Image-to-image (``mode=image-to-image`` with ``image`` and ``strength``) and inpainting
(``/v2beta/stable-image/edit/inpaint`` with ``image`` and ``mask``) follow the same API reference.
"""

from __future__ import annotations

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
)
from atelier.providers.catalogue import CatalogueModels
from atelier.providers.http import HttpProvider, default_error, error_body
from atelier.providers.sizes import nearest_aspect_ratio

ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STYLE_PRESETS = (
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
)
_SD3 = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium")

CAPABILITIES = Capabilities(
    name="stability",
    label="Stability",
    description=N_("Stable Image API"),
    models=CatalogueModels("stability"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["stability"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["stability"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["stability"].default_base_url,
    negative_prompt=True,
    seed=True,
    edits=True,
    default_concurrency=8,
    rate_limit=(150, 10.0),
    rate_limit_lockout_s=60.0,
    style_presets=STYLE_PRESETS,
)


def aspect_ratio_for(size: str) -> str:
    """The supported aspect ratio nearest to ``size``."""
    return nearest_aspect_ratio(size, ASPECT_RATIOS)


class StabilityProvider(HttpProvider):
    """Stability's v2beta Stable Image endpoints."""

    capabilities = CAPABILITIES

    def route_and_fields(self, req: GenerationRequest) -> tuple[str, dict[str, str]]:
        """The endpoint path and the form fields for ``req``."""
        fields: dict[str, str] = {"prompt": req.prompt, "output_format": req.output_format}
        if req.negative_prompt:
            fields["negative_prompt"] = req.negative_prompt
        if req.seed is not None:
            fields["seed"] = str(req.seed + req.first_sample)
        if req.mask is not None:
            return "/v2beta/stable-image/edit/inpaint", fields
        if req.reference_images:
            fields["strength"] = "0.7"
        else:
            fields["aspect_ratio"] = aspect_ratio_for(req.size)
        if req.model in _SD3:
            fields["model"] = req.model
            if req.reference_images:
                fields["mode"] = "image-to-image"
            return "/v2beta/stable-image/generate/sd3", fields
        if req.style_preset and req.model == "core":
            fields["style_preset"] = req.style_preset
        return f"/v2beta/stable-image/generate/{req.model}", fields

    def classify(self, resp: httpx.Response) -> ProviderError:
        body = error_body(resp)
        name = str(body.get("name") or "")
        errors = body.get("errors")
        detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
        if resp.status_code == 403 and name == "content_moderation":
            return ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr(
                    "Stability's content moderation refused this request ({reason}). Rephrase the prompt."
                ).format(reason=detail or name),
                status=403,
                code=name,
            )
        if resp.status_code == 413:
            return ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr("Stability: the request is too large (reference image over 10 MB?)."),
                status=413,
                code=name or None,
            )
        if resp.status_code == 429:
            return ProviderError(
                ErrorClass.RATE_LIMIT,
                tr(
                    "Stability rate limit (150 requests per 10 s) exceeded; "
                    "the key is locked out for 60 s."
                ),
                status=429,
                code=name or None,
                retry_after_s=60.0,
            )
        return default_error(resp.status_code, self.label, detail, code=name or None)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """One multipart request → one image (raw bytes)."""
        path, fields = self.route_and_fields(request)
        files: list[tuple[str, tuple[str | None, bytes | str, str | None]]] = [
            (k, (None, v, None)) for k, v in fields.items()
        ]
        if request.reference_images:
            files.append(("image", ("image.png", request.reference_images[0], "image/png")))
        if request.mask is not None:
            files.append(("mask", ("mask.png", request.mask, "image/png")))
        resp = await self.request(
            "POST",
            f"{self.base_url}{path}",
            files=files,
            headers={"authorization": f"Bearer {self.need_key()}", "accept": "image/*"},
        )
        finish = resp.headers.get("finish-reason", "SUCCESS")
        if finish == "CONTENT_FILTERED":
            raise ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr("Stability filtered the result (CONTENT_FILTERED). Rephrase the prompt."),
                status=resp.status_code,
                code=finish,
            )
        ctype = resp.headers.get("content-type", "").split(";")[0]
        if not ctype.startswith("image/"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Stability answered {type} instead of an image.").format(
                    type=ctype or tr("no content type")
                ),
                status=resp.status_code,
            )
        seed = resp.headers.get("seed")
        image = GeneratedImage(resp.content, ctype, int(seed) if seed and seed.isdigit() else None)
        return GenerationResult(images=[image], request_id=resp.headers.get("x-request-id"))

    async def test_connection(self) -> str:
        """``GET {base}/v1/user/account``: free; 401 for a bad key."""
        resp = await self.probe(
            "GET",
            f"{self.base_url}/v1/user/account",
            headers={"authorization": f"Bearer {self.need_key()}"},
        )
        data: Any = self.json_of(resp)
        who = (
            data.get("email") or data.get("id") or "account"
            if isinstance(data, dict)
            else "account"
        )
        return tr("Connected to {base_url}: key accepted ({who}).").format(
            base_url=self.base_url, who=who
        )
