"""Black Forest Labs' own API: FLUX1.1 pro / ultra, FLUX.1 dev, FLUX.1 Kontext pro.

Wire facts from ``shared/docs/providers.md`` ("Black Forest Labs", docs.bfl.ai):
``POST {base}/v1/{model}`` with header ``x-key`` → ``{"id","polling_url"}``; ``GET polling_url``
→ ``{"status":"Ready|Pending|Request Moderated|Content Moderated|Error|Task not found",
"result":{"sample": signed URL, valid ≈ 10 min}}``; ``width``/``height`` 256–1440 in multiples
of 32, ``seed``, ``safety_tolerance`` 0–6, ``output_format`` jpeg|png, ultra ``aspect_ratio``;
402 = no credits; 429 = more than 24 active tasks (so the lane runs at most 24 at once).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr
from atelier.core.models import parse_size
from atelier.core.provider_access import PROVIDER_ACCESS
from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    remote_gone,
)
from atelier.providers.catalogue import CatalogueModels
from atelier.providers.http import (
    HttpProvider,
    default_error,
    error_body,
    parse_retry_after,
    validation_errors,
)
from atelier.providers.sizes import nearest_aspect_ratio

_SIZES = (
    "1024x1024",
    "1344x768",
    "768x1344",
    "1248x832",
    "832x1248",
    "1440x800",
    "800x1440",
    "1152x896",
)
RATIOS = ("21:9", "16:9", "3:2", "4:3", "1:1", "3:4", "2:3", "9:16", "9:21")


CAPABILITIES = Capabilities(
    name="bfl",
    label="Black Forest Labs",
    models=CatalogueModels("bfl"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["bfl"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["bfl"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["bfl"].default_base_url,
    seed=True,
    edits=True,
    default_concurrency=8,
    max_concurrency=24,
)
_RATIO_MODELS = ("flux-pro-1.1-ultra", "flux-kontext-pro")


class BFLProvider(HttpProvider):
    """BFL: submit, then follow ``polling_url`` until ``Ready``."""

    capabilities = CAPABILITIES

    def _headers(self) -> dict[str, str]:
        return {"x-key": self.need_key(), "accept": "application/json"}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The task body for ``req``."""
        w, h = parse_size(req.size)
        body: dict[str, Any] = {
            "prompt": req.prompt,
            "output_format": "png" if req.output_format == "png" else "jpeg",
            "safety_tolerance": 2,
        }
        if req.model in _RATIO_MODELS:
            body["aspect_ratio"] = nearest_aspect_ratio(req.size, RATIOS)
        else:
            body.update({"width": w, "height": h})
        if req.seed is not None:
            body["seed"] = req.seed + req.first_sample
        # input_image, input_image_2 … input_image_8 (BFL's own bfl-api guide, "Multi-Reference
        # I2I": FLUX.2 [klein] takes 4, [pro]/[max]/[flex] 8; Kontext the first only): the
        # catalogue's max_references refuses more at the door.
        for i, ref in enumerate(req.reference_images):
            key = "input_image" if i == 0 else f"input_image_{i + 1}"
            body[key] = base64.b64encode(ref).decode()
        return body

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        detail = data.get("detail")
        text = validation_errors(detail) if isinstance(detail, list) else str(detail or "")
        if resp.status_code == 429:
            return ProviderError(
                ErrorClass.RATE_LIMIT,
                tr("Black Forest Labs: more than 24 tasks active on this key."),
                status=429,
                retry_after_s=parse_retry_after(resp.headers),
            )
        return default_error(
            resp.status_code, self.label, text, retry_after_s=parse_retry_after(resp.headers)
        )

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Submit (or follow ``request.resume``), poll, download the signed sample URL."""
        task = request.resume or await self._submit(request)
        url = str(task["polling_url"])
        try:
            result = await self.poll(lambda: self._check(url, request))
        except ProviderError as e:
            if request.resume and (e.status == 404 or e.code == "Task not found"):
                raise remote_gone(self.label, tr("the task")) from e
            raise
        data, ctype = await self.download(result)
        return GenerationResult(
            images=[GeneratedImage(data, ctype)], request_id=str(task.get("id"))
        )

    async def _submit(self, request: GenerationRequest) -> dict[str, Any]:
        resp = await self.request(
            "POST",
            f"{self.base_url}/v1/{request.model}",
            json=self.body(request),
            headers=self._headers(),
        )
        task = self.json_of(resp)
        if not isinstance(task, dict) or not task.get("polling_url"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Black Forest Labs' answer has no polling_url."),
                status=resp.status_code,
            )
        handle = {"id": str(task.get("id")), "polling_url": str(task["polling_url"])}
        request.submitted(handle)
        return handle

    async def _check(self, url: str, request: GenerationRequest) -> str | None:
        data = self.json_of(await self.request("GET", url, headers=self._headers()))
        status = str(data.get("status")) if isinstance(data, dict) else "?"
        if status == "Ready":
            request.progress(1.0)
            sample = (data.get("result") or {}).get("sample")
            if not sample:
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr("Black Forest Labs said Ready without a sample URL."),
                )
            return str(sample)
        if status in ("Request Moderated", "Content Moderated"):
            raise ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr(
                    "Black Forest Labs moderated this task ({status}). Rephrase the prompt or lower nothing: retrying will not help."
                ).format(status=status),
                code=status,
            )
        if status in ("Error", "Task not found", "Failed"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Black Forest Labs reports the task as {status}.").format(status=status),
                code=status,
            )
        if status not in ("Pending", "Queued", "Processing"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Black Forest Labs sent an unknown status {status!r}.").format(status=status),
            )
        progress = data.get("progress") if isinstance(data, dict) else None
        request.progress(float(progress) if isinstance(progress, int | float) else 0.3)
        return None

    async def test_connection(self) -> str:
        """``GET {base}/v1/credits``: the balance, free; 401/403 for a bad key."""
        resp = await self.probe("GET", f"{self.base_url}/v1/credits", headers=self._headers())
        credits = self.json_of(resp).get("credits", "?")
        return tr("Connected to {base_url}: key accepted, {credits} credits left.").format(
            base_url=self.base_url, credits=credits
        )
