"""Alibaba Qwen-Image on Model Studio (DashScope), international endpoint: strong at Chinese and
Japanese text in images.

Wire facts, from Alibaba Cloud Model Studio's "Qwen - text-to-image API reference"
(alibabacloud.com/help/en/model-studio/qwen-image-api, stored copies of 2025-11 and 2026-02)
and the official ``dashscope`` SDK 2.0.2 (``aigc/image_synthesis.py``, ``client/base_api.py``,
``api_entities/http_request.py``), which the tests drive against the fake:

- Asynchronous task: ``POST {base}/api/v1/services/aigc/text2image/image-synthesis`` with
  ``Authorization: Bearer KEY`` and ``X-DashScope-Async: enable``, JSON
  ``{"model", "input": {"prompt", "negative_prompt"}, "parameters": {"size": "W*H", "n",
  "seed", "prompt_extend", "watermark"}}`` → ``{"request_id", "output": {"task_id",
  "task_status": "PENDING"}}``.
- Poll ``GET {base}/api/v1/tasks/{task_id}`` → ``output.task_status`` PENDING | RUNNING |
  SUCCEEDED | FAILED (| CANCELED | UNKNOWN: the task expired); on success
  ``output.results[].url`` (valid 24 h: downloaded at once, without the key) and
  ``usage.image_count``; on failure ``output.code``/``output.message`` (``DataInspectionFailed``
  for the content check).
- HTTP errors ``{"request_id", "code", "message"}``: 400 ``InvalidParameter``, 400
  ``DataInspectionFailed`` (content), 401 ``InvalidApiKey``, 429 ``Throttling*``, 5xx.
- Sizes of qwen-image / qwen-image-plus: 1664*928 (16:9), 1472*1140 (4:3), 1328*1328 (1:1,
  the default), 1140*1472 (3:4), 928*1664 (9:16); one image per task.

The international (Singapore) endpoint is ``dashscope-intl.aliyuncs.com``; Beijing keys do not
work there. ``prompt_extend`` is sent ``false`` (the prompt, and the text it asks to render, is
used as written) and ``watermark`` ``false``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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
    remote_gone,
)
from atelier.providers.catalogue import CatalogueModels
from atelier.providers.http import HttpProvider, default_error, error_body, parse_retry_after

_SIZES = ("auto", "1328x1328", "1664x928", "928x1664", "1472x1140", "1140x1472")
_CONTENT = ("DataInspectionFailed", "DataInspection", "IPInfringementSuspect")
_AUTH = ("InvalidApiKey", "AccessDenied", "Unauthorized")


CAPABILITIES = Capabilities(
    name="qwen",
    label="Alibaba Qwen-Image",
    description=N_("DashScope, Chinese and Japanese text"),
    models=CatalogueModels("qwen"),
    needs_key=True,
    key_env_var=PROVIDER_ACCESS["qwen"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["qwen"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["qwen"].default_base_url,
    negative_prompt=True,
    seed=True,
    default_concurrency=2,
)


class QwenImageProvider(HttpProvider):
    """Qwen-Image through DashScope's asynchronous tasks: submit, poll, download."""

    capabilities = CAPABILITIES

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.need_key()}"}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The task body of ``req`` (size ``auto`` sends none: the model's 1328*1328)."""
        inp: dict[str, Any] = {"prompt": req.prompt}
        if req.negative_prompt:
            inp["negative_prompt"] = req.negative_prompt
        params: dict[str, Any] = {"n": req.n, "prompt_extend": False, "watermark": False}
        if req.size != "auto":
            w, h = parse_size(req.size)
            params["size"] = f"{w}*{h}"
        if req.seed is not None:
            params["seed"] = (req.seed + req.first_sample) % 2_147_483_648
        return {"model": req.model, "input": inp, "parameters": params}

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        code = str(data.get("code") or "") or None
        message = str(data.get("message") or "")
        known = _by_code(code, message, resp.status_code)
        if known is not None:
            return known
        return default_error(
            resp.status_code,
            self.label,
            f"{code}: {message}" if code and message else code or message,
            code=code,
            retry_after_s=parse_retry_after(resp.headers),
        )

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Submit (or follow ``request.resume``), poll the task, download its images.

        Raises:
            ProviderError: classified; a FAILED task by its ``code``; a task the server no
                longer knows (404, ``UNKNOWN``) while followed is ``remote_gone``.
        """
        task = request.resume or await self._submit(request)
        task_id = str(task["task_id"])
        try:
            urls = await self.poll(lambda: self._check(task_id, request))
        except ProviderError as e:
            if request.resume and (e.status == 404 or e.code == "UNKNOWN"):
                raise remote_gone(self.label, tr("the task")) from e
            raise
        images = []
        for url in urls:
            data, ctype = await self.download(url)
            images.append(GeneratedImage(data, ctype))
        return GenerationResult(images=images, request_id=task_id)

    async def _submit(self, request: GenerationRequest) -> dict[str, Any]:
        resp = await self.request(
            "POST",
            f"{self.base_url}/api/v1/services/aigc/text2image/image-synthesis",
            json=self.body(request),
            headers={**self._headers(), "X-DashScope-Async": "enable"},
        )
        data = self.json_of(resp)
        output = data.get("output") if isinstance(data, dict) else None
        if not isinstance(output, dict) or not output.get("task_id"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} accepted the task without a task_id.").format(provider=self.label),
                status=resp.status_code,
            )
        handle = {"task_id": str(output["task_id"])}
        request.submitted(handle)
        return handle

    async def _check(self, task_id: str, request: GenerationRequest) -> list[str] | None:
        url = f"{self.base_url}/api/v1/tasks/{quote(task_id, safe='')}"
        data = self.json_of(await self.request("GET", url, headers=self._headers()))
        output = data.get("output") if isinstance(data, dict) else None
        status = str(output.get("task_status")) if isinstance(output, dict) else "?"
        if status == "SUCCEEDED" and isinstance(output, dict):
            request.progress(1.0)
            urls = [
                str(r["url"])
                for r in output.get("results") or []
                if isinstance(r, dict) and r.get("url")
            ]
            if not urls:
                raise _failed(output, self.label)
            return urls
        if status in ("FAILED", "CANCELED", "UNKNOWN") and isinstance(output, dict):
            raise _failed(output, self.label)
        if status not in ("PENDING", "RUNNING"):
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} sent an unknown task status {status!r}.").format(
                    provider=self.label, status=status
                ),
            )
        request.progress(0.5 if status == "RUNNING" else 0.1)
        return None

    async def test_connection(self) -> str:
        """``GET {base}/api/v1/tasks/atelier-check``: free; 401 for a bad key, else the key
        works (an unknown task id is answered, not refused)."""
        try:
            await self.probe(
                "GET", f"{self.base_url}/api/v1/tasks/atelier-check", headers=self._headers()
            )
        except ProviderError as e:
            if e.error_class is not ErrorClass.INVALID_REQUEST:
                raise
        return tr("Connected to {base_url}: key accepted.").format(base_url=self.base_url)


def _by_code(code: str | None, message: str, status: int) -> ProviderError | None:
    """The error class a DashScope ``code`` names (content check, key), else ``None``."""
    detail = f" ({code}: {message})" if message else f" ({code})" if code else ""
    if code in _CONTENT:
        return ProviderError(
            ErrorClass.CONTENT_POLICY,
            tr(
                "Alibaba Qwen-Image refused this prompt in its content check{detail}. Rephrase the prompt; retrying the same prompt will not help."
            ).format(detail=detail),
            status=status,
            code=code,
        )
    if code in _AUTH:
        return ProviderError(
            ErrorClass.AUTH,
            tr(
                "Alibaba Qwen-Image rejected the API key{detail}. Keys of the Beijing region do not work on the international endpoint; check it in Settings → Providers."
            ).format(detail=detail),
            status=status,
            code=code,
        )
    return None


def _failed(output: dict[str, Any], label: str) -> ProviderError:
    """The error of a task that ended without an image (``output.code``/``message``)."""
    code = str(output.get("code") or output.get("task_status") or "") or None
    message = str(output.get("message") or "")
    known = _by_code(code, message, 200)
    if known is not None:
        return known
    return ProviderError(
        ErrorClass.SERVER_ERROR,
        tr("{provider} reports the task as failed{detail}.").format(
            provider=label, detail=f" ({code}: {message})" if message else f" ({code})"
        ),
        code=code,
    )
