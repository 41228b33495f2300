"""Delivery receivers that hold a connection instead of answering, for the deadline tests
(issue 27 §4: a webhook that accepted and never answered kept ``atelier run`` open for minutes).

``StallingReceiver`` is a raw TCP server on 127.0.0.1 speaking just enough HTTP/1.1:

* ``mode="silent"``: accepts the connection, reads the whole request, and never answers (the
  socket stays open until the receiver stops, so the client sees no error, only silence).
* ``mode="trickle"``: answers ``200`` with a ``Content-Length`` of a megabyte, then sends one
  byte every ``interval_s``: every single read succeeds well within a per-read timeout, so only
  a deadline on the whole attempt ends it.
* ``mode="answer"``: ``204`` at once, as a healthy webhook receiver (``heal()`` switches to it,
  so the same address that stalled the run can take ``atelier deliver`` later).

``requests`` lists every request received (method, path, headers, body), in every mode;
``stalled`` counts the requests held without an answer; ``accepted`` the connections taken
(a client that waits for ``100 Continue`` before its body, as boto3's PUT, is held there).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Literal

Mode = Literal["silent", "trickle", "answer"]


@dataclass(frozen=True)
class Held:
    """One received request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class StallingReceiver:
    """See the module docstring. Use as a context manager; ``url`` is its address."""

    def __init__(self, mode: Mode = "silent", interval_s: float = 0.2) -> None:
        self.mode: Mode = mode
        self.interval_s = interval_s
        self.requests: list[Held] = []
        self.stalled = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def heal(self) -> None:
        """From now on, answer every request with 204 at once."""
        self.mode = "answer"

    def answered(self) -> list[Held]:
        """Requests received (any mode)."""
        with self._lock:
            return list(self.requests)

    # ---- the server ------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket, buf: bytearray) -> Held | None:
        while b"\r\n\r\n" not in buf:
            chunk = self._recv(conn)
            if not chunk:
                return None
            buf += chunk
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length") or 0)
        body = bytearray(rest)
        while len(body) < n:
            chunk = self._recv(conn)
            if not chunk:
                return None
            body += chunk
        buf[:] = body[n:]
        return Held(method, path, headers, bytes(body[:n]))

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        try:
            # Inside the try: ``stop()`` may close the connection before this thread starts.
            conn.settimeout(0.1)
            while not self._stop.is_set():
                req = self._read_request(conn, buf)
                if req is None:
                    return
                with self._lock:
                    self.requests.append(req)
                mode = self.mode
                if mode == "answer":
                    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    continue
                with self._lock:
                    self.stalled += 1
                if mode == "trickle":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: 1048576\r\n\r\n"
                    )
                while not self._stop.wait(self.interval_s):  # hold the connection
                    if mode == "trickle":
                        conn.sendall(b".")
                return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> StallingReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
        self._sock.close()


def wait_for(pred: object, timeout_s: float = 10.0) -> bool:
    """Poll ``pred()`` (a callable) until it holds or ``timeout_s`` passes; returns it."""
    assert callable(pred)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return bool(pred())
