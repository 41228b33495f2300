"""The ComfyUI dialect: ``POST /prompt``, websocket ``/ws?clientId=``, ``GET /history/{id}``,
``GET /view``, ``POST /queue``, ``POST /interrupt``, ``GET /system_stats`` (also under ``/api``).

A queued prompt "runs" in a thread: it sends ``execution_start``, ``executing``, ``progress``
(``steps`` of them), ``executed`` and the final ``executing`` with ``node: null`` to the client's
websocket, then fills ``/history``. Behaviours at ``/prompt``: ``ok``, ``node_error`` (400 with
``node_errors``), ``exec_error`` (``execution_error`` event and an error history), ``no_ws``
(the websocket is refused, so clients must poll), ``long`` (runs for 5 s).
"""

from __future__ import annotations

import contextlib
import json
import queue
import select
import threading
import time
import uuid
from typing import Any

from tests.fakes.framework import Dialect, Request, Response, websocket_accept, websocket_send

KNOWN = {
    "KSampler",
    "CheckpointLoaderSimple",
    "CLIPTextEncode",
    "EmptyLatentImage",
    "VAEDecode",
    "SaveImage",
    "KSamplerAdvanced",
    "PreviewImage",
}
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde"]


class ComfyUIDialect(Dialect):
    name = "comfyui"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.sockets: dict[str, queue.Queue[str | None]] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.interrupts = 0
        self.interrupt_bodies: list[dict[str, Any]] = []
        self.interrupted: list[str] = []  # prompts whose run an interrupt stopped
        # One GPU: prompts run one at a time in the order queued, as ComfyUI's worker does.
        self._gpu = threading.Lock()
        self.running: str | None = None
        self.pending: list[str] = []
        self._stop: set[str] = set()
        self.steps = 4
        self.step_s = 0.03
        self.refuse_ws = False

    def _route(self, req: Request) -> str:
        return req.path.removeprefix("/api")

    def prompt_of(self, req: Request) -> str | None:
        if req.method != "POST" or self._route(req) != "/prompt":
            return None
        graph = req.json().get("prompt", {})
        for node in graph.values():
            if node.get("class_type") == "CLIPTextEncode":
                return str(node["inputs"].get("text", ""))
        return ""

    def handle(self, req: Request, behaviour: str) -> Response:
        route = self._route(req)
        if route == "/ws" and req.method == "GET":
            if self.refuse_ws or "websocket" not in req.headers.get("upgrade", "").lower():
                return Response.json(404, {"error": "no websocket"})
            return Response(takeover=lambda h: self._serve_ws(h, req.query.get("clientId", "")))
        if route == "/system_stats":
            return Response.json(
                200,
                {
                    "system": {
                        "os": "posix",
                        "comfyui_version": "0.3.60",
                        "python_version": "3.12",
                    },
                    "devices": [{"name": "cuda:0 NVIDIA RTX 4090", "type": "cuda"}],
                },
            )
        if route.startswith("/history/"):
            pid = route.removeprefix("/history/")
            return Response.json(200, {pid: self.history[pid]} if pid in self.history else {})
        if route == "/view":
            name = req.query.get("filename", "")
            if name not in self.files:
                return Response(404, b"404: Not Found", content_type="text/plain")
            return Response(200, self.files[name], content_type="image/png")
        if route == "/queue" and req.method == "GET":
            # ComfyUI's items: [number, prompt_id, prompt, extra_data, outputs_to_execute]
            item = lambda pid: [0, pid, {}, {}, []]  # noqa: E731
            running = [item(self.running)] if self.running else []
            return Response.json(
                200,
                {"queue_running": running, "queue_pending": [item(p) for p in self.pending]},
            )
        if route == "/queue" and req.method == "POST":
            self.deleted += req.json().get("delete", [])
            return Response(200, b"", content_type="text/plain")
        if route == "/interrupt" and req.method == "POST":
            # As ComfyUI's server.py post_interrupt: a prompt_id interrupts that prompt only if it
            # is the one running; no body interrupts whatever runs.
            body = req.json() if req.body else {}
            self.interrupts += 1
            self.interrupt_bodies.append(body)
            target = body.get("prompt_id")
            if self.running and target in (None, self.running):
                self._stop.add(self.running)
            return Response(200, b"", content_type="text/plain")
        if route != "/prompt" or req.method != "POST":
            return Response(404, b"404: Not Found", content_type="text/plain")
        body = req.json()
        graph, client_id = body.get("prompt", {}), body.get("client_id", "")
        errors = self._validate(graph, behaviour)
        if errors:
            return Response.json(
                400,
                {
                    "error": {
                        "type": "prompt_outputs_failed_validation",
                        "message": "Prompt outputs failed validation",
                        "details": "",
                        "extra_info": {},
                    },
                    "node_errors": errors,
                },
            )
        pid = str(uuid.uuid4())
        self.pending.append(pid)  # queued before the answer, as ComfyUI's prompt_queue.put
        threading.Thread(
            target=self._run, args=(pid, graph, client_id, behaviour), daemon=True
        ).start()
        return Response.json(
            200, {"prompt_id": pid, "number": len(self.history), "node_errors": {}}
        )

    def _validate(self, graph: dict[str, Any], behaviour: str) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for nid, node in graph.items():
            cls = node.get("class_type")
            if cls not in KNOWN:
                errors[nid] = {
                    "errors": [
                        {
                            "type": "invalid_prompt",
                            "message": f"Cannot execute because node {cls} does not exist.",
                            "details": f"Node ID '#{nid}'",
                        }
                    ],
                    "class_type": cls,
                    "dependent_outputs": [],
                }
            sampler = node.get("inputs", {}).get("sampler_name")
            if cls == "KSampler" and (sampler not in SAMPLERS or behaviour == "node_error"):
                errors[nid] = {
                    "errors": [
                        {
                            "type": "value_not_in_list",
                            "message": "Value not in list",
                            "details": f"sampler_name: '{sampler if behaviour != 'node_error' else 'bogus'}'"
                            f" not in {SAMPLERS}",
                            "extra_info": {"input_name": "sampler_name"},
                        }
                    ],
                    "dependent_outputs": ["9"],
                    "class_type": cls,
                }
        return errors

    def _emit(self, client_id: str, kind: str, data: dict[str, Any]) -> None:
        q = self.sockets.get(client_id)
        if q is not None:
            q.put(json.dumps({"type": kind, "data": data}))

    def _run(self, pid: str, graph: dict[str, Any], client_id: str, behaviour: str) -> None:
        time.sleep(0.05)  # let the client read the /prompt answer first
        with self._gpu:
            self.pending.remove(pid)
            if pid in self.deleted:
                return
            self.running = pid
            try:
                self._execute(pid, graph, client_id, behaviour)
            finally:
                self.running = None

    def _execute(self, pid: str, graph: dict[str, Any], client_id: str, behaviour: str) -> None:
        self._emit(client_id, "execution_start", {"prompt_id": pid})
        ksampler = next(
            (n for n, v in graph.items() if v["class_type"].startswith("KSampler")), "3"
        )
        self._emit(client_id, "executing", {"node": ksampler, "prompt_id": pid})
        steps = 50 if behaviour == "long" else self.steps
        for i in range(1, steps + 1):
            if pid in self._stop:
                self.interrupted.append(pid)
                info = {"prompt_id": pid, "node_id": ksampler, "node_type": "KSampler"}
                self._failed(pid, graph, client_id, "execution_interrupted", info)
                return
            time.sleep(0.1 if behaviour == "long" else self.step_s)
            self._emit(
                client_id,
                "progress",
                {"value": i, "max": steps, "prompt_id": pid, "node": ksampler},
            )
        if behaviour == "exec_error":
            err = {
                "prompt_id": pid,
                "node_id": ksampler,
                "node_type": "KSampler",
                "exception_message": "CUDA out of memory.\n",
                "exception_type": "torch.OutOfMemoryError",
            }
            self._failed(pid, graph, client_id, "execution_error", err)
            return
        latent = next((v for v in graph.values() if v["class_type"] == "EmptyLatentImage"), None)
        w, h, n = (
            (latent["inputs"]["width"], latent["inputs"]["height"], latent["inputs"]["batch_size"])
            if latent
            else (512, 512, 1)
        )
        prompt = next(
            (v["inputs"]["text"] for v in graph.values() if v["class_type"] == "CLIPTextEncode"), ""
        )
        images = []
        for _ in range(n):
            name = f"ComfyUI_{uuid.uuid4().hex[:8]}_.png"
            self.files[name] = self.fake.image(w, h, "png", prompt=prompt)
            images.append({"filename": name, "subfolder": "", "type": "output"})
        save = next((nid for nid, v in graph.items() if v["class_type"] == "SaveImage"), "9")
        self._emit(
            client_id, "executed", {"node": save, "output": {"images": images}, "prompt_id": pid}
        )
        self.history[pid] = {
            "prompt": [0, pid, graph],
            "outputs": {save: {"images": images}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
        self._emit(client_id, "executing", {"node": None, "prompt_id": pid})
        self._close(client_id)
        if behaviour == "ok":
            with self.fake.lock:
                self.fake.served[prompt] += n

    def _failed(
        self, pid: str, graph: dict[str, Any], client_id: str, kind: str, info: dict[str, Any]
    ) -> None:
        """End prompt ``pid`` with ``kind`` (an error or an interrupt): on the websocket and in
        its history entry, as ComfyUI does."""
        self._emit(client_id, kind, info)
        self._close(client_id)
        self.history[pid] = {
            "prompt": [0, pid, graph],
            "outputs": {},
            "status": {"status_str": "error", "completed": False, "messages": [[kind, info]]},
        }

    def _close(self, client_id: str) -> None:
        q = self.sockets.get(client_id)
        if q is not None:
            q.put(None)

    def _serve_ws(self, handler: Any, client_id: str) -> None:
        q: queue.Queue[str | None] = queue.Queue()
        self.sockets[client_id] = q
        websocket_accept(handler)
        try:
            websocket_send(
                handler,
                json.dumps(
                    {
                        "type": "status",
                        "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id},
                    }
                ),
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                readable, _, _ = select.select([handler.connection], [], [], 0.05)
                if readable:  # the client closed (a close frame, or the socket)
                    head = handler.connection.recv(2)
                    if not head or head[0] & 0x0F == 0x8:
                        with contextlib.suppress(OSError):
                            handler.wfile.write(b"\x88\x00")
                            handler.wfile.flush()
                        break
                try:
                    msg = q.get(timeout=0.05)
                except queue.Empty:
                    continue
                if msg is None:
                    break
                websocket_send(handler, msg)
        except OSError:
            pass
        finally:
            self.sockets.pop(client_id, None)
