"""ComfyUI: run a workflow saved in API format, with the row's prompt, negative prompt, seed
and size written into the right nodes.

Wire facts from ``shared/docs/providers.md`` ("Self-hosted", [V]): ``POST /prompt
{"prompt":{node_id:{"class_type","inputs"}},"client_id"}`` → ``{"prompt_id","number",
"node_errors"}`` (400 with ``node_errors`` for a bad graph); websocket ``/ws?clientId=`` with
``progress``, ``executing``, ``executed`` and ``execution_error`` events; ``GET /history/{id}``
is ``{}`` until done; images at ``GET /view?filename=&subfolder=&type=output``; no auth.

Finding the inputs: from each sampler (``KSampler``, ``KSamplerAdvanced``…) follow
``positive``/``negative`` to the text-encode node's ``text``, take its ``seed``/``noise_seed``,
and follow ``latent_image`` to ``EmptyLatentImage``-like nodes for ``width``/``height``/
``batch_size``. A mapping such as ``{"prompt": "6.text", "seed": "3.seed"}`` overrides or
completes what was found.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from atelier.core.errors import ErrorClass, InputError, ProviderError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import parse_size
from atelier.core.provider_access import PROVIDER_ACCESS
from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    remote_gone,
)
from atelier.providers.http import HttpProvider, default_error, fire_and_forget

CAPABILITIES = Capabilities(
    name="comfyui",
    label="ComfyUI",
    description=N_("self-hosted workflow"),
    models=(
        ModelInfo(
            "workflow",
            "The chosen workflow (API format)",
            ("512x512", "768x768", "1024x1024", "832x1216", "1216x832"),
            ("auto",),
            transparent_background=False,
            max_samples_per_request=8,
            custom_size_multiple=8,
            max_width=4096,
            max_height=4096,
        ),
    ),
    needs_key=False,
    key_env_var=PROVIDER_ACCESS["comfyui"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["comfyui"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["comfyui"].default_base_url,
    negative_prompt=True,
    seed=True,
    default_concurrency=1,
    max_concurrency=2,
    local=True,
)
SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
TEXT_INPUTS = ("text", "text_g", "prompt")
FIELDS = (
    "prompt",
    "negative_prompt",
    "seed",
    "width",
    "height",
    "batch_size",
    "steps",
    "cfg",
    "sampler_name",
)


@dataclass(frozen=True)
class Target:
    """One input of one node: ``("6", "text")``."""

    node: str
    input: str

    def __str__(self) -> str:
        return f"{self.node}.{self.input}"


def load_workflow(path: Path) -> dict[str, Any]:
    """Read a workflow saved with "Save (API format)".

    Raises:
        InputError: not JSON, or the UI format (``nodes``/``links``) instead of the API format.
    """
    graph = read_json(path, N_("workflow"))
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise InputError(
            str(path),
            tr(
                "this is ComfyUI's UI format; save it with “Save (API Format)” "
                "(enable the dev mode options) and pick that file"
            ),
        )
    if isinstance(graph, dict) and "prompt" in graph and isinstance(graph["prompt"], dict):
        graph = graph["prompt"]
    if not isinstance(graph, dict) or not all(
        isinstance(n, dict) and "class_type" in n for n in graph.values()
    ):
        raise InputError(
            str(path), tr("not a ComfyUI API-format workflow (node id → {class_type, inputs})")
        )
    return graph


def _apply_mapping(
    graph: dict[str, Any], mapping: dict[str, str], found: dict[str, Target]
) -> None:
    """Put the user's ``field → node.input`` mapping into ``found``, over what was found.

    Raises:
        InputError: an unknown field, or a node or input the workflow does not have.
    """
    for field, where in mapping.items():
        if field not in FIELDS:
            raise InputError(
                tr("workflow mapping"),
                tr("unknown field {field!r} (known: {fields})").format(
                    field=field, fields=", ".join(FIELDS)
                ),
            )
        node_id, _, input_name = where.partition(".")
        if node_id not in graph or input_name not in graph[node_id].get("inputs", {}):
            raise InputError(
                tr("workflow mapping"),
                tr(
                    "{field} → {where}: the workflow has no node {node_id!r} with an input {input_name!r}"
                ).format(field=field, where=where, node_id=node_id, input_name=input_name),
            )
        found[field] = Target(node_id, input_name)


def find_targets(graph: dict[str, Any], mapping: dict[str, str] | None = None) -> dict[str, Target]:
    """Where each Atelier field goes in ``graph``.

    Raises:
        InputError: no prompt input found and none mapped, or a mapping names a missing node/input.
    """
    found: dict[str, Target] = {}

    def link(value: Any) -> str | None:
        return str(value[0]) if isinstance(value, list) and value else None

    def text_target(node_id: str | None) -> Target | None:
        node = graph.get(node_id or "")
        if not node:
            return None
        for name in TEXT_INPUTS:
            if isinstance(node.get("inputs", {}).get(name), str):
                return Target(str(node_id), name)
        return None

    for nid, node in graph.items():
        if node.get("class_type") not in SAMPLERS:
            continue
        inputs = node.get("inputs", {})
        if (t := text_target(link(inputs.get("positive")))) and "prompt" not in found:
            found["prompt"] = t
        if (t := text_target(link(inputs.get("negative")))) and "negative_prompt" not in found:
            found["negative_prompt"] = t
        for seed_name in ("seed", "noise_seed"):
            if isinstance(inputs.get(seed_name), int) and "seed" not in found:
                found["seed"] = Target(nid, seed_name)
        for name, field in (("steps", "steps"), ("cfg", "cfg"), ("sampler_name", "sampler_name")):
            if name in inputs and field not in found and not isinstance(inputs[name], list):
                found[field] = Target(nid, name)
        latent = graph.get(link(inputs.get("latent_image")) or "")
        if latent:
            lid = link(inputs.get("latent_image")) or ""
            for name in ("width", "height", "batch_size"):
                if isinstance(latent.get("inputs", {}).get(name), int) and name not in found:
                    found[name] = Target(lid, name)
    _apply_mapping(graph, mapping or {}, found)
    if "prompt" not in found:
        raise InputError(
            "workflow",
            tr(
                "found no prompt input (no sampler whose positive input is a text-encode "
                "node); map it, e.g. prompt=6.text"
            ),
        )
    return found


def apply_request(
    graph: dict[str, Any], targets: dict[str, Target], req: GenerationRequest
) -> dict[str, Any]:
    """A copy of ``graph`` with ``req``'s values written into the targets."""
    g = copy.deepcopy(graph)
    w, h = parse_size(req.size)
    values: dict[str, Any] = {"prompt": req.prompt, "width": w, "height": h, "batch_size": req.n}
    if req.negative_prompt:
        values["negative_prompt"] = req.negative_prompt
    values["seed"] = (
        (req.seed + req.first_sample) if req.seed is not None else uuid.uuid4().int % 2**32
    )
    for field, value in values.items():
        t = targets.get(field)
        if t is not None:
            g[t.node]["inputs"][t.input] = value
    return g


def describe_node_errors(data: Any, graph: dict[str, Any]) -> str:
    """``node 3 (KSampler) sampler_name: 'bogus' not in […]`` for each node error."""
    parts: list[str] = []
    node_errors = data.get("node_errors") if isinstance(data, dict) else None
    for nid, info in (node_errors or {}).items():
        cls = info.get("class_type") or graph.get(nid, {}).get("class_type", "?")
        for err in info.get("errors", []):
            detail = err.get("details") or err.get("message")
            parts.append(
                tr("node {node} ({type}): {message}: {detail}").format(
                    node=nid, type=cls, message=err.get("message"), detail=detail
                )
            )
    if not parts and isinstance(data, dict) and isinstance(data.get("error"), dict):
        parts.append(str(data["error"].get("message")))
    return "; ".join(parts) or tr("the workflow was rejected")


def queue_ids(data: Any, key: str) -> set[str]:
    """The prompt ids of ``GET /queue``'s ``queue_running`` or ``queue_pending`` list (each item
    ``[number, prompt_id, prompt, extra_data, outputs]``, ComfyUI's ``server.py``)."""
    items = data.get(key) if isinstance(data, dict) else None
    return {str(i[1]) for i in items or [] if isinstance(i, list) and len(i) > 1}


class ComfyUIProvider(HttpProvider):
    """Queue the workflow, follow it on the websocket (or by polling ``/history``), download
    the outputs."""

    capabilities = CAPABILITIES

    default_timeout_s = 600.0

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        workflow: str | Path | dict[str, Any] | None = None,
        mapping: dict[str, str] | None = None,
        use_websocket: bool = True,
        **http: Any,
    ) -> None:
        super().__init__(api_key, base_url, **http)
        self.graph: dict[str, Any] = {}
        self.targets: dict[str, Target] = {}
        if workflow is not None:  # None: enough for "Test connection", not for generating
            self.graph = workflow if isinstance(workflow, dict) else load_workflow(Path(workflow))
            self.targets = find_targets(self.graph, mapping)
        self.use_websocket = use_websocket

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Queue (or follow ``request.resume``), follow, download. Cancelling (or a job
        timeout) removes our prompt from the queue or interrupts it if it runs, never another
        prompt (``_cancel``)."""
        if not self.graph:
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr(
                    "ComfyUI needs a workflow saved in API format "
                    "(--workflow FILE, or “Workflow…” in the batch settings)."
                ),
            )
        if request.resume:
            return await self._resume(str(request.resume["prompt_id"]), request)
        client_id = uuid.uuid4().hex
        ws = await self._open_ws(client_id) if self.use_websocket else None
        try:
            prompt_id = await self._queue(request, client_id)
            try:
                if ws is not None and await self._follow_ws(ws, prompt_id, request):
                    pass
                entry = await self.poll(lambda: self._history(prompt_id))
            except asyncio.CancelledError:
                if not request.detached():
                    await fire_and_forget(self._cancel(prompt_id))
                raise
        finally:
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
        return await self._collect(entry, request)

    async def _queue(self, request: GenerationRequest, client_id: str) -> str:
        """``POST /prompt``; the prompt id goes to ``request.submitted`` at once."""
        graph = apply_request(self.graph, self.targets, request)
        resp = await self.request(
            "POST",
            f"{self.base_url}/prompt",
            ok=(400,),
            json={"prompt": graph, "client_id": client_id},
        )
        data = self.json_of(resp)
        if resp.status_code == 400 or (isinstance(data, dict) and data.get("node_errors")):
            raise ProviderError(
                ErrorClass.INVALID_REQUEST,
                tr("ComfyUI rejected the workflow: {reason}.").format(
                    reason=describe_node_errors(data, graph)
                ),
                status=resp.status_code,
                code="node_errors",
            )
        prompt_id = str(data.get("prompt_id"))
        request.submitted({"prompt_id": prompt_id})
        return prompt_id

    async def _resume(self, prompt_id: str, request: GenerationRequest) -> GenerationResult:
        """Follow a prompt an earlier attempt queued: by ``/history`` while ``/queue`` still
        holds it (a restarted server has forgotten it: ``remote_gone``)."""

        async def step() -> dict[str, Any] | None:
            entry = await self._history(prompt_id)
            if entry is None and not await self._queued(prompt_id):
                # Finished between the two calls, or gone: look once more before giving up.
                entry = await self._history(prompt_id)
                if entry is None:
                    raise remote_gone(self.label, tr("the prompt"))
            return entry

        try:
            entry = await self.poll(step)
        except asyncio.CancelledError:
            if not request.detached():
                await fire_and_forget(self._cancel(prompt_id))
            raise
        return await self._collect(entry, request)

    async def _queued(self, prompt_id: str) -> bool:
        """Whether ``prompt_id`` is running or waiting in ComfyUI's queue."""
        data = self.json_of(await self.request("GET", f"{self.base_url}/queue"))
        return any(prompt_id in queue_ids(data, k) for k in ("queue_running", "queue_pending"))

    async def _open_ws(self, client_id: str) -> Any:
        import websockets

        url = httpx.URL(self.base_url).copy_with(
            scheme="wss" if self.base_url.startswith("https") else "ws"
        )
        try:
            return await websockets.connect(
                f"{str(url).rstrip('/')}/ws?clientId={client_id}",
                open_timeout=5,
                close_timeout=1,
                max_size=None,
            )
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError):
            return None  # fall back to polling /history

    async def _follow_ws(self, ws: Any, prompt_id: str, request: GenerationRequest) -> bool:
        """Read events until our prompt finishes; ``False`` when the socket broke (poll instead)."""
        import websockets

        try:
            async for raw in ws:
                if not isinstance(raw, str):
                    continue  # binary preview frames
                msg = json.loads(raw)
                kind, data = msg.get("type"), msg.get("data") or {}
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                if kind == "progress" and data.get("max"):
                    request.progress(float(data.get("value", 0)) / float(data["max"]))
                elif kind == "execution_error":
                    raise ProviderError(
                        ErrorClass.SERVER_ERROR,
                        tr("ComfyUI failed in node {node} ({type}): {reason}").format(
                            node=data.get("node_id"),
                            type=data.get("node_type"),
                            reason=data.get("exception_message", "").strip(),
                        ),
                        code="execution_error",
                    )
                elif kind == "execution_interrupted":
                    raise ProviderError(
                        ErrorClass.SERVER_ERROR,
                        tr("ComfyUI's run was interrupted."),
                        code="interrupted",
                    )
                elif kind == "execution_success" or (
                    kind == "executing"
                    and data.get("node") is None
                    and data.get("prompt_id") == prompt_id
                ):
                    request.progress(1.0)
                    return True
        except (websockets.exceptions.WebSocketException, OSError, ValueError):
            return False
        return False

    async def _history(self, prompt_id: str) -> dict[str, Any] | None:
        data = self.json_of(await self.request("GET", f"{self.base_url}/history/{prompt_id}"))
        entry = data.get(prompt_id) if isinstance(data, dict) else None
        if not entry:
            return None
        status = entry.get("status") or {}
        if status.get("status_str") == "error":
            msg = next(
                (
                    m[1].get("exception_message", "")
                    for m in status.get("messages", [])
                    if isinstance(m, list) and len(m) > 1 and m[0] == "execution_error"
                ),
                "",
            )
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("ComfyUI failed the workflow: {reason}").format(reason=msg.strip() or "error"),
                code="execution_error",
            )
        return dict(entry)

    async def _collect(self, entry: dict[str, Any], request: GenerationRequest) -> GenerationResult:
        images: list[GeneratedImage] = []
        for output in (entry.get("outputs") or {}).values():
            for img in output.get("images") or []:
                if img.get("type", "output") != "output":
                    continue  # temp previews
                resp = await self.request(
                    "GET",
                    f"{self.base_url}/view",
                    params={
                        "filename": img.get("filename", ""),
                        "subfolder": img.get("subfolder", ""),
                        "type": "output",
                    },
                )
                images.append(GeneratedImage(resp.content, resp.headers.get("content-type")))
        if not images:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr(
                    "ComfyUI finished without saving an image (does the "
                    "workflow end in a SaveImage node?)."
                ),
            )
        return GenerationResult(images=images[: request.n])

    async def _cancel(self, prompt_id: str) -> None:
        """Stop our prompt and nobody else's: a server is often shared (two Atelier jobs, or a
        colleague's prompt), and a bare ``POST /interrupt`` stops whatever runs.

        Queued: delete it from the queue. Running: interrupt it by ``prompt_id`` (ComfyUI's
        ``server.py`` ``post_interrupt`` interrupts only when that prompt is the one running,
        checked with ``prompt_queue.interrupt_running``). We also look at ``GET /queue`` first
        so a server too old to read the id, which would interrupt globally, is interrupted only
        while the prompt running is ours."""
        resp = await self._client.get(f"{self.base_url}/queue", timeout=5.0)
        data = resp.json() if resp.status_code == 200 else {}
        if prompt_id in queue_ids(data, "queue_pending"):
            await self._client.post(
                f"{self.base_url}/queue", json={"delete": [prompt_id]}, timeout=5.0
            )
        elif prompt_id in queue_ids(data, "queue_running"):
            await self._client.post(
                f"{self.base_url}/interrupt", json={"prompt_id": prompt_id}, timeout=5.0
            )

    def classify(self, resp: httpx.Response) -> ProviderError:
        return default_error(resp.status_code, self.label)

    async def test_connection(self) -> str:
        """``GET /system_stats``: ComfyUI's version and devices."""
        resp = await self.probe(
            "GET",
            f"{self.base_url}/system_stats",
            hint=tr("Is ComfyUI running?"),
        )
        data = self.json_of(resp)
        version = (
            (data.get("system") or {}).get("comfyui_version", "?")
            if isinstance(data, dict)
            else "?"
        )
        mapped = ", ".join(f"{k}→{v}" for k, v in self.targets.items())
        return tr("Connected to ComfyUI {version} at {base_url}.").format(
            version=version, base_url=self.base_url
        ) + (tr(" Workflow inputs: {mapped}.").format(mapped=mapped) if mapped else "")
