"""The OpenAI Images dialect: ``POST /v1/images/generations``, ``POST /v1/images/edits``
(multipart), ``GET /v1/models`` (also without ``/v1``).

Success bodies carry ``created``, ``data[].b64_json`` (a real image of the requested size and
format), ``background``, ``output_format``, ``size``, ``quality`` and ``usage``; errors use the
``{"error":{"message","type","param","code"}}`` envelope; responses carry ``x-request-id`` and
``x-ratelimit-*`` headers (wire facts: shared/docs/providers.md, "OpenAI Images").

Behaviours (besides the framework's transport faults): ``ok``, ``429`` (with ``retry-after``),
``500``, ``503``, ``moderation_blocked``, ``insufficient_quota``, ``invalid_api_key``,
``bad_base64``, ``truncated`` (a cut-off PNG), ``bomb`` (a small PNG that claims 144 megapixels).

Batch API (``shared/docs/providers.md`` "Batch API"; shapes as the ``openai`` package reads
them): ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}/content``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``; the batches
themselves live in ``fake.batches`` (``tests.fakes.batches``).

Run standalone: ``python -m tests.fakes.openai_server --port 8089``.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import time
from typing import Any

from tests.fakes.batches import BatchBook, FakeBatch
from tests.fakes.framework import Dialect, FakeServer, Request, Response
from tests.fakes.hostile import bomb_png

MODELS = (
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-1-mini",
    "gpt-image-1",
    "dall-e-3",
    "seedream-4-0-250828",
    "stablediffusion",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)
SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# Models taking any WxH (both sides divisible by 16, ≤ 3840 a side, ≤ 3840x2160 pixels, aspect
# 1:3 to 3:1) and those taking quality xhigh/max: openai-python 3.63.0 ``image_generate_params``.
CUSTOM_SIZE_MODELS = ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst")
XHIGH_MODELS = ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst")
# Models taking ``complexity`` (low/medium/high: openai-python 3.63.0 ``image_generate_params``;
# "2.6 adds a complexity parameter", shared/docs/providers.md [3P]).
COMPLEXITY_MODELS = ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
QUALITIES = ("auto", "low", "medium", "high")
# Output tokens per image (providers.md, gpt-image-1 family [3P]).
OUTPUT_TOKENS = {
    ("low", "1024x1024"): 272,
    ("low", "1024x1536"): 408,
    ("low", "1536x1024"): 400,
    ("medium", "1024x1024"): 1056,
    ("medium", "1024x1536"): 1584,
    ("medium", "1536x1024"): 1568,
    ("high", "1024x1024"): 4160,
    ("high", "1024x1536"): 6240,
    ("high", "1536x1024"): 6208,
}

ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "429": (
        429,
        {
            "message": "Rate limit reached for gpt-image in organization org-x on images per minute "
            "(IPM): Limit 5, Used 5, Requested 1.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
    ),
    "insufficient_quota": (
        429,
        {
            "message": "You exceeded your current quota, please check your plan and "
            "billing details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        },
    ),
    "moderation_blocked": (
        400,
        {
            "message": "Your request was rejected as a result of our safety system.",
            "type": "image_generation_user_error",
            "param": None,
            "code": "moderation_blocked",
        },
    ),
    "invalid_api_key": (
        401,
        {
            "message": "Incorrect API key provided: sk-****. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        },
    ),
    "403": (
        403,
        {
            "message": "Your organization must be verified to use the model `gpt-image-1`.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        },
    ),
    "500": (
        500,
        {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
    "502": (502, {"message": "Bad gateway.", "type": "server_error", "param": None, "code": None}),
    "503": (
        503,
        {
            "message": "The engine is currently overloaded, please try again later.",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
}
ERRORS["background_refused"] = (
    # What third-party reports (docs.apiyi.com 2026-10-15 [3P]) say gpt-image-2 answers a
    # transparent background with since 2026-09-30, though OpenAI's SDK calls it a preview.
    400,
    {
        "message": "Transparent background is not supported for this model.",
        "type": "image_generation_user_error",
        "param": "background",
        "code": None,
    },
)
ERRORS["content_policy"] = ERRORS["moderation_blocked"]
ERRORS["auth"] = ERRORS["invalid_api_key"]
ERRORS["quota"] = ERRORS["insufficient_quota"]


def _err(
    status: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    etype: str = "invalid_request_error",
) -> Response:
    return Response.json(
        status, {"error": {"message": message, "type": etype, "param": param, "code": code}}
    )


class TokenBucket:
    """``per_minute`` images with bursts of ``burst``: the way providers enforce IPM."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        self.per_minute = per_minute

    def take(self, n: int) -> float:
        """Take ``n`` tokens; return 0, or the seconds until ``n`` would be there."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return 0.0
            return (n - self.tokens) / self.rate

    def headers(self) -> dict[str, str]:
        """``x-ratelimit-*`` as of now (the bucket refilled since the last take)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            to_full = (self.capacity - self.tokens) / self.rate
            return {
                "x-ratelimit-limit-requests": f"{self.per_minute:g}",
                "x-ratelimit-remaining-requests": str(int(self.tokens)),
                "x-ratelimit-reset-requests": f"{int(to_full * 1000)}ms",
            }


class OpenAIDialect(Dialect):
    name = "openai"

    def __init__(self, fake: Any) -> None:
        super().__init__(fake)
        self.bucket: TokenBucket | None = None
        self.rate_limited = 0
        self.latency: Any = None  # a callable giving seconds per request (benchmarks)
        # (monotonic arrival, latency drawn) of each request the bucket let through; CLOCK_MONOTONIC
        # is system-wide, so a benchmark in another process can compare these with its own clock.
        self.accepted: list[tuple[float, float]] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        fake.batches = BatchBook(fake, self._answer_line, lambda b: str(b.get("prompt", "")))

    def _answer_line(self, body: dict[str, Any], behaviour: str) -> tuple[int, Any]:
        resp = self.handle(
            Request(
                "POST",
                "/v1/images/generations",
                {},
                {"authorization": f"Bearer {self.fake.api_key}"},
                json.dumps(body).encode(),
            ),
            behaviour,
        )
        return resp.status, json.loads(resp.body)

    def _batch_json(self, b: FakeBatch) -> dict[str, Any]:
        failed = sum(1 for ln in b.lines[: b.answered] if ln.status >= 400)
        out: dict[str, Any] = {
            "id": b.id,
            "object": "batch",
            "endpoint": "/v1/images/generations",
            "errors": None,
            "input_file_id": b.extra["input_file_id"],
            "completion_window": "24h",
            "status": b.state,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(b.created_wall),
            "in_progress_at": int(b.created_wall),
            "expires_at": int(b.created_wall) + 86400,
            "completed_at": None,
            "request_counts": {
                "total": len(b.lines),
                "completed": b.answered - failed,
                "failed": failed,
            },
            "metadata": b.extra.get("metadata"),
        }
        if b.state == "failed":
            out["failed_at"] = int(b.ended_wall or time.time())
            out["errors"] = {
                "object": "list",
                "data": [
                    {
                        "code": "invalid_request",
                        "message": "Line 1: the model is not available for batches.",
                        "param": None,
                        "line": 1,
                    }
                ],
            }
            return out
        if b.finished:
            out[f"{b.state}_at"] = int(b.ended_wall or time.time())
            ok: list[Any] = []
            bad: list[Any] = []
            for i, ln in enumerate(b.lines):
                item: dict[str, Any] = {"id": f"batch_req_{b.id}_{i}", "custom_id": ln.key}
                if i < b.answered:
                    item["response"] = {
                        "status_code": ln.status,
                        "request_id": f"req_{b.id}_{i}",
                        "body": ln.answer,
                    }
                    item["error"] = None
                    raw = self.fake.batches.garbled(ln)
                    (ok if ln.status < 400 else bad).append(item if raw is None else raw)
                else:
                    code = "batch_expired" if b.state == "expired" else "batch_cancelled"
                    item["response"] = None
                    item["error"] = {"code": code, "message": f"This request was {b.state}."}
                    bad.append(item)
                if self.fake.batches.repeat_lines and i < b.answered:
                    (ok if ln.status < 400 else bad).append(item)
            for key, items in (("output_file_id", ok), ("error_file_id", bad)):
                if items:
                    fid = f"file-{key[:3]}-{b.id}"
                    jsonl = "".join(
                        (it if isinstance(it, str) else json.dumps(it)) + "\n" for it in items
                    ).encode()
                    self.files[fid] = ("batch_output.jsonl", jsonl)
                    out[key] = fid
        return out

    def _batches(self, req: Request, route: str) -> Response:
        book: BatchBook = self.fake.batches
        if not self._auth_ok(req):
            return Response.json(401, {"error": ERRORS["invalid_api_key"][1]})
        if route == "/files" and req.method == "POST":
            fields, files = req.form()
            if fields.get("purpose") != "batch" or not files.get("file"):
                return _err(400, "A file and purpose 'batch' are required.", "purpose")
            fid = f"file-in-{len(self.files) + 1:04d}"
            data = files["file"][0]
            self.files[fid] = ("atelier-batch.jsonl", data)
            return Response.json(
                200,
                {
                    "id": fid,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": int(time.time()),
                    "filename": "atelier-batch.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
        if route.startswith("/files/") and route.endswith("/content") and req.method == "GET":
            fid = route.removeprefix("/files/").removesuffix("/content")
            if fid not in self.files:
                return _err(404, f"No such File object: {fid}", "id")
            return Response(200, self.files[fid][1], content_type="application/octet-stream")
        if route == "/batches" and req.method == "POST":
            body = req.json()
            fid = body.get("input_file_id")
            if fid not in self.files:
                return _err(400, f"Invalid 'input_file_id': {fid}.", "input_file_id")
            if body.get("endpoint") not in ("/v1/images/generations", "/v1/images/edits"):
                return _err(400, f"Invalid 'endpoint': {body.get('endpoint')}.", "endpoint")
            lines = [json.loads(x) for x in self.files[fid][1].decode().splitlines() if x]
            if len(lines) > book.max_lines:
                return _err(
                    400, f"The batch has more than {book.max_lines} requests.", "input_file_id"
                )
            keys = [ln["custom_id"] for ln in lines]
            if len(set(keys)) != len(keys):
                return _err(400, "Duplicate custom_id in the input file.", "custom_id")
            b = book.create("", [(ln["custom_id"], ln["body"]) for ln in lines], "batch_")
            b.extra = {"input_file_id": fid, "metadata": body.get("metadata")}
            return Response.json(200, self._batch_json(b))
        if route.startswith("/batches/"):
            rest = route.removeprefix("/batches/")
            bid, _, action = rest.partition("/")
            b = book.batches.get(bid)
            if b is None:
                return _err(404, f"No batch found with id '{bid}'.", "batch_id")
            if action == "cancel" and req.method == "POST":
                book.cancel(b)
                return Response.json(200, self._batch_json(b))
            if not action and req.method == "GET":
                return Response.json(200, self._batch_json(book.advance(b)))
        return _err(404, f"Unknown request URL: {req.method} {req.path}.", code="unknown_url")

    def _route(self, req: Request) -> str:
        return req.path.removeprefix("/v1").removeprefix("/api/v3")

    def prompt_of(self, req: Request) -> str | None:
        route = self._route(req)
        if req.method != "POST" or route not in ("/images/generations", "/images/edits"):
            return None
        if route == "/images/edits":
            return req.form()[0].get("prompt", "")
        return str(req.json().get("prompt", ""))

    def _auth_ok(self, req: Request) -> bool:
        key = self.fake.api_key
        return key is None or req.headers.get("authorization") == f"Bearer {key}"

    def consumes_behaviour(self, req: Request) -> bool:
        return req.method == "POST" and self._route(req).startswith("/images/")

    def handle(self, req: Request, behaviour: str) -> Response:
        route = self._route(req)
        if route == "/__stats":  # for benchmarks in another process
            with self.fake.lock:
                served = sum(self.fake.served.values())
                total = sum(1 for e in self.fake.log if e.prompt is not None)
            with self.fake.lock:
                accepted = list(self.accepted)
            return Response.json(
                200,
                {
                    "requests": total,
                    "rate_limited": self.rate_limited,
                    "served": served,
                    "accepted": accepted,
                    "perfect_s": self.perfect_client_s([lat for _, lat in accepted]),
                },
            )
        if route == "/__reset" and req.method == "POST":
            with self.fake.lock:
                self.fake.log.clear()
                self.fake.served.clear()
                self.rate_limited = 0
                self.accepted.clear()
                if self.bucket is not None:
                    self.bucket = TokenBucket(self.bucket.per_minute, int(self.bucket.capacity))
            return Response.json(200, {})
        if route.startswith(("/files", "/batches")):
            return self._batches(req, route)
        if req.method == "GET" and route == "/models":
            if not self._auth_ok(req):
                return Response.json(401, {"error": ERRORS["invalid_api_key"][1]})
            return Response.json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "owned_by": "openai"} for m in MODELS[:5]
                    ],
                },
            )
        if req.method != "POST" or route not in ("/images/generations", "/images/edits"):
            return _err(404, f"Unknown request URL: {req.method} {req.path}.", code="unknown_url")
        if not self._auth_ok(req):
            behaviour = "invalid_api_key"
        if route == "/images/edits":
            fields, files = req.form()
            body: dict[str, Any] = {k: (int(v) if k == "n" else v) for k, v in fields.items()}
            if not files.get("image[]") and not files.get("image"):
                return _err(400, "Missing required parameter: 'image'.", "image")
        else:
            try:
                # A null field is the field's default (BytePlus's SDK sends every unset field
                # as null; so may any client).
                body = {k: v for k, v in req.json().items() if v is not None}
            except (ValueError, AttributeError):
                return _err(400, "We could not parse the JSON body of your request.")
        if behaviour in ERRORS:
            status, err = ERRORS[behaviour]
            headers = {}
            if behaviour == "429":
                headers = {
                    "retry-after": f"{self.fake.retry_after_s:g}",
                    "x-ratelimit-limit-requests": "5",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{int(self.fake.retry_after_s * 1000)}ms",
                }
            return Response.json(status, {"error": err}, headers)
        seedream = str(body.get("model", "")).startswith("seedream")
        if seedream and route == "/images/edits":  # BytePlus takes references in ``image``
            return _err(404, f"Unknown request URL: {req.method} {req.path}.", code="unknown_url")
        bad = self._seedream_image_error(body) if seedream else self._validation_error(body)
        if bad:
            return _err(400, bad[1], bad[0], "invalid_value")
        n = int(body.get("n", 1))
        if self.bucket is not None:
            wait = self.bucket.take(n)
            if wait > 0:
                with self.fake.lock:
                    self.rate_limited += 1
                return Response.json(
                    429,
                    {"error": ERRORS["429"][1]},
                    {
                        "retry-after-ms": str(int(wait * 1000) + 1),
                        "retry-after": str(max(1, round(wait))),
                        **self.bucket.headers(),
                    },
                )
        arrival = time.monotonic()
        latency = float(self.latency()) if self.latency is not None else 0.0
        with self.fake.lock:
            self.accepted.append((arrival, latency))
        if latency:
            time.sleep(latency)
        size = str(body.get("size", "1024x1024"))
        fmt = str(body.get("output_format", "png"))
        if body.get("response_format") == "b64_json" and "output_format" not in body:
            fmt = "jpeg" if str(body.get("model", "")).startswith("seedream") else "png"
        quality = str(body.get("quality", "auto"))
        transparent = body.get("background") == "transparent"
        w, h = (
            (1024, 1024)
            if size in ("auto", "1K")
            else (2048, 2048)
            if size == "2K"
            else (int(x) for x in size.split("x"))
        )
        raw = self.fake.image(w, h, fmt, transparent, str(body.get("prompt", "")))
        if behaviour == "truncated":
            raw = raw[: len(raw) // 2]
        if behaviour == "bomb":
            raw = bomb_png()
        img = base64.b64encode(raw).decode()
        if behaviour == "bad_base64":
            img = "@@not-base64@@" + img[:20]
        out_tokens = (
            OUTPUT_TOKENS.get(
                (
                    "medium" if quality == "auto" else quality,
                    "1024x1024" if size == "auto" else size,
                ),
                1056,
            )
            * n
        )
        in_tokens = max(1, len(str(body.get("prompt", ""))) // 4)
        payload = {
            "created": int(time.time()),
            "data": [{"b64_json": img} for _ in range(n)],
            "background": "transparent" if transparent else "opaque",
            "output_format": fmt,
            "size": size,
            "quality": quality,
            "usage": {
                "input_tokens": in_tokens,
                "input_tokens_details": {"text_tokens": in_tokens, "image_tokens": 0},
                "output_tokens": out_tokens,
                "total_tokens": in_tokens + out_tokens,
            },
        }
        if behaviour == "ok":
            with self.fake.lock:
                self.fake.served[str(body.get("prompt", ""))] += n
        headers = (
            self.bucket.headers()
            if self.bucket is not None
            else {
                "x-ratelimit-limit-requests": "5000",
                "x-ratelimit-remaining-requests": "4999",
                "x-ratelimit-reset-requests": "12ms",
            }
        )
        return Response.json(200, payload, headers)

    def perfect_client_s(self, latencies: list[float]) -> float | None:
        """The wall time of a client that spends the bucket's burst at once and then sends
        exactly at its refill rate, given the latencies this server drew, in order (the i-th
        request let through draws the i-th latency whoever sends it): the best any client can
        do here, seconds. ``None`` without a bucket."""
        if self.bucket is None or not latencies:
            return None
        burst, rate = int(self.bucket.capacity), self.bucket.rate
        return max(max(0.0, (i - burst + 1) / rate) + lat for i, lat in enumerate(latencies))

    def _validation_error(self, body: dict[str, Any]) -> tuple[str, str] | None:
        if not body.get("prompt"):
            return "prompt", "Missing required parameter: 'prompt'."
        if body.get("model", "gpt-image-1.5") not in MODELS:
            return "model", f"Invalid value for 'model': {body.get('model')!r}."
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return "n", "Invalid 'n': must be between 1 and 10."
        model = str(body.get("model", "gpt-image-1.5"))
        size = str(body.get("size", "auto"))
        if model in CUSTOM_SIZE_MODELS and size not in SIZES:
            if not _custom_size_ok(size):
                return "size", (
                    f"Invalid value: '{size}'. Width and height must be divisible by 16, the "
                    "aspect ratio between 1:3 and 3:1, at most 3840x2160."
                )
        elif size not in SIZES and model.startswith("gpt-image-"):
            return "size", f"Invalid value: '{size}'. Supported values are: {', '.join(SIZES)}."
        quality = body.get("quality", "auto")
        xhigh_ok = model in XHIGH_MODELS and quality in ("xhigh", "max")
        if model.startswith("gpt-image-") and quality not in QUALITIES and not xhigh_ok:
            return "quality", f"Invalid value: '{quality}' is not supported for {model}."
        complexity = body.get("complexity")
        if complexity is not None and (
            model not in COMPLEXITY_MODELS or complexity not in ("low", "medium", "high")
        ):
            return "complexity", f"Invalid value: '{complexity}' is not supported for {model}."
        return self._background_error(body, model)

    @staticmethod
    def _seedream_image_error(body: dict[str, Any]) -> tuple[str, str] | None:
        """BytePlus ModelArk's ``image``: one URL or ``data:image/<format>;base64,…`` string, or
        a list of up to 10 (byteplus-python-sdk-v2 3.0.63 ``images.generate(image=str | list)``;
        10 as Atelier's catalogue says for Seedream 4.x/5.x)."""
        image = body.get("image")
        if image is None:
            return None
        items = image if isinstance(image, list) else [image]
        ok = all(
            isinstance(x, str)
            and (
                x.startswith(("http://", "https://"))
                or re.match(r"^data:image/(png|jpeg|webp|bmp|tiff|gif);base64,[A-Za-z0-9+/=]+$", x)
            )
            for x in items
        )
        if not items or not ok or len(items) > 10:
            return "image", "The parameter `image` specified in the request is not valid."
        return None

    @staticmethod
    def _background_error(body: dict[str, Any], model: str) -> tuple[str, str] | None:
        if body.get("background") == "transparent" and body.get("output_format") == "jpeg":
            return "background", "Transparent background requires output_format png or webp."
        return None


def _custom_size_ok(size: str) -> bool:
    try:
        w, h = (int(v) for v in size.split("x"))
    except ValueError:
        return False
    return (
        w > 0
        and h > 0
        and not w % 16
        and not h % 16
        and max(w, h) <= 3840
        and w * h <= 3840 * 2160
        and max(w, h) <= 3 * min(w, h)
    )


class FakeOpenAI(FakeServer):
    """The OpenAI fake; ``base_url`` ends in ``/v1`` as the SDK expects."""

    def __init__(self, port: int = 0, api_key: str | None = "sk-test-fake") -> None:
        super().__init__(OpenAIDialect, api_key=api_key, port=port)

    @property
    def state(self) -> FakeOpenAI:
        """Back-compat: knobs (``retry_after_s``, ``slow_s``, ``latency_s``) live on the server."""
        return self

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeOpenAI:
        super().start()
        return self

    def __enter__(self) -> FakeOpenAI:
        return self.start()


def lognormal_latency(median_s: float, p95_s: float, seed: int = 7) -> Any:
    """Seconds drawn from a log-normal with that median and 95th percentile."""
    import math
    import random

    rnd = random.Random(seed)
    sigma = math.log(p95_s / median_s) / 1.6449
    lock = threading.Lock()

    def draw() -> float:
        with lock:
            return rnd.lognormvariate(math.log(median_s), sigma)

    return draw


def main() -> None:
    ap = argparse.ArgumentParser(description="Fake OpenAI Images server on 127.0.0.1")
    ap.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    ap.add_argument("--key", default="sk-test-fake")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    ap.add_argument("--lognormal", help="latency MEDIAN,P95 in seconds, e.g. 1,3")
    ap.add_argument(
        "--ipm", type=float, help="enforce images per minute (token bucket, 429 + retry-after)"
    )
    ap.add_argument("--burst", type=int, default=10, help="token bucket size with --ipm")
    a = ap.parse_args()
    fake = FakeOpenAI(a.port, a.key)
    fake.latency_s = a.latency
    dialect = fake.dialect
    assert isinstance(dialect, OpenAIDialect)
    if a.ipm:
        dialect.bucket = TokenBucket(a.ipm, a.burst)
    if a.lognormal:
        median, p95 = (float(x) for x in a.lognormal.split(","))
        dialect.latency = lognormal_latency(median, p95)
    print(f"fake OpenAI on {fake.base_url}", flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    main()
