"""Hostile providers, for the hardening tests.

* ``HostileProvider``: in-process, a real ``Provider`` subclass (qutebrowser's rule: fakes
  subclass the real base class) whose answers are chosen per prompt, including exceptions of
  any type from deep inside an adapter, as a bug or a surprise of a provider's SDK raises them.
  ``HostileProvider.behaviours`` maps a prompt to an exception to raise, or ``None``.
* ``EchoDialect``: a proxy in front of OpenAI that answers 400 with every request header,
  credentials included, in its error body.
* ``bomb_png``: a small file that claims 144 megapixels (a decompression bomb).

The HTTP fakes carry the other hostile answers as behaviours: ``redirect_loop`` and
``redirect_away`` (``tests/fakes/framework.py``), ``result_string``, ``sample_at:URL`` and
``poll_at:URL`` (internal and ``file:`` addresses, ``bfl.py``), ``empty_image`` (``fal.py``),
``bomb``, ``truncated``, ``bad_base64`` (``openai_server.py``), ``oversized`` (any fake).
"""

from __future__ import annotations

import functools
import io
from typing import ClassVar

from PIL import Image

from atelier.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
)
from atelier.providers.draft import CAPABILITIES as DRAFT_CAPABILITIES
from atelier.providers.draft import render_draft
from tests.fakes.framework import Dialect, Request, Response

HOSTILE_CAPABILITIES = Capabilities(
    name="draft",  # priced and checked as draft: $0, no key, any size draft takes
    label="Hostile",
    models=DRAFT_CAPABILITIES.models,
    needs_key=False,
    key_env_var=None,
    base_url_env_var=None,
    default_base_url="offline",
    default_concurrency=4,
)


class HostileProvider(Provider):
    """Raises what ``behaviours`` says for a prompt; counts the calls per prompt."""

    capabilities: ClassVar[Capabilities] = HOSTILE_CAPABILITIES
    behaviours: ClassVar[dict[str, BaseException | None]] = {}

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        super().__init__(api_key, base_url)
        self.calls: dict[str, int] = {}

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls[request.prompt] = self.calls.get(request.prompt, 0) + 1
        failure = self.behaviours.get(request.prompt)
        if failure is not None:
            raise failure
        return GenerationResult(
            [render_draft(request, request.first_sample + i) for i in range(request.n)]
        )


@functools.cache
def bomb_png() -> bytes:
    """A 12,000 × 12,000 one-bit PNG of a few kilobytes: 144 megapixels once decoded."""
    buf = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


class EchoDialect(Dialect):
    """Answers every request with 400 and the request's headers in the error message."""

    name = "echo"

    def prompt_of(self, req: Request) -> str | None:
        return str(req.json().get("prompt", "")) if req.method == "POST" else None

    def handle(self, req: Request, behaviour: str) -> Response:
        echoed = "; ".join(f"{k}: {v}" for k, v in req.headers.items())
        return Response.json(
            400,
            {
                "error": {
                    "message": f"Bad request. We got {echoed}",
                    "type": "invalid_request_error",
                }
            },
        )
