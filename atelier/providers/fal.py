"""fal.ai queue API: submit, poll the status URL, fetch the result, download the images.

Wire facts from ``shared/docs/providers.md`` ("fal.ai queue", fal client source 2026-08):
``POST https://queue.fal.run/{model}`` with ``Authorization: Key …`` and the model's input as
JSON → ``{"request_id","response_url","status_url","cancel_url"}`` (used exactly as returned:
they drop the model's last path part); ``GET status_url?logs=1`` → ``IN_QUEUE`` (with
``queue_position``) | ``IN_PROGRESS`` | ``COMPLETED``; ``GET response_url`` → ``{"images":[{"url",
"width","height","content_type"}],"seed","has_nsfw_concepts"}``; ``PUT cancel_url``. Errors:
422 ``{"detail":[{"loc","msg","type"}]}`` with ``X-Fal-Retryable``; infrastructure errors
``{"detail","error_type"}`` with ``X-Fal-Error-Type``.
"""

from __future__ import annotations

import asyncio
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
    fire_and_forget,
    parse_retry_after,
    validation_errors,
)
from atelier.providers.inputs import data_uri
from atelier.providers.sizes import nearest_aspect_ratio

_SIZES = (
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "1024x768",
    "768x1024",
    "1344x768",
    "768x1344",
    "512x512",
)
_ULTRA = "fal-ai/flux-pro/v1.1-ultra"
_SEEDREAM_EDIT = "fal-ai/bytedance/seedream/v4/edit"
ULTRA_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")


CAPABILITIES = Capabilities(
    name="fal",
    label="fal.ai",
    models=CatalogueModels("fal"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["fal"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["fal"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["fal"].default_base_url,
    seed=True,
    edits=True,
    default_concurrency=8,
)


class FalProvider(HttpProvider):
    """fal.ai's queue: one submission per request, polled until done, cancelled when we stop."""

    capabilities = CAPABILITIES

    max_timeout_s = 120.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.need_key()}"}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The model input for ``req``."""
        w, h = parse_size(req.size)
        body: dict[str, Any] = {"prompt": req.prompt, "enable_safety_checker": True}
        if req.model == _ULTRA:  # ultra takes an aspect ratio, not a size
            body["aspect_ratio"] = nearest_aspect_ratio(req.size, ULTRA_RATIOS)
        else:
            body["image_size"] = {"width": w, "height": h}
        if req.n > 1:
            body["num_images"] = req.n
        if req.seed is not None:
            body["seed"] = req.seed + req.first_sample
        if "seedream" not in req.model:
            body["output_format"] = "png" if req.output_format == "png" else "jpeg"
        if req.reference_images:
            if req.model == _SEEDREAM_EDIT:
                body["image_urls"] = [data_uri(i) for i in req.reference_images]
            else:
                body["image_url"] = data_uri(req.reference_images[0])
        return body

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        detail = data.get("detail")
        retryable_h = resp.headers.get("x-fal-retryable")
        retryable = {"true": True, "false": False}.get(retryable_h.lower()) if retryable_h else None
        kw: dict[str, Any] = {
            "status": resp.status_code,
            "retryable": retryable,
            "retry_after_s": parse_retry_after(resp.headers),
        }
        if isinstance(detail, list):
            types = {str(d.get("type", "")) for d in detail if isinstance(d, dict)}
            msgs = validation_errors(detail)
            if any("content_policy" in t for t in types):
                return ProviderError(
                    ErrorClass.CONTENT_POLICY,
                    tr(
                        "fal.ai refused this prompt under its content policy ({msgs}). Rephrase it."
                    ).format(msgs=msgs),
                    code="content_policy_violation",
                    **kw,
                )
            return ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr("fal.ai rejected the input: {msgs}.").format(msgs=msgs),
                code=next(iter(types), None),
                **kw,
            )
        error_type = resp.headers.get("x-fal-error-type") or data.get("error_type")
        text = str(detail or "")
        if resp.status_code == 504 or error_type in ("request_timeout", "startup_timeout"):
            return ProviderError(
                ErrorClass.TIMEOUT,
                tr("fal.ai timed out ({reason}).").format(reason=error_type or text),
                code=error_type,
                **kw,
            )
        return default_error(
            resp.status_code,
            self.label,
            text or (error_type or ""),
            code=error_type,
            retryable=retryable,
            retry_after_s=kw["retry_after_s"],
        )

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Submit (or follow ``request.resume``), poll, fetch and download. Cancelling the
        task cancels the queued request."""
        sub = request.resume or await self._submit(request)
        status_url, response_url = sub["status_url"], sub["response_url"]
        cancel_url = sub.get("cancel_url")
        try:
            await self.poll(lambda: self._status(status_url, request))
        except ProviderError as e:
            if request.resume and e.status == 404:  # the queue forgot it: submit anew
                raise remote_gone(self.label, tr("the queued request")) from e
            if cancel_url and e.code != "completed_with_error":
                await fire_and_forget(self.request("PUT", cancel_url, headers=self._headers()))
            raise
        except asyncio.CancelledError:
            if cancel_url and not request.detached():
                await fire_and_forget(self.request("PUT", cancel_url, headers=self._headers()))
            raise
        result = self.json_of(await self.request("GET", response_url, headers=self._headers()))
        items = result.get("images") if isinstance(result, dict) else None
        if not items:
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("fal.ai finished without any image."), status=200
            )
        nsfw = result.get("has_nsfw_concepts") or []
        if any(nsfw):
            raise ProviderError(
                ErrorClass.CONTENT_POLICY,
                tr(
                    "fal.ai's safety checker flagged the result and "
                    "blacked it out. Rephrase the prompt."
                ),
                status=200,
                code="nsfw",
            )
        images = []
        for item in items:
            data, ctype = await self.download(str(item["url"]))
            images.append(
                GeneratedImage(data, item.get("content_type") or ctype, result.get("seed"))
            )
        return GenerationResult(images=images, request_id=sub.get("request_id"))

    async def _submit(self, request: GenerationRequest) -> dict[str, Any]:
        """Queue the request; its URLs are handed to ``request.submitted`` at once."""
        resp = await self.request(
            "POST",
            f"{self.base_url}/{request.model}",
            json=self.body(request),
            headers=self._headers(),
        )
        sub = self.json_of(resp)
        if not isinstance(sub, dict) or "status_url" not in sub or "response_url" not in sub:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("fal.ai's submission answer has no status URL."),
                status=resp.status_code,
            )
        keep = ("status_url", "response_url", "cancel_url", "request_id")
        handle = {k: sub[k] for k in keep if sub.get(k)}
        request.submitted(handle)
        return handle

    async def _status(self, url: str, request: GenerationRequest) -> bool | None:
        resp = await self.request("GET", url, params={"logs": "1"}, headers=self._headers())
        data = self.json_of(resp)
        status = data.get("status") if isinstance(data, dict) else None
        if status == "COMPLETED":
            request.progress(1.0)
            if data.get("error"):
                raise ProviderError(
                    ErrorClass.SERVER_ERROR,
                    tr("fal.ai failed the request: {reason}.").format(reason=data["error"]),
                    code="completed_with_error",
                )
            return True
        if status == "IN_PROGRESS":
            request.progress(0.5)
        elif status == "IN_QUEUE":
            request.progress(0.0)
        else:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("fal.ai reported an unknown status {status!r}.").format(status=status),
            )
        return None

    async def test_connection(self) -> str:
        """Check the key with a status query for a request id that does not exist: 401/403 mean a
        bad key; 404/422 mean the key was accepted (fal has no free account endpoint on the queue)."""
        try:
            resp = await self.probe(
                "GET",
                f"{self.base_url}/fal-ai/flux/requests/atelier-connection-test/status",
                headers=self._headers(),
                ok=(400, 404, 422),
            )
        except ProviderError as e:
            if e.error_class is ErrorClass.AUTH:
                e.message = tr("fal.ai rejected the API key. Check it in Settings → Providers.")
            raise
        return tr("Connected to {base_url}: key accepted (HTTP {status} for a test id).").format(
            base_url=self.base_url, status=resp.status_code
        )
