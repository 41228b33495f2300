"""The Gemini dialect: ``POST /v1beta/models/{model}:generateContent``, ``GET /v1beta/models``.

Behaviours: ``ok``, ``429`` (RetryInfo ``retryDelay``), ``quota`` (QuotaFailure per day),
``blocked`` (200 with ``promptFeedback.blockReason``), ``image_safety`` (200, finishReason
IMAGE_SAFETY, no image), ``no_image``, ``invalid`` (400 INVALID_ARGUMENT), ``auth`` (400
API_KEY_INVALID, as Google answers a bad key), ``403``, ``404``, ``500``, ``503``, ``bad_base64``,
``truncated``.

Batch Mode (shapes as ``google-genai``'s ``batches.py`` reads them): ``POST
/v1beta/models/{m}:batchGenerateContent`` with inline requests → an Operation
``{"name":"batches/…","metadata":{batch}}``; ``GET /v1beta/batches/{id}`` (the same
Operation; ``done`` and ``metadata.output.inlinedResponses`` once finished); ``POST
/v1beta/batches/{id}:cancel``. A batch may name an uploaded request file instead
(``inputConfig.fileName``, from ``POST /upload/v1beta/files``, the resumable protocol as
``google-genai``'s ``files.upload`` speaks it); its results are then a ``responsesFile``
fetched from ``GET /v1beta/files/{id}:download?alt=media``. Batches live in ``fake.batches``
(``tests.fakes.batches``).
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from tests.fakes.batches import BatchBook, FakeBatch
from tests.fakes.framework import Dialect, FakeServer, Request, Response

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


_GRPC = {
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
}
_STATES = {
    "in_progress": "BATCH_STATE_RUNNING",
    "cancelling": "BATCH_STATE_RUNNING",
    "completed": "BATCH_STATE_SUCCEEDED",
    "expired": "BATCH_STATE_EXPIRED",
    "cancelled": "BATCH_STATE_CANCELLED",
}


def _iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).isoformat().replace("+00:00", "Z")


def _prompt_of_body(body: dict[str, Any]) -> str:
    parts = body["contents"][0]["parts"]
    return " ".join(p["text"] for p in parts if "text" in p)


class GeminiDialect(Dialect):
    name = "gemini"

    def __init__(self, fake: FakeServer) -> None:
        super().__init__(fake)
        fake.batches = BatchBook(fake, self._answer_line, _prompt_of_body)
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, int] = {}  # upload id → declared length

    def _files(self, req: Request, path: str) -> Response | None:
        """The Files API: a resumable upload in one chunk, and downloads of result files."""
        if path == "/upload/v1beta/files" and req.method == "POST":
            if "upload_id" not in req.query:
                if req.headers.get("x-goog-upload-command") != "start":
                    return _error(400, "INVALID_ARGUMENT", "Start the upload first.")
                uid = str(len(self.uploads) + 1)
                self.uploads[uid] = int(req.headers.get("x-goog-upload-header-content-length", 0))
                url = f"{self.fake.url}/upload/v1beta/files?upload_id={uid}"
                return Response.json(200, {}, {"x-goog-upload-url": url, "x-goog-upload-status": "active"})  # fmt: skip
            uid = req.query["upload_id"]
            if "finalize" not in req.headers.get("x-goog-upload-command", ""):
                return _error(400, "INVALID_ARGUMENT", "Only single-chunk uploads here.")
            if len(req.body) != self.uploads.get(uid):
                return _error(400, "INVALID_ARGUMENT", "The upload's length is not as declared.")
            name = f"files/in-{uid}"
            self.files[name] = req.body
            meta = {"name": name, "mimeType": "application/jsonl", "sizeBytes": str(len(req.body)), "state": "ACTIVE"}  # fmt: skip
            return Response.json(200, {"file": meta}, {"x-goog-upload-status": "final"})
        rest = path.removeprefix("/v1beta").removeprefix("/v1")
        if req.method == "GET" and rest.startswith("/files/") and rest.endswith(":download"):
            name = rest.removeprefix("/").removesuffix(":download")
            if name not in self.files:
                return _error(404, "NOT_FOUND", f"File {name} not found.")
            return Response(200, self.files[name], content_type="application/octet-stream")
        return None

    def _answer_line(self, body: dict[str, Any], behaviour: str) -> tuple[int, Any]:
        model = body.get("model", "models/gemini-2.5-flash-image").removeprefix("models/")
        resp = self.handle(
            Request(
                "POST",
                f"/v1beta/models/{model}:generateContent",
                {},
                {"x-goog-api-key": self.fake.api_key or ""},
                json.dumps(body).encode(),
            ),
            behaviour,
        )
        return resp.status, json.loads(resp.body)

    def _operation(self, b: FakeBatch) -> dict[str, Any]:
        answered = b.lines[: b.answered]
        ok = sum(1 for ln in answered if ln.status == 200)
        meta: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{b.model}",
            "displayName": b.extra.get("displayName", ""),
            "state": _STATES[b.state],
            "createTime": _iso(b.created_wall),
            "updateTime": _iso(b.ended_wall or b.created_wall),
            "batchStats": {
                "requestCount": str(len(b.lines)),
                "successfulRequestCount": str(ok),
                "failedRequestCount": str(len(answered) - ok),
                "pendingRequestCount": str(len(b.lines) - len(answered)),
            },
            "name": b.id,
        }
        op: dict[str, Any] = {"name": b.id, "metadata": meta}
        if b.finished:
            meta["endTime"] = _iso(b.ended_wall or b.created_wall)
            op["done"] = True
            items: list[dict[str, Any]] = []
            # What was made before an expiry or a cancel is in the output (and billed).
            for ln in answered:
                entry: dict[str, Any] = {"metadata": {"key": ln.key}}
                if ln.status == 200:
                    entry["response"] = ln.answer
                else:
                    err = ln.answer.get("error", {})
                    entry["error"] = {
                        "code": _GRPC.get(err.get("status", ""), 13),
                        "message": err.get("message", ""),
                    }
                raw = self.fake.batches.garbled(ln)
                if raw is not None:  # a hostile line, inline as parsed JSON, raw in a file
                    entry = {"_raw": raw, "metadata": {"key": ln.key}}
                items.append(entry)
                if self.fake.batches.repeat_lines:
                    items.append(entry)
            if items and b.extra.get("file"):
                name = f"files/out-{b.id.removeprefix('batches/')}"
                lines = [it["_raw"] if "_raw" in it else json.dumps({"key": it["metadata"]["key"], **{k: v for k, v in it.items() if k != "metadata"}}) for it in items]  # fmt: skip
                self.files[name] = "".join(x + "\n" for x in lines).encode()
                meta["output"] = {"responsesFile": name}
            elif items:
                inline = [json.loads(it["_raw"]) if "_raw" in it else it for it in items]
                meta["output"] = {"inlinedResponses": {"inlinedResponses": inline}}
        return op

    def _batches(self, req: Request, path: str) -> Response | None:
        book: BatchBook = self.fake.batches
        if req.method == "POST" and path.endswith(":batchGenerateContent"):
            model = path.removeprefix("/models/").removesuffix(":batchGenerateContent")
            if model not in MODELS:
                return _error(404, "NOT_FOUND", f"models/{model} is not found.")
            batch = req.json().get("batch") or {}
            source = batch.get("inputConfig") or {}
            inline = (source.get("requests") or {}).get("requests")
            if source.get("fileName"):
                data = self.files.get(source["fileName"])
                if data is None:
                    return _error(404, "NOT_FOUND", f"File {source['fileName']} not found.")
                items = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
                lines = [(str(r["key"]), r["request"]) for r in items]
            elif isinstance(inline, list) and inline:
                if len(req.body) > 20_000_000:
                    return _error(400, "INVALID_ARGUMENT", "Inline requests exceed 20 MB.")
                lines = [(str(r["metadata"]["key"]), r["request"]) for r in inline]
            else:
                return _error(400, "INVALID_ARGUMENT", "batch.input_config has no requests.")
            b = book.create(model, lines, "batches/")
            b.extra = {
                "displayName": batch.get("displayName", ""),
                "file": bool(source.get("fileName")),
            }
            return Response.json(200, self._operation(b))
        if path.startswith("/batches/"):
            rest = path.removeprefix("/")
            bid, _, action = rest.partition(":")
            b = book.batches.get(bid)
            if b is None:
                return _error(404, "NOT_FOUND", f"Batch {bid} not found.")
            if action == "cancel" and req.method == "POST":
                book.cancel(b)
                return Response.json(200, {})
            if not action and req.method == "GET":
                return Response.json(200, self._operation(book.advance(b)))
        return None

    def prompt_of(self, req: Request) -> str | None:
        if req.method != "POST" or not req.path.endswith(":generateContent"):
            return None
        return _prompt_of_body(req.json())

    def consumes_behaviour(self, req: Request) -> bool:
        return req.method == "POST" and req.path.endswith(":generateContent")

    def handle(self, req: Request, behaviour: str) -> Response:
        key_ok = self.fake.api_key is None or req.headers.get("x-goog-api-key") == self.fake.api_key
        # v1beta is what Atelier sends; google-genai 3.x defaults to v1: both exist upstream.
        # The upload address itself authorises the chunks (the SDK sends them without a key).
        if (key_ok or req.query.get("upload_id") in self.uploads) and (
            files := self._files(req, req.path)
        ) is not None:
            return files
        path = req.path.removeprefix("/v1beta").removeprefix("/v1")
        if key_ok and (path.startswith("/batches/") or path.endswith(":batchGenerateContent")):
            answered = self._batches(req, path)
            if answered is not None:
                return answered
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
