"""The fal.ai queue dialect: ``POST /{model}`` → request URLs; ``GET …/requests/{id}/status``;
``GET …/requests/{id}``; ``PUT …/requests/{id}/cancel``; result images hosted with expiry.

Behaviours at submit: ``ok``, ``nsfw`` (result flagged), ``content_policy`` (422
content_policy_violation), ``invalid`` (422 validation), ``auth`` (401), ``429``, ``500``
(infrastructure error with ``X-Fal-Error-Type``), ``failed`` (the request fails while
running), ``expired`` (result URLs already expired), ``long`` (needs 6 polls), plus the
framework's transport faults. ``polls_needed`` sets how many status polls a request stays
queued/in progress (default 2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.framework import Dialect, Request, Response


@dataclass
class _Job:
    model: str
    body: dict[str, Any]
    behaviour: str
    polls_left: int
    cancelled: bool = False
    polls: int = 0
    urls: list[str] = field(default_factory=list)


class FalDialect(Dialect):
    name = "fal"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.jobs: dict[str, _Job] = {}
        self.polls_needed = 2

    def prompt_of(self, req: Request) -> str | None:
        if req.method != "POST":
            return None
        return str(req.json().get("prompt", ""))

    def _auth(self, req: Request) -> bool:
        return (
            self.fake.api_key is None
            or req.headers.get("authorization") == f"Key {self.fake.api_key}"
        )

    def handle(self, req: Request, behaviour: str) -> Response:
        if not self._auth(req):
            return Response.json(401, {"detail": "Unauthorized: invalid key"})
        parts = req.path.strip("/").split("/")
        if "requests" in parts:
            i = parts.index("requests")
            rid = parts[i + 1] if len(parts) > i + 1 else ""
            job = self.jobs.get(rid)
            if job is None:
                return Response.json(404, {"detail": f"Request {rid} not found"})
            tail = parts[i + 2 :]
            if req.method == "PUT" and tail == ["cancel"]:
                job.cancelled = True
                return Response.json(202, {"status": "CANCELLATION_REQUESTED"})
            if req.method == "GET" and tail == ["status"]:
                job.polls += 1
                if job.polls_left > 1:
                    job.polls_left -= 1
                    if job.polls == 1:
                        return Response.json(
                            202, {"status": "IN_QUEUE", "queue_position": 1, "response_url": ""}
                        )
                    return Response.json(202, {"status": "IN_PROGRESS", "logs": []})
                return Response.json(
                    200,
                    {
                        "status": "COMPLETED",
                        "logs": [],
                        **({"error": "runner crashed"} if job.behaviour == "failed" else {}),
                    },
                )
            if req.method == "GET" and not tail:
                return self._result(rid, job)
            return Response.json(405, {"detail": "Method not allowed"})
        # submission
        if req.method != "POST":
            return Response.json(405, {"detail": "Method not allowed"})
        model = "/".join(parts)
        simple = {
            "content_policy": Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "prompt"],
                            "msg": "The content "
                            "could not be processed because it contained material flagged "
                            "by a content checker.",
                            "type": "content_policy_violation",
                        }
                    ]
                },
                {"X-Fal-Retryable": "false"},
            ),
            "invalid": Response.json(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "image_size", "width"],
                            "msg": "Input should be less than or equal to 14142",
                            "type": "less_than_equal",
                        }
                    ]
                },
                {"X-Fal-Retryable": "false"},
            ),
            "auth": Response.json(401, {"detail": "Unauthorized"}),
            "429": Response.json(
                429, {"detail": "Too many concurrent requests"}, {"retry-after": "1"}
            ),
            "500": Response.json(
                500,
                {"detail": "Internal server error", "error_type": "internal_error"},
                {"X-Fal-Error-Type": "internal_error", "X-Fal-Retryable": "true"},
            ),
        }
        if behaviour in simple:
            return simple[behaviour]
        body = req.json()
        if not body.get("prompt"):
            return simple["invalid"]
        rid = uuid.uuid4().hex
        polls = 6 if behaviour == "long" else self.polls_needed
        self.jobs[rid] = _Job(model, body, behaviour, polls)
        app = "/".join(parts[:-1]) if len(parts) > 2 else model  # URLs drop the model's last part
        base = f"{self.fake.url}/{app}/requests/{rid}"
        return Response.json(
            200,
            {
                "request_id": rid,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": 0,
            },
        )

    def _result(self, rid: str, job: _Job) -> Response:
        if job.behaviour == "failed":
            return Response.json(
                500,
                {"detail": "Runner crashed while processing", "error_type": "runner_error"},
                {"X-Fal-Error-Type": "runner_error"},
            )
        body = job.body
        n = int(body.get("num_images", 1))
        size = body.get("image_size") or {"width": 1024, "height": 1024}
        w, h = (size["width"], size["height"]) if isinstance(size, dict) else (1024, 1024)
        fmt = body.get("output_format", "png")
        raw = self.fake.image(w, h, fmt, prompt=str(body.get("prompt", "")))
        ttl = 0.0 if job.behaviour == "expired" else None
        images = [
            {
                "url": self.fake.host(raw, f"image/{fmt}", ttl),
                "width": w,
                "height": h,
                "content_type": f"image/{fmt}",
            }
            for _ in range(n)
        ]
        if job.behaviour == "ok":
            with self.fake.lock:
                self.fake.served[str(body.get("prompt", ""))] += n
        if job.behaviour == "empty_image":  # a hostile shape: an image entry with no url
            images = [{} for _ in images]
        return Response.json(
            200,
            {
                "images": images,
                "seed": body.get("seed", 424242),
                "prompt": body.get("prompt"),
                "has_nsfw_concepts": [job.behaviour == "nsfw"] * n,
                "timings": {"inference": 0.1},
            },
        )
