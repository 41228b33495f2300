"""The Replicate dialect: ``POST /v1/models/{owner}/{name}/predictions`` (honours
``Prefer: wait``), ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel``,
``GET /v1/account``; outputs hosted at URLs that expire.

Behaviours at create: ``ok``, ``sensitive`` (fails with E005), ``failed`` (fails with another
code), ``invalid`` (422), ``auth`` (401), ``payment`` (402), ``429`` (throttled, with the
``detail`` sentence Replicate sends), ``500``, ``expired`` (output URLs already expired),
``long`` (needs 5 polls, so ``Prefer: wait`` returns it still processing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.fakes.framework import Dialect, Request, Response


def _problem(status: int, title: str, detail: str) -> Response:
    return Response(
        status,
        __import__("json")
        .dumps(
            {
                "type": "https://replicate.com/docs/errors",
                "title": title,
                "status": status,
                "detail": detail,
            }
        )
        .encode(),
        content_type="application/problem+json",
    )


@dataclass
class _Pred:
    id: str
    model: str
    input: dict[str, Any]
    behaviour: str
    polls_left: int
    status: str = "starting"


class ReplicateDialect(Dialect):
    name = "replicate"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.preds: dict[str, _Pred] = {}
        self.polls_needed = 2

    def prompt_of(self, req: Request) -> str | None:
        if req.method == "POST" and req.path.endswith("/predictions") and "/models/" in req.path:
            return str(req.json().get("input", {}).get("prompt", ""))
        return None

    def _json(self, p: _Pred) -> dict[str, Any]:
        base = f"{self.fake.url}/v1/predictions/{p.id}"
        out: dict[str, Any] = {
            "id": p.id,
            "model": p.model,
            "status": p.status,
            "input": p.input,
            "output": None,
            "error": None,
            "urls": {"get": base, "cancel": f"{base}/cancel"},
        }
        if p.status == "succeeded":
            fmt = {"jpg": "jpeg"}.get(
                p.input.get("output_format", "webp"), p.input.get("output_format", "webp")
            )
            raw = self.fake.image(1024, 1024, fmt, prompt=str(p.input.get("prompt", "")))
            ttl = 0.0 if p.behaviour == "expired" else None
            n = int(p.input.get("num_outputs", p.input.get("max_images", 1)))
            out["output"] = [self.fake.host(raw, f"image/{fmt}", ttl) for _ in range(n)]
        elif p.status == "failed":
            out["error"] = (
                "E005: The input or output was flagged as sensitive. Please try again with different "
                "inputs."
                if p.behaviour == "sensitive"
                else "E1000: Prediction failed for an "
                "unknown reason. It might have been a temporary issue."
            )
        return out

    def _advance(self, p: _Pred) -> None:
        if p.status in ("succeeded", "failed", "canceled"):
            return
        p.polls_left -= 1
        if p.polls_left <= 0:
            p.status = "failed" if p.behaviour in ("sensitive", "failed") else "succeeded"
            if p.status == "succeeded" and p.behaviour == "ok":
                with self.fake.lock:
                    self.fake.served[str(p.input.get("prompt", ""))] += 1
        else:
            p.status = "processing"

    def handle(self, req: Request, behaviour: str) -> Response:
        if (
            self.fake.api_key is not None
            and req.headers.get("authorization") != f"Bearer {self.fake.api_key}"
        ):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        path = req.path
        if req.method == "GET" and path == "/v1/account":
            return Response.json(200, {"type": "user", "username": "designer", "name": "Designer"})
        if path.startswith("/v1/predictions/"):
            rest = path.removeprefix("/v1/predictions/").split("/")
            p = self.preds.get(rest[0])
            if p is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
            if req.method == "POST" and rest[1:] == ["cancel"]:
                if p.status not in ("succeeded", "failed"):
                    p.status = "canceled"
                return Response.json(200, self._json(p))
            if req.method == "GET":
                self._advance(p)
                return Response.json(200, self._json(p))
        if not (
            req.method == "POST"
            and path.startswith("/v1/models/")
            and path.endswith("/predictions")
        ):
            return _problem(404, "Not found", "The requested resource could not be found.")
        simple = {
            "invalid": _problem(
                422,
                "Input validation failed",
                '- input.aspect_ratio: aspect_ratio must be one of the following: "1:1", "16:9"',
            ),
            "auth": _problem(
                401, "Unauthenticated", "You did not pass a valid authentication token"
            ),
            "payment": _problem(
                402,
                "Insufficient credit",
                "You have insufficient credit to run this model. Go to "
                "https://replicate.com/account/billing to purchase credit.",
            ),
            "429": _problem(
                429,
                "Request was throttled",
                "Request was throttled. Expected available in 1 second.",
            ),
            "500": _problem(500, "Internal server error", "Internal server error"),
        }
        if behaviour in simple:
            return simple[behaviour]
        body = req.json()
        model = path.removeprefix("/v1/models/").removesuffix("/predictions")
        polls = 5 if behaviour == "long" else self.polls_needed
        p = _Pred(uuid.uuid4().hex[:20], model, body.get("input", {}), behaviour, polls)
        self.preds[p.id] = p
        wait = req.headers.get("prefer", "")
        if wait.startswith("wait") and behaviour != "long":
            while p.status not in ("succeeded", "failed"):
                self._advance(p)
            return Response.json(201, self._json(p))
        return Response.json(201, self._json(p))
