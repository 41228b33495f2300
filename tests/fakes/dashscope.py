"""The DashScope (Alibaba Cloud Model Studio) dialect for Qwen-Image's asynchronous tasks, as
the official ``dashscope`` SDK 2.0.2 speaks it and Model Studio's Qwen-Image API reference
documents it: ``POST /api/v1/services/aigc/text2image/image-synthesis`` with
``Authorization: Bearer KEY`` and ``X-DashScope-Async: enable`` → ``{"request_id", "output":
{"task_id", "task_status": "PENDING"}}``; ``GET /api/v1/tasks/{task_id}`` → PENDING, RUNNING,
then SUCCEEDED with ``output.results[].url`` and ``usage.image_count`` (or FAILED with
``output.code``/``message``; UNKNOWN for a task it does not know). Errors
``{"request_id", "code", "message"}``.

Behaviours: ``ok``, ``failed`` (the task fails, ``InternalError``), ``content`` (the task fails
its content check, ``DataInspectionFailed``), ``inspection`` (the submit is refused, 400
``DataInspectionFailed``), ``auth`` (401 ``InvalidApiKey``), ``429`` (``Throttling.RateQuota``,
``Retry-After``), ``500``, ``expired`` (the result URL has expired), ``long`` (6 polls), ``url_at:URL`` (the result URL is that one, on another host).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.fakes.framework import Dialect, Request, Response

MODELS = ("qwen-image", "qwen-image-plus")
SIZES = {"1664*928", "1472*1140", "1328*1328", "1140*1472", "928*1664"}
SUBMIT = "/api/v1/services/aigc/text2image/image-synthesis"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"request_id": str(uuid.uuid4()), "code": code, "message": message}
    return Response.json(status, body, headers)


@dataclass
class _Task:
    body: dict[str, Any]
    behaviour: str
    polls_left: int
    submitted: str


class DashScopeDialect(Dialect):
    name = "dashscope"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.tasks: dict[str, _Task] = {}
        self.polls_needed = 2

    def prompt_of(self, req: Request) -> str | None:
        if req.method == "POST" and req.path == SUBMIT:
            try:
                return str((req.json().get("input") or {}).get("prompt", ""))
            except (ValueError, AttributeError):
                return ""
        return None

    def handle(self, req: Request, behaviour: str) -> Response:
        if self.fake.api_key is not None and (
            req.headers.get("authorization") != f"Bearer {self.fake.api_key}"
        ):
            return _error(401, "InvalidApiKey", "Invalid API-key provided.")
        if req.method == "GET" and req.path.startswith("/api/v1/tasks/"):
            return self._task(req.path.removeprefix("/api/v1/tasks/"))
        if req.method != "POST" or req.path != SUBMIT:
            return _error(404, "NotFound", f"Not found: {req.path}")
        simple = {
            "auth": _error(401, "InvalidApiKey", "Invalid API-key provided."),
            "inspection": _error(
                400, "DataInspectionFailed", "Input data may contain inappropriate content."
            ),
            "429": _error(
                429, "Throttling.RateQuota", "Requests rate limit exceeded.", {"Retry-After": "1"}
            ),
            "500": _error(500, "InternalError", "An internal error has occured."),
        }
        if behaviour in simple:
            return simple[behaviour]
        if req.headers.get("x-dashscope-async") != "enable":
            return _error(
                403, "AccessDenied", "current user api does not support synchronous calls"
            )
        body = req.json()
        bad = _invalid(body)
        if bad:
            return _error(400, "InvalidParameter", bad)
        tid = str(uuid.uuid4())
        now = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        polls = 6 if behaviour == "long" else self.polls_needed
        with self.fake.lock:
            self.tasks[tid] = _Task(body, behaviour, polls, now)
        return Response.json(
            200,
            {"request_id": str(uuid.uuid4()), "output": {"task_status": "PENDING", "task_id": tid}},
        )

    def _task(self, tid: str) -> Response:
        rid = str(uuid.uuid4())
        with self.fake.lock:
            t = self.tasks.get(tid)
        if t is None:
            return Response.json(
                200, {"request_id": rid, "output": {"task_id": tid, "task_status": "UNKNOWN"}}
            )
        t.polls_left -= 1
        base = {"task_id": tid, "submit_time": t.submitted}
        if t.polls_left > 0:
            status = "PENDING" if t.polls_left > 1 else "RUNNING"
            return Response.json(
                200, {"request_id": rid, "output": {**base, "task_status": status}}
            )
        if t.behaviour in ("failed", "content"):
            code, message = (
                ("InternalError", "Internal error during task execution.")
                if t.behaviour == "failed"
                else ("DataInspectionFailed", "Output data may contain inappropriate content.")
            )
            return Response.json(
                200,
                {"request_id": rid,
                 "output": {**base, "task_status": "FAILED", "code": code, "message": message}},
            )  # fmt: skip
        return Response.json(200, self._succeeded(rid, base, t))

    def _succeeded(self, rid: str, base: dict[str, Any], t: _Task) -> dict[str, Any]:
        params = t.body.get("parameters") or {}
        w, h = (int(v) for v in str(params.get("size", "1328*1328")).split("*"))
        prompt = str(t.body["input"]["prompt"])
        raw = self.fake.image(w, h, "png", prompt=prompt)
        url = self.fake.host(raw, "image/png", 0.0 if t.behaviour == "expired" else None)
        if t.behaviour.startswith("url_at:"):  # a result URL on another host (OSS)
            url = t.behaviour.removeprefix("url_at:")
        if t.behaviour == "ok":
            with self.fake.lock:
                self.fake.served[prompt] += 1
        result = {"orig_prompt": prompt, "actual_prompt": prompt, "url": url}
        return {
            "request_id": rid,
            "output": {
                **base,
                "task_status": "SUCCEEDED",
                "results": [result],
                "task_metrics": {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0},
            },
            "usage": {"image_count": 1},
        }


def _invalid(body: Any) -> str | None:
    """Why the task body is refused (400 ``InvalidParameter``), or ``None``."""
    if not isinstance(body, dict) or body.get("model") not in MODELS:
        return "Model not exist."
    inp = body.get("input")
    if not isinstance(inp, dict) or not inp.get("prompt"):
        return "Field required: input.prompt"
    params = body.get("parameters") or {}
    if "size" in params and params["size"] not in SIZES:
        return f"The size is not match the allowed size {sorted(SIZES)}"
    if params.get("n", 1) != 1:
        return "n must be 1 for this model"
    return None
