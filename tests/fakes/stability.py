"""The Stability v2beta dialect: ``/v2beta/stable-image/generate/{core,ultra,sd3}``,
``/v2beta/stable-image/edit/inpaint`` (multipart), ``GET /v1/user/account``.

Behaviours: ``ok``, ``filtered`` (200, ``finish-reason: CONTENT_FILTERED``), ``content_policy``
(403 ``content_moderation``), ``invalid`` (400), ``422``, ``413``, ``auth`` (401), ``payment``
(402), ``429``, ``500``, ``truncated``. With ``enforce_limit`` set, more than 150 requests in 10 s
answer 429 and lock the key out for 60 s, as the real service does.
"""

from __future__ import annotations

import time
import uuid
from collections import deque

from tests.fakes.framework import Dialect, Request, Response

RATIOS = {
    "16:9": (1344, 768),
    "1:1": (1024, 1024),
    "21:9": (1536, 640),
    "2:3": (832, 1216),
    "3:2": (1216, 832),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}


def _error(status: int, name: str, *errors: str) -> Response:
    return Response.json(status, {"id": uuid.uuid4().hex, "name": name, "errors": list(errors)})


class StabilityDialect(Dialect):
    name = "stability"

    def __init__(self, fake: object) -> None:
        super().__init__(fake)  # type: ignore[arg-type]
        self.enforce_limit = False
        self._recent: deque[float] = deque()
        self._locked_until = 0.0

    def prompt_of(self, req: Request) -> str | None:
        if req.method != "POST" or "/stable-image/" not in req.path:
            return None
        return req.form()[0].get("prompt", "")

    def handle(self, req: Request, behaviour: str) -> Response:
        key_ok = (
            self.fake.api_key is None
            or req.headers.get("authorization") == f"Bearer {self.fake.api_key}"
        )
        if req.method == "GET" and req.path == "/v1/user/account":
            if not key_ok:
                return _error(401, "unauthorized", "authorization: invalid or missing")
            return Response.json(200, {"id": "user-1", "email": "designer@example.com"})
        routes = (
            "/v2beta/stable-image/generate/core",
            "/v2beta/stable-image/generate/ultra",
            "/v2beta/stable-image/generate/sd3",
            "/v2beta/stable-image/edit/inpaint",
        )
        if req.method != "POST" or req.path not in routes:
            return _error(404, "not_found", f"{req.path} not found")
        if not key_ok:
            return _error(401, "unauthorized", "authorization: invalid or missing")
        if self.enforce_limit:
            now = time.monotonic()
            with self.fake.lock:
                if now < self._locked_until:
                    return _error(
                        429,
                        "rate_limit_exceeded",
                        "You have exceeded the rate limit of 150 requests "
                        "within a 10 second period; you are locked out for 60 seconds.",
                    )
                while self._recent and self._recent[0] < now - 10:
                    self._recent.popleft()
                self._recent.append(now)
                if len(self._recent) > 150:
                    self._locked_until = now + 60
                    return _error(429, "rate_limit_exceeded", "rate limit exceeded")
        if "multipart/form-data" not in req.headers.get("content-type", ""):
            return _error(400, "bad_request", "content-type: must be multipart/form-data")
        fields, files = req.form()
        simple = {
            "content_policy": _error(
                403,
                "content_moderation",
                "Your request was flagged by our content "
                "moderation system, as a result your request was denied.",
            ),
            "invalid": _error(400, "bad_request", "prompt: cannot be empty"),
            "422": _error(
                422, "invalid_language", "English is the only supported language for this service."
            ),
            "413": _error(
                413, "payload_too_large", "body: payloads cannot be larger than 10MiB in size"
            ),
            "auth": _error(401, "unauthorized", "authorization: invalid or missing"),
            "payment": _error(
                402, "payment_required", "You lack sufficient credits to make this request."
            ),
            "429": _error(429, "rate_limit_exceeded", "rate limit exceeded"),
            "500": _error(500, "internal_error", "An unexpected server error has occurred."),
        }
        if behaviour in simple:
            return simple[behaviour]
        if not fields.get("prompt"):
            return simple["invalid"]
        fmt = fields.get("output_format", "png")
        if req.path.endswith("/sd3") and fmt == "webp":
            return _error(400, "bad_request", "output_format: sd3 does not support webp")
        if req.path.endswith("/inpaint") and not (files.get("image") and files.get("mask")):
            return _error(400, "bad_request", "image: required; mask: required")
        if fields.get("mode") == "image-to-image" and not files.get("image"):
            return _error(400, "bad_request", "image: required for image-to-image")
        w, h = RATIOS.get(fields.get("aspect_ratio", "1:1"), (1024, 1024))
        raw = self.fake.image(w, h, fmt, prompt=fields.get("prompt", ""))
        if behaviour == "truncated":
            raw = raw[: len(raw) // 2]
        if behaviour == "ok":
            with self.fake.lock:
                self.fake.served[fields.get("prompt", "")] += 1
        seed = fields.get("seed") or "1234567"
        finish = "CONTENT_FILTERED" if behaviour == "filtered" else "SUCCESS"
        if req.headers.get("accept", "").startswith("application/json"):
            import base64

            return Response.json(
                200,
                {
                    "image": base64.b64encode(raw).decode(),
                    "finish_reason": finish,
                    "seed": int(seed),
                },
            )
        return Response(
            200, raw, {"finish-reason": finish, "seed": seed}, content_type=f"image/{fmt}"
        )
