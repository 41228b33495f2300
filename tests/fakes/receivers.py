"""Delivery targets on 127.0.0.1: a Standard Webhooks receiver that verifies signatures with the
``standardwebhooks`` package, Slack's incoming webhook (with its one-message-a-second limit), a
CMS, Shopify's Admin GraphQL API (with its cost-based throttle and staged uploads), and a fault
proxy to put in front of moto's S3 server.

Every receiver takes scripted faults: ``receiver.fail([500, 403, "timeout", 429])`` answers the
next requests so (``"timeout"`` holds the answer past any client timeout), then behaves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks import Webhook


@dataclass
class Got:
    """A received request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Answer:
        return cls(status, json.dumps(payload).encode())


class Receiver:
    """A threaded HTTP server calling ``self.answer(got)`` for each request."""

    timeout_hold_s = 3.0

    def __init__(self) -> None:
        self.got: list[Got] = []
        self._faults: list[int | str] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                if len(body) < n:
                    # The sender went away mid-body (a run killed while it posted): a torn
                    # request no server acts on, not a message that failed to verify.
                    self.close_connection = True
                    return
                got = Got(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                a = outer._handle(got)
                self.send_response(a.status)
                self.send_header("content-type", a.content_type)
                self.send_header("content-length", str(len(a.body)))
                for k, v in a.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(a.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail(self, faults: list[int | str]) -> None:
        """Answer the next requests with these statuses (``"timeout"``: hold the answer)."""
        with self._lock:
            self._faults += faults

    def _handle(self, got: Got) -> Answer:
        with self._lock:
            self.got.append(got)
            fault = self._faults.pop(0) if self._faults else None
        if fault == "timeout":
            time.sleep(self.timeout_hold_s)
            return Answer(504, b"late")
        if isinstance(fault, int):
            headers = {"retry-after": "0"} if fault == 429 else {}
            return Answer(fault, f"fault {fault}".encode(), headers, "text/plain")
        return self.answer(got)

    def answer(self, got: Got) -> Answer:
        return Answer(200, b"ok", content_type="text/plain")

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(Receiver):
    """Verifies every message with ``standardwebhooks.Webhook`` (401 when it does not verify);
    ``ids`` lists every webhook-id received, duplicates included; ``events`` the payloads."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.hook = Webhook(secret)
        self.ids: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.rejected = 0

    def answer(self, got: Got) -> Answer:
        try:
            payload = self.hook.verify(got.body, got.headers)
        except Exception:
            self.rejected += 1
            return Answer(401, b"bad signature", content_type="text/plain")
        self.ids.append(got.headers["webhook-id"])
        self.events.append(payload)
        return Answer(204)


class SlackFake(Receiver):
    """Slack's incoming webhook: JSON with ``text`` or ``blocks`` → 200 ``ok``; anything else →
    400 ``invalid_payload``; two messages within ``interval_s`` → 429 with ``Retry-After: 1``."""

    interval_s = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.too_fast = 0
        self._last = 0.0

    def answer(self, got: Got) -> Answer:
        now = time.monotonic()
        if now - self._last < self.interval_s * 0.9:
            self.too_fast += 1
            return Answer(429, b"rate_limited", {"retry-after": "1"}, "text/plain")
        self._last = now
        try:
            body = got.json()
            text = body["text"] if "text" in body else json.dumps(body["blocks"])
        except (ValueError, KeyError, TypeError):
            return Answer(400, b"invalid_payload", content_type="text/plain")
        self.messages.append(text)
        return Answer(200, b"ok", content_type="text/plain")


class CmsFake(Receiver):
    """A CMS's product API: ``PATCH /api/products/{sku}`` with a bearer token; ``calls`` holds
    ``(method, path, json body)``; a wrong token → 403."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: list[tuple[str, str, Any]] = []

    def answer(self, got: Got) -> Answer:
        if got.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(403, b'{"error": "forbidden"}')
        self.calls.append((got.method, got.path, got.json()))
        return Answer.json({"ok": True})


class ShopifyFake(Receiver):
    """Shopify's Admin GraphQL API: ``productByIdentifier``, ``productUpdate`` with ``media``
    and ``stagedUploadsCreate`` (its target is this server's ``/staged``), behind the
    ``X-Shopify-Access-Token`` header and a leaky bucket of ``bucket`` points restored at
    ``restore`` points/s, each call costing 10 (over budget: ``THROTTLED``)."""

    def __init__(self, token: str, handles: list[str], bucket: float = 30, restore: float = 10):
        super().__init__()
        self.token = token
        self.products = {h: f"gid://shopify/Product/{i + 1}" for i, h in enumerate(handles)}
        self.media: dict[str, list[dict[str, Any]]] = {}
        self.staged: list[bytes] = []
        self.throttled = 0
        self.max, self.available, self.restore = bucket, bucket, restore
        self._seen = time.monotonic()

    def _throttle(self) -> dict[str, Any]:
        now = time.monotonic()
        self.available = min(self.max, self.available + (now - self._seen) * self.restore)
        self._seen = now
        return {
            "maximumAvailable": self.max,
            "currentlyAvailable": self.available,
            "restoreRate": self.restore,
        }

    def answer(self, got: Got) -> Answer:
        if got.path == "/staged":
            self.staged.append(got.body)
            return Answer(201, b"")
        if got.headers.get("x-shopify-access-token") != self.token:
            return Answer(401, b'{"errors": "[API] Invalid API key or access token"}')
        req = got.json()
        q, v = req["query"], req.get("variables", {})
        status = self._throttle()
        if self.available < 10:
            self.throttled += 1
            ext = {"cost": {"requestedQueryCost": 10, "throttleStatus": status}}
            err = {"message": "Throttled", "extensions": {"code": "THROTTLED"}}
            return Answer.json({"errors": [err], "extensions": ext})
        self.available -= 10
        status["currentlyAvailable"] = self.available
        data = self._data(q, v)
        return Answer.json({"data": data, "extensions": {"cost": {"throttleStatus": status}}})

    def _data(self, q: str, v: dict[str, Any]) -> dict[str, Any]:
        if "productByIdentifier" in q:
            pid = self.products.get(v["h"])
            return {"productByIdentifier": {"id": pid} if pid else None}
        if "stagedUploadsCreate" in q:
            name = v["input"][0]["filename"]
            return {
                "stagedUploadsCreate": {
                    "stagedTargets": [
                        {
                            "url": f"{self.url}/staged",
                            "resourceUrl": f"https://shopify-staged.example/{name}",
                            "parameters": [{"name": "key", "value": f"tmp/{name}"}],
                        }
                    ],
                    "userErrors": [],
                }
            }
        if "productUpdate" in q:
            self.media.setdefault(v["id"], []).extend(v["media"])
            return {"productUpdate": {"product": {"id": v["id"]}, "userErrors": []}}
        raise AssertionError(f"unexpected query {q}")


class FaultProxy(Receiver):
    """Forwards every request to ``upstream`` (moto's S3 server) unless a fault is scripted,
    so S3's 5xx, 403 and timeouts can be shown against the real S3 wire format."""

    def __init__(self, upstream: str, on_forward: Callable[[Got], None] | None = None) -> None:
        super().__init__()
        self.upstream = upstream
        self.on_forward = on_forward
        self._client = httpx.Client(timeout=30)

    def answer(self, got: Got) -> Answer:
        headers = {k: v for k, v in got.headers.items() if k not in ("host", "content-length")}
        r = self._client.request(
            got.method, self.upstream + got.path, headers=headers, content=got.body
        )
        if self.on_forward is not None:
            self.on_forward(got)
        keep = {k: v for k, v in r.headers.items() if k.lower() not in _HOP}
        return Answer(r.status_code, r.content, keep, r.headers.get("content-type", ""))


_HOP = {"content-length", "transfer-encoding", "connection", "content-type", "content-encoding"}
