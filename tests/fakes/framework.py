"""A fake-server framework: one threaded HTTP server on 127.0.0.1, one *dialect* per provider.

The framework owns what every fake shares: the socket, request parsing (JSON and multipart),
per-request scripting, a request log, hosted result files with expiry, and the transport-level
faults (``slow``, ``drop``, ``malformed``, ``wrong_content_type``, ``oversized``,
``redirect_loop``: every answer a 302 to another address, without end; ``redirect_away``: a
307 to ``redirect_to``, another origin). ``failing_downloads`` breaks hosted downloads. A dialect
speaks one provider's wire format (routes, bodies, error envelopes, headers) from
``shared/docs/providers.md``.

Scripting: ``fake.script([...])`` queues behaviours for the next requests that consume one;
``fake.script_for("prompt part", [...])`` queues them for requests whose prompt contains the
part (checked first). With neither, the behaviour is ``ok``.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import io
import json
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image


@dataclass
class Request:
    """A parsed request as a dialect sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> tuple[dict[str, str], dict[str, list[bytes]]]:
        """Multipart form fields and files (``name`` → list of file bodies)."""
        ctype = self.headers.get("content-type", "")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
        )
        fields: dict[str, str] = {}
        files: dict[str, list[bytes]] = defaultdict(list)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[str(name)].append(payload)
            else:
                fields[str(name)] = payload.decode("utf-8")
        return fields, dict(files)


@dataclass
class Response:
    """What a dialect answers. ``delay_s`` waits before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0
    takeover: Any = None  # a callable(handler) that owns the connection (websockets)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), dict(headers or {}))


@dataclass
class LogEntry:
    """One request the fake received (logged on arrival, so in-flight requests count)."""

    at: float
    method: str
    path: str
    prompt: str | None
    body: Any
    behaviour: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class Dialect:
    """One provider's wire format. Subclasses implement ``handle``."""

    name = "dialect"

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake

    def prompt_of(self, req: Request) -> str | None:
        """The prompt a request carries (for per-prompt scripts and counters), if any."""
        return None

    def consumes_behaviour(self, req: Request) -> bool:
        """Whether this request takes the next scripted behaviour (generation requests do;
        polls and downloads do not)."""
        return req.method == "POST"

    def handle(self, req: Request, behaviour: str) -> Response:
        raise NotImplementedError


@dataclass
class _Hosted:
    data: bytes
    content_type: str
    expires_at: float


class FakeServer:
    """Start with ``with FakeServer(DialectClass) as fake:``; ``fake.url`` is its root."""

    def __init__(
        self, dialect: type[Dialect], api_key: str | None = "test-key", port: int = 0
    ) -> None:
        self.api_key = api_key
        self.failing_downloads = 0  # the next N hosted-file downloads answer 503
        self.redirect_to: str | None = None  # where the "redirect_away" behaviour sends requests
        self.lock = threading.Lock()
        self.script_queue: list[str] = []
        self.prompt_scripts: dict[str, list[str]] = {}
        self.log: list[LogEntry] = []
        self.served: Counter[str] = Counter()
        self.slow_s = 2.0
        self.latency_s = 0.0
        self.retry_after_s = 0.2
        self.result_ttl_s = 600.0
        self._hosted: dict[str, _Hosted] = {}
        self._image_cache: dict[tuple[int, int, str, bool, int], bytes] = {}
        self.batches: Any = None  # a dialect with a batch API sets its BatchBook here
        self.dialect = dialect(self)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- scripting and inspection -----------------------------------------------------------
    def script(self, behaviours: Iterable[str]) -> None:
        with self.lock:
            self.script_queue.extend(behaviours)

    def script_for(self, prompt_part: str, behaviours: Iterable[str]) -> None:
        with self.lock:
            self.prompt_scripts.setdefault(prompt_part, []).extend(behaviours)

    def next_behaviour(self, prompt: str | None) -> str:
        with self.lock:
            if prompt:
                for key, steps in self.prompt_scripts.items():
                    if key in prompt and steps:
                        return steps.pop(0)
            return self.script_queue.pop(0) if self.script_queue else "ok"

    def requests(
        self, prompt_part: str | None = None, path_part: str | None = None
    ) -> list[LogEntry]:
        """Generation requests (those that carry a prompt), optionally filtered."""
        with self.lock:
            return [
                e
                for e in self.log
                if e.prompt is not None
                and (prompt_part is None or prompt_part in e.prompt)
                and (path_part is None or path_part in e.path)
            ]

    def all_requests(self, path_part: str = "") -> list[LogEntry]:
        with self.lock:
            return [e for e in self.log if path_part in e.path]

    def counts_by_prompt(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for e in self.requests():
            out[e.prompt or ""] += 1
        return dict(out)

    # ---- helpers for dialects ---------------------------------------------------------------
    def image(
        self, w: int, h: int, fmt: str = "png", transparent: bool = False, prompt: str = ""
    ) -> bytes:
        """A real image of ``w``×``h`` in ``fmt``; one colour per prompt; cached."""
        import colorsys
        import zlib

        shade = zlib.crc32(prompt.encode()) % 12
        key = (w, h, fmt, transparent, shade)
        with self.lock:
            if key in self._image_cache:
                return self._image_cache[key]
        r, g, b = colorsys.hsv_to_rgb(shade / 12, 0.45, 0.85)
        mode = "RGBA" if transparent and fmt != "jpeg" else "RGB"
        img = Image.new(
            mode, (w, h), (int(r * 255), int(g * 255), int(b * 255), 0 if mode == "RGBA" else 255)
        )
        buf = io.BytesIO()
        img.save(buf, {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}[fmt])
        data = buf.getvalue()
        with self.lock:
            self._image_cache[key] = data
        return data

    def host(self, data: bytes, content_type: str, ttl_s: float | None = None) -> str:
        """Serve ``data`` at a fresh URL until ``ttl_s`` (default ``result_ttl_s``) passes."""
        token = uuid.uuid4().hex
        with self.lock:
            self._hosted[token] = _Hosted(
                data, content_type, time.time() + (self.result_ttl_s if ttl_s is None else ttl_s)
            )
        return f"{self.url}/__files/{token}"

    def _serve_hosted(self, path: str) -> Response | None:
        if not path.startswith("/__files/"):
            return None
        with self.lock:
            item = self._hosted.get(path.rsplit("/", 1)[-1])
        with self.lock:
            if self.failing_downloads > 0:  # a result download that breaks on the way
                self.failing_downloads -= 1
                return Response(503, b"Service Unavailable", content_type="text/plain")
        if item is None or item.expires_at < time.time():
            return Response(
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                content_type="application/xml",
            )
        return Response(200, item.data, content_type=item.content_type)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            self.command,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        if "hop" in req.query:  # inside a redirect loop: there is never an end
            self._write(_redirect(req.path, int(req.query["hop"]) + 1))
            return
        hosted = fake._serve_hosted(req.path)
        if hosted is not None:
            self._write(hosted)
            return
        d = fake.dialect
        try:
            prompt = d.prompt_of(req)
        except (ValueError, KeyError, TypeError):
            prompt = None
        behaviour = fake.next_behaviour(prompt) if d.consumes_behaviour(req) else "ok"
        entry = LogEntry(
            time.time(),
            req.method,
            req.path,
            prompt,
            _body_for_log(req),
            behaviour,
            headers=req.headers,
        )
        with fake.lock:
            fake.log.append(entry)
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if behaviour == "hang":
            time.sleep(3600)
        if behaviour == "redirect_loop":  # a hostile server: every hop redirects to the next
            self._write(_redirect(req.path, 1))
            return
        if behaviour == "redirect_away" and fake.redirect_to:  # to another origin, body kept
            self._write(
                Response(
                    307,
                    b"",
                    content_type="text/plain",
                    headers={"location": fake.redirect_to + req.path},
                )
            )
            return
        resp = d.handle(req, behaviour)
        if behaviour == "slow":
            resp.delay_s = max(resp.delay_s, fake.slow_s)
        if behaviour == "malformed" and resp.status < 400:
            resp = Response(
                200,
                resp.body[: max(1, len(resp.body) // 3)] or b"{",
                content_type=resp.content_type,
            )
        elif behaviour == "wrong_content_type" and resp.status < 400:
            resp = Response(
                200,
                b"<html><body>Service temporarily unavailable</body></html>",
                content_type="text/html",
            )
        elif behaviour == "oversized" and resp.status < 400:
            resp = Response(200, _oversized_body())
        entry.status = resp.status
        self._write(resp, drop=behaviour == "drop")

    def _write(self, resp: Response, drop: bool = False) -> None:
        if resp.takeover is not None:
            resp.takeover(self)
            self.close_connection = True
            return
        if resp.delay_s:
            time.sleep(resp.delay_s)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if drop:
            self.wfile.write(resp.body[: len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


@functools.cache
def _oversized_body() -> bytes:
    """120 MB of JSON, built once: building it for every request took the fake (which shares
    the test's GIL) long enough to push a 0.8 s job timeout over on a loaded machine."""
    return b'{"pad":"' + b"x" * 120_000_000 + b'"}'


def _redirect(path: str, hop: int) -> Response:
    return Response(302, b"", content_type="text/plain", headers={"location": f"{path}?hop={hop}"})


def _body_for_log(req: Request) -> Any:
    ctype = req.headers.get("content-type", "")
    if "json" in ctype:
        try:
            return req.json()
        except ValueError:
            return None
    if "multipart" in ctype:
        try:
            fields, files = req.form()
        except Exception:  # a broken body is the dialect's problem, not the log's
            return None
        return {**fields, **{k: [len(b) for b in v] for k, v in files.items()}}
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog of 5 resets connections under a burst of clients
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (a timeout or a cancel under test): expected
        super().handle_error(request, client_address)


def websocket_accept(handler: Any) -> None:
    """Answer a websocket upgrade on ``handler`` (RFC 6455 handshake)."""
    import base64
    import hashlib

    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    ).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.end_headers()
    handler.wfile.flush()


def websocket_send(handler: Any, text: str) -> None:
    """Send one unmasked text frame (server → client)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    handler.wfile.write(head + data)
    handler.wfile.flush()
