"""Ideogram's own API: Ideogram 3.0, strong at text in images, with transparent backgrounds.

Wire facts, from Ideogram's API reference (developer.ideogram.ai/api-reference, "Generate with
Ideogram 3.0" and "Generate with Ideogram 3.0 (Transparent Background)", read 2026-12-07 in
stored copies of those pages):

- ``POST {base}/v1/ideogram-v3/generate`` and ``POST {base}/v1/ideogram-v3/generate-transparent``,
  header ``Api-Key``, body ``multipart/form-data``: ``prompt`` (required), ``seed``
  (0–2147483647), ``resolution`` (``WxH`` from its list) or ``aspect_ratio`` (``1x1``,
  ``16x9``…, not both), ``rendering_speed`` (``FLASH`` | ``TURBO`` | ``DEFAULT`` | ``QUALITY``,
  default ``DEFAULT``; FLASH answers 400 on the transparent endpoint), ``magic_prompt`` (``AUTO``
  | ``ON`` | ``OFF``), ``negative_prompt``, ``num_images`` (1–8), ``style_type`` (generate only:
  ``AUTO`` | ``GENERAL`` | ``REALISTIC`` | ``DESIGN`` | ``FICTION``). The transparent endpoint
  takes ``aspect_ratio`` only and ``upscale_factor`` (``X1`` default; others cost more).
- 200: ``{"created", "data": [{"prompt", "resolution", "is_image_safe", "seed", "url",
  "style_type"}]}``; the URLs are ephemeral ("if you would like to keep the image, you must
  download it"), so each is downloaded at once, without the key. An image that is not safe
  comes back with ``is_image_safe: false`` and no URL.
- Errors: 401 bad key; 422 ``{"error": "Prompt or provided image failed the safety checks"}``
  (content policy); 429 more than 10 requests in flight (ideogram.ai/features/api-pricing: "The
  default rate limit is 10 in-flight requests"); the body's ``error`` or ``detail`` is shown
  (error shapes as quoted by third parties; matched on status, never on text).

There is no official Ideogram SDK on PyPI (checked 2026-12-07: the API reference shows curl,
Python ``requests`` and TypeScript ``fetch``), so the fake is checked against these pages.
"""

from __future__ import annotations

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
from atelier.providers.http import HttpProvider, default_error, error_body, parse_retry_after
from atelier.providers.sizes import nearest_aspect_ratio

MODEL = "ideogram-v3"
#: ``quality`` → ``rendering_speed``; ``auto`` sends none (the API renders at DEFAULT).
SPEEDS = {"flash": "FLASH", "turbo": "TURBO", "default": "DEFAULT", "quality": "QUALITY"}
STYLE_TYPES = ("auto", "general", "realistic", "design", "fiction")
RATIOS = (
    "1:3", "3:1", "1:2", "2:1", "9:16", "16:9", "10:16", "16:10",
    "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "1:1",
)  # fmt: skip
# A few of the 3.0 resolutions (the API lists 69, 512x1536 to 1536x640), one per common shape.
_SIZES = (
    "auto",
    "1024x1024",
    "1344x768",
    "768x1344",
    "1248x832",
    "832x1248",
    "1152x864",
    "864x1152",
    "1280x800",
    "800x1280",
    "1536x640",
    "640x1536",
    "1536x512",
    "512x1536",
)

CAPABILITIES = Capabilities(
    name="ideogram",
    label="Ideogram",
    description=N_("text in images, transparency"),
    models=CatalogueModels("ideogram"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["ideogram"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["ideogram"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["ideogram"].default_base_url,
    negative_prompt=True,
    seed=True,
    style_presets=STYLE_TYPES,
    default_concurrency=8,
    max_concurrency=10,  # "10 in-flight requests" by default (Ideogram's API pricing page)
)


class IdeogramProvider(HttpProvider):
    """Ideogram 3.0: one synchronous multipart request, then each image downloaded at once.

    ``magic_prompt`` (``AUTO`` | ``ON`` | ``OFF``) is sent when given; by default none is sent
    and Ideogram decides whether to rewrite the prompt.
    """

    capabilities = CAPABILITIES

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        magic_prompt: str | None = None,
        **http: Any,
    ) -> None:
        super().__init__(api_key, base_url, **http)
        self.magic_prompt = magic_prompt

    def fields(self, req: GenerationRequest) -> dict[str, str]:
        """The form fields of ``req`` (every value a string, as multipart sends them).

        Raises:
            ProviderError: ``invalid_request`` for FLASH with a transparent background (the API
                answers 400: refused before paying for a round trip).
        """
        fields: dict[str, str] = {"prompt": req.prompt, "num_images": str(req.n)}
        speed = SPEEDS.get(req.quality)
        if speed == "FLASH" and req.transparent_background:
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr(
                    "Ideogram cannot render a transparent background at quality 'flash': choose turbo, default or quality."
                ),
            )
        if speed:
            fields["rendering_speed"] = speed
        if req.size != "auto":
            if req.transparent_background:
                ratio = nearest_aspect_ratio(req.size, RATIOS)
                fields["aspect_ratio"] = ratio.replace(":", "x")
            else:
                w, h = parse_size(req.size)
                fields["resolution"] = f"{w}x{h}"
        if req.negative_prompt:
            fields["negative_prompt"] = req.negative_prompt
        if req.seed is not None:
            fields["seed"] = str((req.seed + req.first_sample) % 2_147_483_648)
        if req.style_preset and not req.transparent_background:
            fields["style_type"] = req.style_preset.upper()
        if self.magic_prompt:
            fields["magic_prompt"] = self.magic_prompt.upper()
        return fields

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        detail = str(data.get("error") or data.get("detail") or data.get("message") or "")
        retry_after = parse_retry_after(resp.headers)
        if resp.status_code == 422:
            return ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr(
                    "Ideogram refused this prompt or image in its safety check{detail}. Rephrase the prompt; retrying the same prompt will not help."
                ).format(detail=f" ({detail})" if detail else ""),
                status=422,
            )
        return default_error(resp.status_code, self.label, detail, retry_after_s=retry_after)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate ``request.n`` images (the transparent endpoint when asked), then download
        each URL before it expires.

        Raises:
            ProviderError: classified; an unsafe image is ``content_policy``; an answer without
                ``data`` is ``server_error``.
        """
        path = "generate-transparent" if request.transparent_background else "generate"
        form = {k: (None, v) for k, v in self.fields(request).items()}
        resp = await self.request(
            "POST",
            f"{self.base_url}/v1/ideogram-v3/{path}",
            files=form,
            headers={"Api-Key": self.need_key(), "accept": "application/json"},
        )
        payload = self.json_of(resp)
        items = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} answered without any image.").format(provider=self.label),
                status=resp.status_code,
            )
        images: list[GeneratedImage] = []
        for item in items:
            images.append(await self._image(item))
        return GenerationResult(images=images, request_id=resp.headers.get("x-request-id"))

    async def _image(self, item: Any) -> GeneratedImage:
        if not isinstance(item, dict) or item.get("is_image_safe") is False or not item.get("url"):
            if isinstance(item, dict) and item.get("is_image_safe") is False:
                raise ProviderError(
                    ErrorClass.CONTENT_POLICY,
                    tr(
                        "Ideogram withheld an image that failed its safety check. Rephrase the prompt; retrying the same prompt will not help."
                    ),
                    paid=True,
                )
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("Ideogram sent an image entry without a URL.")
            )
        data, ctype = await self.download(str(item["url"]))
        seed = item.get("seed")
        return GeneratedImage(data, ctype, seed if isinstance(seed, int) else None)

    async def test_connection(self) -> str:
        """Ideogram has no free endpoint that checks a key without generating: a bare POST
        without a prompt answers 401 for a bad key and 4xx (a missing field) for a good one."""
        try:
            await self.probe(
                "POST",
                f"{self.base_url}/v1/ideogram-v3/generate",
                files={"num_images": (None, "1")},
                headers={"Api-Key": self.need_key()},
            )
        except ProviderError as e:
            # a refusal of the empty form (whatever its status) means the key got through
            if e.error_class not in (ErrorClass.INVALID_REQUEST, ErrorClass.CONTENT_POLICY):
                raise
        return tr("Connected to {base_url}: key accepted.").format(base_url=self.base_url)
