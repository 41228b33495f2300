"""A shop's image host on 127.0.0.1 (a CDN as Shopify's or WooCommerce's uploads folder): serves
product photos, and the faults a real one has (404, an HTML error page, a redirect loop, a
body larger than allowed, a 503); counts the requests per path."""

from __future__ import annotations

import io
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image


def photo(color: str, fmt: str = "JPEG") -> bytes:
    """A small product photo."""
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), color).save(buf, fmt)
    return buf.getvalue()


class ImageHost:
    """``with ImageHost() as host: host.url("/a.jpg")``. ``files`` maps paths to
    ``(content type, body)``; the fault paths are built in."""

    def __init__(self, any_photo: bool = False) -> None:
        """``any_photo``: any other ``*.jpg`` path is a photo too (a colour made from the
        path), as a shop's CDN serves every product's pictures."""
        self.files: dict[str, tuple[str, bytes]] = {
            "/candle.jpg": ("image/jpeg", photo("ivory")),
            "/napkin.jpg": ("image/jpeg", photo("linen")),
            "/napkin-2.webp": ("image/webp", photo("tan", "WEBP")),
            "/board.png": ("image/png", photo("saddlebrown", "PNG")),
            "/s3-object": ("binary/octet-stream", photo("olive", "PNG")),
            "/page.html": ("text/html", b"<html><body>Not found</body></html>"),
            "/big.png": ("image/png", b"\x89PNG" + b"\0" * 3_000_000),
            "/text.png": ("image/png", b"this is not a png at all"),
        }
        self.hits: Counter[str] = Counter()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                host.hits[path] += 1
                if path == "/loop":
                    self._send(302, "text/plain", b"", {"Location": "/loop"})
                elif path == "/moved":
                    self._send(301, "text/plain", b"", {"Location": "/board.png"})
                elif path == "/busy":
                    self._send(503, "text/plain", b"busy")
                elif path in host.files:
                    kind, body = host.files[path]
                    self._send(200, kind, body)
                elif any_photo and path.endswith(".jpg"):
                    hue = sum(path.encode()) % 360
                    self._send(200, "image/jpeg", photo(f"hsl({hue}, 45%, 60%)"))
                else:
                    self._send(404, "text/html", b"<h1>404</h1>")

            def _send(
                self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The address of ``path`` on this host."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> ImageHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class CdnDialect:
    """A result CDN for ``FakeServer``: any GET is a PNG, and every request is logged with its
    headers (so a test can check that no provider key was sent along)."""

    name = "cdn"

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def prompt_of(self, req: Any) -> str | None:
        return None

    def consumes_behaviour(self, req: Any) -> bool:
        return False

    def handle(self, req: Any, behaviour: str) -> Any:
        from tests.fakes.framework import Response

        return Response(200, photo("teal", "PNG"), content_type="image/png")
