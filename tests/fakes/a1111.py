"""The AUTOMATIC1111 dialect: ``/sdapi/v1/txt2img``, ``/img2img``, ``/progress``, ``/interrupt``,
``/sd-models``; optional HTTP Basic auth.

Behaviours: ``ok``, ``oom`` (500 OutOfMemoryError), ``invalid`` (422), ``no_api`` (404), ``auth``
(401), ``bad_info`` (``info`` is not JSON), ``work`` (takes ``work_s`` seconds, with progress
rising at ``/sdapi/v1/progress``), plus the framework's transport faults.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from tests.fakes.framework import Dialect, Request, Response


class A1111Dialect(Dialect):
    name = "a1111"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.basic: str | None = None  # "user:pass" to require Basic auth
        self.work_s = 0.6
        self._started: float | None = None
        self.busy = threading.Lock()
        self.max_parallel_seen = 0
        self._in_flight = 0
        self.interrupted = 0

    def prompt_of(self, req: Request) -> str | None:
        if req.method == "POST" and req.path in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            return str(req.json().get("prompt", ""))
        return None

    def handle(self, req: Request, behaviour: str) -> Response:
        if self.basic is not None:
            want = "Basic " + base64.b64encode(self.basic.encode()).decode()
            if req.headers.get("authorization") != want:
                return Response.json(
                    401, {"detail": "Not authenticated"}, {"WWW-Authenticate": "Basic"}
                )
        if req.method == "GET" and req.path == "/sdapi/v1/progress":
            p = (
                0.0
                if self._started is None
                else min(0.99, (time.monotonic() - self._started) / self.work_s)
            )
            return Response.json(
                200, {"progress": p, "eta_relative": 1.0, "state": {"job_count": 1}}
            )
        if req.method == "GET" and req.path == "/sdapi/v1/sd-models":
            return Response.json(
                200, [{"title": "sd_xl_base_1.0.safetensors", "model_name": "sd_xl_base_1.0"}]
            )
        if req.method == "POST" and req.path == "/sdapi/v1/interrupt":
            self.interrupted += 1
            return Response.json(200, {})
        if req.method != "POST" or req.path not in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            return Response.json(404, {"detail": "Not Found"})
        if behaviour == "no_api":
            return Response.json(404, {"detail": "Not Found"})
        if behaviour == "auth":
            return Response.json(401, {"detail": "Not authenticated"})
        if behaviour == "oom":
            return Response.json(
                500,
                {
                    "error": "OutOfMemoryError",
                    "detail": "CUDA out of memory. Tried to allocate 2.00 GiB",
                    "body": "",
                    "errors": "",
                },
            )
        body = req.json()
        if behaviour == "invalid" or not isinstance(body.get("width"), int):
            return Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "width"],
                            "msg": "value is not a valid integer",
                            "type": "type_error.integer",
                        }
                    ]
                },
            )
        if req.path.endswith("img2img") and not body.get("init_images"):
            return Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "init_images"],
                            "msg": "field required",
                            "type": "value_error.missing",
                        }
                    ]
                },
            )
        with self.fake.lock:
            self._in_flight += 1
            self.max_parallel_seen = max(self.max_parallel_seen, self._in_flight)
        try:
            with self.busy:  # the web UI renders one request at a time
                if behaviour == "work":
                    self._started = time.monotonic()
                    time.sleep(self.work_s)
                    self._started = None
                n = int(body.get("batch_size", 1)) * int(body.get("n_iter", 1))
                raw = self.fake.image(
                    body["width"], body["height"], "png", prompt=str(body.get("prompt", ""))
                )
                seed = body.get("seed", -1)
                seed = 3_141_592 if seed == -1 else seed
                info: Any = json.dumps(
                    {
                        "prompt": body.get("prompt"),
                        "seed": seed,
                        "all_seeds": [seed + i for i in range(n)],
                        "width": body["width"],
                        "height": body["height"],
                        "sampler_name": body.get("sampler_name", "Euler a"),
                    }
                )
                if behaviour == "bad_info":
                    info = "{not json"
                if behaviour in ("ok", "work"):
                    with self.fake.lock:
                        self.fake.served[str(body.get("prompt", ""))] += n
                return Response.json(
                    200,
                    {
                        "images": [base64.b64encode(raw).decode()] * n,
                        "parameters": body,
                        "info": info,
                    },
                )
        finally:
            with self.fake.lock:
                self._in_flight -= 1
