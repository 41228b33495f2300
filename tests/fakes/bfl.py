"""The Black Forest Labs dialect: ``POST /v1/{model}`` → ``{id, polling_url}``; ``GET
/v1/get_result?id=`` → status/result; ``GET /v1/credits``; samples hosted at signed URLs.

Behaviours: ``ok``, ``request_moderated``, ``content_moderated``, ``error`` (task Error),
``not_found`` (Task not found), ``invalid`` (422), ``auth`` (403), ``payment`` (402), ``429``
(too many active tasks), ``500``, ``expired`` (sample URL already expired), ``long`` (6 polls),
``result_string`` (Ready with a string where the result object belongs), ``sample_at:URL`` and
``poll_at:URL`` (the sample or polling URL of the answer's choosing; ``{port}`` is the fake's).
With ``max_active`` set, more simultaneous pending tasks than that answer 429.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.fakes.framework import Dialect, Request, Response

FLUX_2 = ("flux-2-klein-4b", "flux-2-klein-9b", "flux-2-pro", "flux-2-flex", "flux-2-max")
MODELS = ("flux-pro-1.1", "flux-pro-1.1-ultra", "flux-dev", "flux-kontext-pro", *FLUX_2)
# References a model takes (BFL's bfl-api guide: input_image, input_image_2 … input_image_8).
MAX_REFERENCES = {"flux-kontext-pro": 1, "flux-2-klein-4b": 4, "flux-2-klein-9b": 4}


@dataclass
class _Task:
    body: dict[str, Any]
    behaviour: str
    polls_left: int
    done: bool = False


class BFLDialect(Dialect):
    name = "bfl"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.tasks: dict[str, _Task] = {}
        self.polls_needed = 2
        self.max_active: int | None = None
        self.peak_active = 0

    def prompt_of(self, req: Request) -> str | None:
        if req.method == "POST" and req.path.removeprefix("/v1/") in MODELS:
            return str(req.json().get("prompt", ""))
        return None

    def handle(self, req: Request, behaviour: str) -> Response:
        if self.fake.api_key is not None and req.headers.get("x-key") != self.fake.api_key:
            return Response.json(403, {"detail": "Not authenticated - Invalid Authentication"})
        if req.method == "GET" and req.path == "/v1/credits":
            return Response.json(200, {"credits": 1234.5})
        if req.method == "GET" and req.path == "/v1/get_result":
            t = self.tasks.get(req.query.get("id", ""))
            if t is None:
                return Response.json(200, {"id": req.query.get("id"), "status": "Task not found"})
            t.polls_left -= 1
            if t.polls_left > 0:
                return Response.json(
                    200,
                    {"id": req.query["id"], "status": "Pending", "progress": 0.5, "result": None},
                )
            t.done = True
            final = {
                "request_moderated": "Request Moderated",
                "content_moderated": "Content Moderated",
                "error": "Error",
                "not_found": "Task not found",
            }.get(t.behaviour)
            if final:
                return Response.json(200, {"id": req.query["id"], "status": final, "result": None})
            b = t.body
            w, h = (b.get("width", 1024), b.get("height", 1024)) if "width" in b else (1024, 1024)
            fmt = b.get("output_format", "jpeg")
            raw = self.fake.image(w, h, fmt, prompt=str(b.get("prompt", "")))
            url = self.fake.host(raw, f"image/{fmt}", 0.0 if t.behaviour == "expired" else 600.0)
            if t.behaviour == "ok":
                with self.fake.lock:
                    self.fake.served[str(b.get("prompt", ""))] += 1
            if t.behaviour.startswith("sample_at:"):  # a hostile answer: a sample URL of its choice
                url = t.behaviour.removeprefix("sample_at:").replace("{port}", str(self.fake.port))
            if t.behaviour == "result_string":  # a hostile shape: Ready, result not an object
                return Response.json(200, {"id": req.query["id"], "status": "Ready", "result": url})
            return Response.json(
                200,
                {
                    "id": req.query["id"],
                    "status": "Ready",
                    "result": {"sample": url, "prompt": b.get("prompt"), "seed": b.get("seed", 1)},
                },
            )
        model = req.path.removeprefix("/v1/")
        if req.method != "POST" or model not in MODELS:
            return Response.json(404, {"detail": "Not Found"})
        simple = {
            "invalid": Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "width"],
                            "msg": "Input should be a multiple of 32",
                            "type": "multiple_of",
                        }
                    ]
                },
            ),
            "auth": Response.json(403, {"detail": "Not authenticated - Invalid Authentication"}),
            "payment": Response.json(402, {"detail": "Insufficient credits"}),
            "429": Response.json(
                429, {"detail": "You have exceeded the number of active tasks (24)"}
            ),
            "500": Response.json(500, {"detail": "Internal Server Error"}),
        }
        if behaviour in simple:
            return simple[behaviour]
        body = req.json()
        w, h = body.get("width"), body.get("height")
        if model in FLUX_2:  # any multiple of 16 up to 2048 a side (the catalogue's own limits)
            if w is not None and (w % 16 or h % 16 or not 64 <= w <= 2048 or not 64 <= h <= 2048):
                return simple["invalid"]
        elif w is not None and (w % 32 or h % 32 or not 256 <= w <= 1440 or not 256 <= h <= 1440):
            return simple["invalid"]
        refs = [k for k in body if k == "input_image" or k.startswith("input_image_")]
        if len(refs) > MAX_REFERENCES.get(model, 8) or (
            refs and model not in (*FLUX_2, "flux-kontext-pro")
        ):
            return Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", refs[-1]],
                            "msg": "Extra inputs are not permitted",
                            "type": "extra_forbidden",
                        }
                    ]
                },
            )
        with self.fake.lock:
            active = sum(1 for t in self.tasks.values() if not t.done)
            if self.max_active is not None and active >= self.max_active:
                return simple["429"]
            tid = uuid.uuid4().hex
            self.tasks[tid] = _Task(
                body, behaviour, 6 if behaviour == "long" else self.polls_needed
            )
            self.peak_active = max(self.peak_active, active + 1)
        polling = f"{self.fake.url}/v1/get_result?id={tid}"
        if behaviour.startswith("poll_at:"):  # a hostile answer: a polling URL of its choice
            polling = behaviour.removeprefix("poll_at:")
        return Response.json(200, {"id": tid, "polling_url": polling})
