"""Helpers shared by the per-provider suites: run one request against a fake with a scripted
behaviour and check the error class a designer will see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from atelier.core.errors import ErrorClass, ProviderError
from atelier.providers.base import GenerationRequest, GenerationResult, Provider
from tests.fakes.framework import FakeServer


def request_maker(
    model: str, size: str, output_format: str, prompt: str
) -> Callable[..., GenerationRequest]:
    """A suite's ``req(prompt=…, **fields)``: a ``GenerationRequest`` for ``model`` at ``size``
    and ``output_format`` (quality ``auto``), any field overridden by keyword."""

    def req(prompt: str = prompt, **kw: object) -> GenerationRequest:
        fields: dict[str, object] = {
            "model": model,
            "prompt": prompt,
            "size": size,
            "quality": "auto",
            "output_format": output_format,
            **kw,
        }
        return GenerationRequest(**fields)  # type: ignore[arg-type]

    return req


async def outcome(
    provider: Provider, fake: FakeServer, behaviour: str, req: GenerationRequest
) -> Any:
    """Script ``behaviour`` for the next request and return the result or the ``ProviderError``."""
    fake.script([behaviour])
    try:
        return await provider.generate(req)
    except ProviderError as e:
        return e


async def expect_class(
    provider: Provider,
    fake: FakeServer,
    behaviour: str,
    req: GenerationRequest,
    cls: ErrorClass,
    words: str | None = None,
) -> ProviderError:
    res = await outcome(provider, fake, behaviour, req)
    assert isinstance(res, ProviderError), f"{behaviour}: expected {cls}, got a result"
    assert res.error_class is cls, (
        f"{behaviour}: expected {cls}, got {res.error_class} ({res.message})"
    )
    if words:
        assert words in res.message, f"{behaviour}: {words!r} not in {res.message!r}"
    return res


async def expect_images(
    provider: Provider, fake: FakeServer, req: GenerationRequest, n: int = 1
) -> GenerationResult:
    res = await outcome(provider, fake, "ok", req)
    if isinstance(res, ProviderError):
        pytest.fail(f"expected images, got {res.error_class}: {res.message}")
    assert len(res.images) == n
    return res


TRANSPORT = [
    ("drop", ErrorClass.NETWORK),
    ("malformed", ErrorClass.SERVER_ERROR),
    ("wrong_content_type", ErrorClass.SERVER_ERROR),
]
