"""The Gemini dialect: ``POST /v1beta/models/{model}:generateContent``, ``GET /v1beta/models``.

Behaviours: ``ok``, ``429`` (RetryInfo ``retryDelay``), ``quota`` (QuotaFailure per day),
``blocked`` (200 with ``promptFeedback.blockReason``), ``image_safety`` (200, finishReason
IMAGE_SAFETY, no image), ``no_image``, ``invalid`` (400 INVALID_ARGUMENT), ``auth`` (400
API_KEY_INVALID, as Google answers a bad key), ``403``, ``404``, ``500``, ``503``, ``bad_base64``,
``truncated``.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.framework import Dialect, Request, Response

MODELS = (
    "gemini-2.5-flash-image",
    "gemini-3-pro-image",
    "gemini-3.1-flash-image",
    "gemini-2.5-flash",
)


def _error(
    code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response:
    return Response.json(
        code,
        {"error": {"code": code, "message": message, "status": status, "details": details or []}},
    )


class GeminiDialect(Dialect):
    name = "gemini"

    def prompt_of(self, req: Request) -> str | None:
        if req.method != "POST" or not req.path.endswith(":generateContent"):
            return None
        parts = req.json()["contents"][0]["parts"]
        return " ".join(p["text"] for p in parts if "text" in p)

    def handle(self, req: Request, behaviour: str) -> Response:
        key_ok = self.fake.api_key is None or req.headers.get("x-goog-api-key") == self.fake.api_key
        # v1beta is what Atelier sends; google-genai 3.x defaults to v1: both exist upstream.
        path = req.path.removeprefix("/v1beta").removeprefix("/v1")
        if req.method == "GET" and path == "/models":
            if not key_ok:
                behaviour = "auth"
            else:
                return Response.json(200, {"models": [{"name": f"models/{m}"} for m in MODELS]})
        elif not (
            req.method == "POST"
            and path.startswith("/models/")
            and path.endswith(":generateContent")
        ):
            return _error(404, "NOT_FOUND", f"Method not found: {req.path}")
        if not key_ok:
            behaviour = "auth"
        model = path.removeprefix("/models/").removesuffix(":generateContent")
        simple = {
            "429": _error(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{self.fake.retry_after_s:g}s",
                    }
                ],
            ),
            "quota": _error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {
                                "quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day",
                                "quotaId": "GenerateRequestsPerDayPerProjectPerModel",
                            }
                        ],
                    }
                ],
            ),
            "invalid": _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
            "auth": _error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            ),
            "403": _error(403, "PERMISSION_DENIED", "The caller does not have permission."),
            "404": _error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta."),
            "500": _error(500, "INTERNAL", "An internal error has occurred."),
            "503": _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        }
        if req.method == "GET":
            return simple["auth"]
        if behaviour in simple:
            return simple[behaviour]
        if model not in MODELS:
            return simple["404"]
        body = req.json()
        if behaviour == "blocked":
            return Response.json(
                200,
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": {"promptTokenCount": 12},
                },
            )
        if behaviour in ("image_safety", "no_image"):
            finish = "IMAGE_SAFETY" if behaviour == "image_safety" else "NO_IMAGE"
            return Response.json(
                200,
                {
                    "candidates": [
                        {
                            "content": {
                                "role": "model",
                                "parts": [{"text": "I can't make that image."}],
                            },
                            "finishReason": finish,
                        }
                    ]
                },
            )
        cfg = body.get("generationConfig", {}).get("imageConfig", {})
        aspect = cfg.get("aspectRatio", "1:1")
        tier = {"1K": 1024, "2K": 2048, "4K": 4096}[cfg.get("imageSize", "1K")]
        a, b = (int(x) for x in aspect.split(":"))
        w, h = (tier, round(tier * b / a)) if a >= b else (round(tier * a / b), tier)
        raw = self.fake.image(w, h, "png", prompt=self.prompt_of(req) or "")
        if behaviour == "truncated":
            raw = raw[: len(raw) // 2]
        data = base64.b64encode(raw).decode()
        if behaviour == "bad_base64":
            data = "!!!" + data[:10]
        if behaviour == "ok":
            with self.fake.lock:
                self.fake.served[self.prompt_of(req) or ""] += 1
        return Response.json(
            200,
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [
                                {"text": "Here is your image."},
                                {"inlineData": {"mimeType": "image/png", "data": data}},
                            ],
                        },
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": 12,
                    "candidatesTokenCount": 1290,
                    "totalTokenCount": 1302,
                    "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}],
                },
                "modelVersion": model,
            },
        )
