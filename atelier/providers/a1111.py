"""AUTOMATIC1111 / Forge web UI started with ``--api`` (self-hosted Stable Diffusion).

Wire facts from ``shared/docs/providers.md`` ("Self-hosted", [V]): ``POST /sdapi/v1/txt2img``
and ``/sdapi/v1/img2img`` JSON (``prompt``, ``negative_prompt``, ``seed`` −1 = random,
``steps``, ``cfg_scale``, ``width``/``height``, ``batch_size``, ``n_iter``, ``sampler_name``;
img2img adds ``init_images``, ``mask``, ``denoising_strength``) → ``{"images":[b64 PNG],
"parameters", "info": a JSON *string*}``; optional HTTP Basic auth (``--api-auth user:pass``,
entered as the key); one request at a time; progress at ``GET /sdapi/v1/progress``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
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
    ModelInfo,
)
from atelier.providers.http import HttpProvider, default_error, error_body, validation_errors

_SIZES = ("512x512", "768x768", "1024x1024", "832x1216", "1216x832", "768x1344", "1344x768")

CAPABILITIES = Capabilities(
    name="a1111",
    label="AUTOMATIC1111",
    description=N_("Forge too, self-hosted"),
    models=(
        ModelInfo(
            "current",
            "The checkpoint loaded in the web UI",
            _SIZES,
            ("auto",),
            transparent_background=False,
            max_samples_per_request=8,
            custom_size_multiple=8,
            max_width=2048,
            max_height=2048,
            edits=True,
            masks=True,
            max_references=1,  # img2img starts from one init image: a second is refused
        ),
    ),
    needs_key=False,
    key_env_var=PROVIDER_ACCESS["a1111"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["a1111"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["a1111"].default_base_url,
    negative_prompt=True,
    seed=True,
    edits=True,
    default_concurrency=1,
    max_concurrency=1,
    key_label=N_("user:password (only with --api-auth)"),
    local=True,
)


class A1111Provider(HttpProvider):
    """txt2img/img2img with progress from ``/sdapi/v1/progress`` while the request runs."""

    capabilities = CAPABILITIES

    default_timeout_s = 600.0

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        steps: int = 25,
        cfg_scale: float = 7.0,
        sampler_name: str | None = None,
        **http: Any,
    ) -> None:
        super().__init__(api_key, base_url, **http)
        self.steps, self.cfg_scale, self.sampler_name = steps, cfg_scale, sampler_name
        if api_key and ":" in api_key:  # --api-auth user:password, on every request of this client
            user, _, pw = api_key.partition(":")
            self._client.auth = httpx.BasicAuth(user, pw)

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The txt2img (or img2img) JSON body."""
        w, h = parse_size(req.size)
        body: dict[str, Any] = {
            "prompt": req.prompt,
            "negative_prompt": req.negative_prompt,
            "seed": -1 if req.seed is None else req.seed + req.first_sample,
            "steps": self.steps,
            "cfg_scale": self.cfg_scale,
            "width": w,
            "height": h,
            "batch_size": req.n,
            "n_iter": 1,
        }
        if self.sampler_name:
            body["sampler_name"] = self.sampler_name
        if req.reference_images:
            body["init_images"] = [base64.b64encode(i).decode() for i in req.reference_images[:1]]
            body["denoising_strength"] = 0.6
            if req.mask is not None:
                body["mask"] = base64.b64encode(req.mask).decode()
        return body

    def classify(self, resp: httpx.Response) -> ProviderError:
        data = error_body(resp)
        detail = data.get("detail")
        if resp.status_code == 401:
            return ProviderError(
                ErrorClass.AUTH,
                tr(
                    "AUTOMATIC1111 asked for a login: enter user:password "
                    "(its --api-auth) as the key in Settings → Providers."
                ),
                status=401,
            )
        if resp.status_code == 404:
            return ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr(
                    "This server has no /sdapi/v1 API: start the web UI "
                    "with --api, and check the endpoint."
                ),
                status=404,
            )
        if resp.status_code == 422 and isinstance(detail, list):
            text = validation_errors(detail)
            return ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr("AUTOMATIC1111 rejected the request: {text}.").format(text=text),
                status=422,
            )
        error = data.get("error")
        text = " ".join(str(x) for x in (error, detail) if x)
        return default_error(resp.status_code, self.label, text, code=str(error) if error else None)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """One txt2img/img2img request; the real seed comes from ``info``."""
        route = "img2img" if request.reference_images else "txt2img"
        post = asyncio.create_task(
            self.request(
                "POST",
                f"{self.base_url}/sdapi/v1/{route}",
                json=self.body(request),
            )
        )
        watcher = asyncio.create_task(self._watch_progress(request))
        try:
            resp = await post
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if (
                not post.done() or post.cancelled()
            ):  # we were cancelled mid-render: stop the GPU too
                post.cancel()
                await self._interrupt()
        data = self.json_of(resp)
        try:
            images = [base64.b64decode(b, validate=True) for b in data.get("images") or []]
        except (binascii.Error, ValueError, AttributeError) as e:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("AUTOMATIC1111 sent an image that is not valid base64."),
                status=resp.status_code,
            ) from e
        if not images:
            raise ProviderError(
                ErrorClass.SERVER_ERROR, tr("AUTOMATIC1111 answered without images.")
            )
        seeds: list[int] = []
        try:
            info = json.loads(data.get("info") or "{}")
            seeds = [int(s) for s in info.get("all_seeds") or [info.get("seed")] if s is not None]
        except (ValueError, TypeError, AttributeError):
            pass  # the images are fine; only the seed record is lost
        out = [
            GeneratedImage(img, "image/png", seeds[i] if i < len(seeds) else None)
            for i, img in enumerate(images[: request.n])
        ]
        request.progress(1.0)
        return GenerationResult(images=out)

    async def _watch_progress(self, request: GenerationRequest) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            with contextlib.suppress(ProviderError, httpx.HTTPError, ValueError):
                resp = await self._client.get(
                    f"{self.base_url}/sdapi/v1/progress",
                    params={"skip_current_image": "true"},
                    timeout=5.0,
                )
                if resp.status_code == 200:
                    request.progress(float(resp.json().get("progress") or 0.0))

    async def _interrupt(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(
                self._client.post(f"{self.base_url}/sdapi/v1/interrupt", timeout=5.0)
            )

    async def test_connection(self) -> str:
        """``GET /sdapi/v1/sd-models``: proves the API is on and lists the checkpoints."""
        resp = await self.probe(
            "GET",
            f"{self.base_url}/sdapi/v1/sd-models",
            hint=tr("Is the web UI running with --api?"),
        )
        models = self.json_of(resp)
        return tr("Connected to {base_url}: {count} checkpoints.").format(
            base_url=self.base_url, count=len(models) if isinstance(models, list) else "?"
        )
