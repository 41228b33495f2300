"""A fake OpenAI Images server on 127.0.0.1 speaking the real wire format.

Routes: ``POST /v1/images/generations`` and ``GET /v1/models`` (also without ``/v1``).
Success bodies carry ``created``, ``data[].b64_json`` (a real image of the requested size and
format), ``background``, ``output_format``, ``size``, ``quality`` and ``usage``; errors use the
``{"error":{"message","type","param","code"}}`` envelope; responses carry ``x-request-id`` and
``x-ratelimit-*`` headers (wire facts: shared/docs/providers.md, "OpenAI Images").

Behaviours are scripted per request, globally (``script.extend([...])``) or per prompt
(``script_for("substring", [...])``). A behaviour is one of:
``ok``, ``429`` (rate limit, with ``retry-after``), ``500``, ``503``, ``moderation_blocked``,
``insufficient_quota``, ``invalid_api_key``, ``slow`` (waits ``slow_s`` then answers),
``drop`` (sends headers and half the body, then closes the connection), ``malformed``.
Per-prompt scripts are consumed before the global one; with neither, the answer is ``ok``.

Run standalone: ``python -m tests.fakes.openai_server --port 8089``.
"""

from __future__ import annotations

import argparse
import base64
import colorsys
import io
import json
import threading
import time
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

MODELS = ("gpt-image-1.5", "gpt-image-2", "gpt-image-1-mini", "gpt-image-1", "dall-e-3")
SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
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
    "500": (
        500,
        {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
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


@dataclass
class RequestLog:
    """One request the fake received."""

    at: float
    path: str
    prompt: str | None
    body: dict[str, Any]
    behaviour: str
    status: int


@dataclass
class FakeState:
    """Scripts and counters, shared with the test (guarded by ``lock``)."""

    api_key: str | None = "sk-test-fake"
    retry_after_s: float = 0.2
    slow_s: float = 2.0
    latency_s: float = 0.0
    script: list[str] = field(default_factory=list)
    prompt_scripts: dict[str, list[str]] = field(default_factory=dict)
    log: list[RequestLog] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)  # prompt → images successfully sent
    lock: threading.Lock = field(default_factory=threading.Lock)
    _image_cache: dict[tuple[str, str, bool, int], bytes] = field(default_factory=dict)

    def next_behaviour(self, prompt: str) -> str:
        with self.lock:
            for key, steps in self.prompt_scripts.items():
                if key in prompt and steps:
                    return steps.pop(0)
            return self.script.pop(0) if self.script else "ok"

    def image(self, size: str, fmt: str, transparent: bool, prompt: str = "") -> bytes:
        # One colour per prompt (so thumbnails differ), cached: encoding is the costly part.
        shade = zlib.crc32(prompt.encode()) % 12
        key = (size, fmt, transparent, shade)
        with self.lock:
            if key in self._image_cache:
                return self._image_cache[key]
        w, h = (1024, 1024) if size == "auto" else (int(x) for x in size.split("x"))
        mode = "RGBA" if transparent and fmt != "jpeg" else "RGB"
        r, g, b = colorsys.hsv_to_rgb(shade / 12, 0.45, 0.85)
        img = Image.new(
            mode, (w, h), (int(r * 255), int(g * 255), int(b * 255), 0 if mode == "RGBA" else 255)
        )
        buf = io.BytesIO()
        img.save(buf, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt])
        data = buf.getvalue()
        with self.lock:
            self._image_cache[key] = data
        return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _auth_ok(self) -> bool:
        st = self.server.state
        if st.api_key is None:
            return True
        return self.headers.get("Authorization") == f"Bearer {st.api_key}"

    def do_GET(self) -> None:
        path = self.path.split("?")[0].removeprefix("/v1")
        if path != "/models":
            self._send(
                404,
                {
                    "error": {
                        "message": f"Unknown request URL: GET {self.path}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "unknown_url",
                    }
                },
            )
            return
        if not self._auth_ok():
            self._send(401, {"error": ERRORS["invalid_api_key"][1]})
            return
        self._send(
            200,
            {
                "object": "list",
                "data": [{"id": m, "object": "model", "owned_by": "openai"} for m in MODELS],
            },
        )

    def do_POST(self) -> None:
        st = self.server.state
        path = self.path.split("?")[0].removeprefix("/v1")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if path != "/images/generations":
            self._send(
                404,
                {
                    "error": {
                        "message": f"Unknown request URL: POST {self.path}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "unknown_url",
                    }
                },
            )
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(
                400,
                {
                    "error": {
                        "message": "We could not parse the JSON body of your request.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
            return
        prompt = str(body.get("prompt", ""))
        behaviour = "invalid_api_key" if not self._auth_ok() else st.next_behaviour(prompt)
        entry = RequestLog(time.time(), path, prompt, body, behaviour, 0)
        with st.lock:
            st.log.append(entry)  # logged on arrival, so requests still in flight are counted
        if st.latency_s:
            time.sleep(st.latency_s)
        entry.status = self._answer(body, behaviour)

    def _validation_error(self, body: dict[str, Any]) -> tuple[str, str] | None:
        if not body.get("prompt"):
            return "prompt", "Missing required parameter: 'prompt'."
        if body.get("model", "gpt-image-1.5") not in MODELS:
            return "model", f"Invalid value for 'model': {body.get('model')!r}."
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return "n", "Invalid 'n': must be between 1 and 10."
        size = body.get("size", "auto")
        if size not in SIZES and body.get("model") != "gpt-image-2":
            return "size", f"Invalid value: '{size}'. Supported values are: {', '.join(SIZES)}."
        if body.get("background") == "transparent" and body.get("output_format") == "jpeg":
            return "background", "Transparent background requires output_format png or webp."
        return None

    def _answer(self, body: dict[str, Any], behaviour: str) -> int:
        st = self.server.state
        if behaviour in ERRORS:
            status, err = ERRORS[behaviour]
            headers = (
                {"retry-after": f"{st.retry_after_s:g}"}
                if status == 429 and behaviour == "429"
                else {}
            )
            if behaviour == "429":
                headers.update(
                    {
                        "x-ratelimit-limit-requests": "5",
                        "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": f"{int(st.retry_after_s * 1000)}ms",
                    }
                )
            self._send(status, {"error": err}, headers)
            return status
        bad = self._validation_error(body)
        if bad:
            self._send(
                400,
                {
                    "error": {
                        "message": bad[1],
                        "type": "invalid_request_error",
                        "param": bad[0],
                        "code": "invalid_value",
                    }
                },
            )
            return 400
        if behaviour == "slow":
            time.sleep(st.slow_s)
        n = int(body.get("n", 1))
        size = str(body.get("size", "1024x1024"))
        fmt = str(body.get("output_format", "png"))
        quality = str(body.get("quality", "auto"))
        transparent = body.get("background") == "transparent"
        img = base64.b64encode(
            st.image(size, fmt, transparent, str(body.get("prompt", "")))
        ).decode()
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
        if behaviour == "malformed":
            raw = b'{"created": 1, "data": [{"b64_json": "AAAA'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return 200
        rl = {
            "x-ratelimit-limit-requests": "50",
            "x-ratelimit-remaining-requests": "49",
            "x-ratelimit-reset-requests": "1.2s",
        }
        if behaviour == "drop":
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            import socket

            self.connection.shutdown(socket.SHUT_RDWR)
            return 200
        self._send(200, payload, rl)
        with st.lock:
            st.served[str(body.get("prompt", ""))] += n
        return 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: FakeState


class FakeOpenAI:
    """Start with ``with FakeOpenAI() as fake:``; ``fake.base_url`` ends in ``/v1``."""

    def __init__(self, port: int = 0, api_key: str | None = "sk-test-fake") -> None:
        self.state = FakeState(api_key=api_key)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- scripting and inspection --------------------------------------------------------
    def script(self, behaviours: Iterable[str]) -> None:
        with self.state.lock:
            self.state.script.extend(behaviours)

    def script_for(self, prompt_part: str, behaviours: Iterable[str]) -> None:
        with self.state.lock:
            self.state.prompt_scripts.setdefault(prompt_part, []).extend(behaviours)

    def requests(self, prompt_part: str | None = None) -> list[RequestLog]:
        with self.state.lock:
            return [
                r
                for r in self.state.log
                if r.path == "/images/generations"
                and (prompt_part is None or (r.prompt and prompt_part in r.prompt))
            ]

    def counts_by_prompt(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.requests():
            out[r.prompt or ""] += 1
        return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--key", default="sk-test-fake")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    a = ap.parse_args()
    fake = FakeOpenAI(a.port, a.key)
    fake.state.latency_s = a.latency
    print(f"fake OpenAI on {fake.base_url} (key {a.key})", flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    main()
