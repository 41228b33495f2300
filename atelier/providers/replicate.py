"""Replicate predictions on official models.

Wire facts from ``shared/docs/providers.md`` ("Replicate", replicate-python 2025-06):
``POST {base}/v1/models/{owner}/{name}/predictions {"input":{…}}`` with ``Authorization: Bearer``
and optional ``Prefer: wait`` (≤ 60 s); a prediction is ``{"id","status":"starting|processing|
succeeded|failed|canceled","output","error","urls":{"get","cancel"}}``; poll ``urls.get``;
cancel with ``POST urls.cancel``; output URLs expire after an hour; errors are RFC 7807
``{"type","title","status","detail"}``; 600 creates per minute. A failed prediction's error starts
with Replicate's code; ``E005`` is its "flagged as sensitive" code.
"""

from __future__ import annotations

import asyncio
import re
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
)
from atelier.providers.inputs import data_uri
from atelier.providers.sizes import nearest_aspect_ratio

ASPECT_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_SIZES = ("1024x1024", "1344x768", "768x1344", "1216x832", "832x1216", "1152x896", "896x1152")


CAPABILITIES = Capabilities(
    name="replicate",
    label="Replicate",
    models=CatalogueModels("replicate"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["replicate"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["replicate"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["replicate"].default_base_url,
    seed=True,
    edits=True,
    default_concurrency=8,
    rate_limit=(600, 60.0),
)
_THROTTLE = re.compile(r"available in (\d+(?:\.\d+)?) second")


def nearest_ratio(size: str) -> str:
    """The supported aspect ratio nearest to ``size``."""
    return nearest_aspect_ratio(size, ASPECT_RATIOS)


class ReplicateProvider(HttpProvider):
    """Replicate's official-model predictions route."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        wait_s: int = 30,
        **http: Any,
    ) -> None:
        super().__init__(api_key, base_url, **http)
        self.wait_s = wait_s

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.need_key()}"}

    def model_input(self, req: GenerationRequest) -> dict[str, Any]:
        """The ``input`` object for ``req``'s model."""
        inp: dict[str, Any] = {"prompt": req.prompt, "aspect_ratio": nearest_ratio(req.size)}
        fmt = {"jpeg": "jpg"}.get(req.output_format, req.output_format)
        if req.model == "bytedance/seedream-4":
            inp.update(
                {"size": "2K" if max(parse_size(req.size)) > 1024 else "1K", "max_images": req.n}
            )
        else:
            inp["output_format"] = fmt
            if req.n > 1:
                inp["num_outputs"] = req.n
        if req.seed is not None:
            inp["seed"] = req.seed + req.first_sample
        if req.reference_images:
            inp["input_image"] = data_uri(req.reference_images[0])
        return inp

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        detail = str(data.get("detail") or data.get("title") or "")
        retry_after = parse_retry_after(resp.headers)
        if resp.status_code == 429 and retry_after is None:
            m = _THROTTLE.search(detail)  # only to learn the wait, never to classify
            retry_after = float(m.group(1)) if m else None
        if resp.status_code == 422:
            return ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr("Replicate rejected the input ({detail}).").format(detail=detail),
                status=422,
            )
        return default_error(resp.status_code, self.label, detail, retry_after_s=retry_after)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Create a prediction (waiting up to ``wait_s`` in the request) or follow
        ``request.resume``, poll it, download the outputs. Cancelling the task cancels the
        prediction."""
        if request.resume:
            urls: dict[str, Any] = dict(request.resume)
            pred: dict[str, Any] = {"status": "starting"}
        else:
            pred = await self._create(request)
            urls = pred.get("urls") or {}
            request.submitted(
                {"id": pred["id"], "get": urls.get("get"), "cancel": urls.get("cancel")}
            )
        try:
            if pred.get("status") not in ("succeeded", "failed", "canceled"):
                pred = await self.poll(lambda: self._check(str(urls.get("get")), request))
        except ProviderError as e:
            if request.resume and e.status == 404:
                raise remote_gone(self.label, tr("the prediction")) from e
            raise
        except asyncio.CancelledError:
            if urls.get("cancel") and not request.detached():
                await fire_and_forget(
                    self.request("POST", str(urls["cancel"]), headers=self._headers())
                )
            raise
        return await self._finish(pred)

    async def _create(self, request: GenerationRequest) -> dict[str, Any]:
        url = f"{self.base_url}/v1/models/{request.model}/predictions"
        resp = await self.request(
            "POST",
            url,
            json={"input": self.model_input(request)},
            headers={**self._headers(), "Prefer": f"wait={self.wait_s}"},
        )
        pred = self.json_of(resp)
        if not isinstance(pred, dict) or "id" not in pred:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Replicate's answer has no prediction id."),
                status=resp.status_code,
            )
        return dict(pred)

    async def _check(self, url: str, request: GenerationRequest) -> dict[str, Any] | None:
        pred = self.json_of(await self.request("GET", url, headers=self._headers()))
        status = pred.get("status") if isinstance(pred, dict) else None
        if status in ("succeeded", "failed", "canceled"):
            request.progress(1.0)
            return dict(pred)
        request.progress(0.5 if status == "processing" else 0.0)
        return None

    async def _finish(self, pred: dict[str, Any]) -> GenerationResult:
        status = pred.get("status")
        if status == "failed":
            error = str(pred.get("error") or tr("unknown error"))
            code = error.split(":", 1)[0].strip() if re.match(r"^E\d{3,4}\b", error) else None
            if code == "E005":
                raise ProviderError(
                    ErrorClass.CONTENT_POLICY,
                    tr(
                        "Replicate flagged the input or output as sensitive ({error}). Rephrase the prompt."
                    ).format(error=error),
                    code=code,
                )
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("Replicate's prediction failed: {error}.").format(error=error),
                code=code,
            )
        if status == "canceled":
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("The Replicate prediction was cancelled on Replicate's side."),
                code="canceled",
            )
        output = pred.get("output")
        links = [output] if isinstance(output, str) else [str(u) for u in output or []]
        if not links:
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("Replicate's prediction succeeded without output.")
            )
        images = []
        for link in links:
            data, ctype = await self.download(link)
            images.append(GeneratedImage(data, ctype))
        return GenerationResult(images=images, request_id=str(pred.get("id")))

    async def test_connection(self) -> str:
        """``GET {base}/v1/account``: free; 401 for a bad token."""
        resp = await self.probe("GET", f"{self.base_url}/v1/account", headers=self._headers())
        data = self.json_of(resp)
        who = data.get("username", "account") if isinstance(data, dict) else "account"
        return tr("Connected to {base_url}: token accepted ({who}).").format(
            base_url=self.base_url, who=who
        )
