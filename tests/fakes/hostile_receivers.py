"""Receivers and transports for the delivery-address tests: a CMS that writes down exactly what
path and query each request came with (the raw request target, as the server saw it), and
transports that record every request they are handed and send nothing anywhere (so a test of a
refused address proves the request was never attempted without sending traffic beyond
127.0.0.1, even on code that would not refuse it)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

import httpx

from tests.fakes.receivers import Answer, Got, Receiver


@dataclass(frozen=True)
class Seen:
    """One request as the server received it.

    Attributes:
        method: ``PATCH``…
        target: the raw request target (``/api/products/a%2Fb?variant=a%2Fb``).
        segments: the path's segments, still percent-encoded (``["api", "products", "a%2Fb"]``).
        query: the query's ``(key, value)`` pairs, decoded, in order.
        authorization: the ``Authorization`` header (empty when absent).
    """

    method: str
    target: str
    segments: list[str]
    query: list[tuple[str, str]]
    authorization: str

    @property
    def last_segment(self) -> str:
        """The last path segment, decoded (what a cell filled in)."""
        return unquote(self.segments[-1]) if self.segments else ""


class PathRecorder(Receiver):
    """A CMS answering 200 to anything, keeping every request's method, path and query in
    ``seen`` (in arrival order)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []

    def answer(self, got: Got) -> Answer:
        path, _, query = got.path.partition("?")
        self.seen.append(
            Seen(
                got.method,
                got.path,
                path.split("/")[1:],
                parse_qsl(query, keep_blank_values=True),
                got.headers.get("authorization", ""),
            )
        )
        return Answer.json({"ok": True})


class RecordingTransport(httpx.AsyncBaseTransport):
    """An async transport that writes down every request it is handed and sends none
    (answers 599): ``hosts`` lists the hosts a client tried to reach."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return httpx.Response(599, request=request)


class RecordingSyncTransport(httpx.BaseTransport):
    """``RecordingTransport`` for a blocking ``httpx.Client``."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return httpx.Response(599, request=request)
