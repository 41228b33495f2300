"""Replicate adapter against the Replicate dialect on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from atelier.core.errors import ErrorClass, ProviderError
from atelier.providers.replicate import ReplicateProvider, nearest_ratio
from tests.fakes.framework import FakeServer
from tests.fakes.replicate import ReplicateDialect
from tests.providers.contract import expect_class, expect_images, request_maker

KEY = "r8_test"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(ReplicateDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[ReplicateProvider]:
    p = ReplicateProvider(KEY, fake.url, timeout_s=1.0, poll_interval_s=0.02)
    yield p
    await p.aclose()


req = request_maker("black-forest-labs/flux-schnell", "1344x768", "jpeg", "a mug")


async def test_prefer_wait_returns_the_output_in_one_call(
    provider: ReplicateProvider, fake: FakeServer
) -> None:
    await expect_images(provider, fake, req(n=3, seed=1), n=3)
    create = fake.requests()[0]
    assert create.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.headers["prefer"] == "wait=30"
    assert create.body == {
        "input": {
            "prompt": "a mug",
            "aspect_ratio": "16:9",
            "output_format": "jpg",
            "num_outputs": 3,
            "seed": 1,
        }
    }
    assert fake.all_requests("/v1/predictions/") == []  # no poll needed


async def test_polls_until_done(provider: ReplicateProvider, fake: FakeServer) -> None:
    fake.script(["long"])
    await provider.generate(req())
    assert (
        len([e for e in fake.all_requests("/v1/predictions/") if e.method == "GET"]) == 5
    )  # "long" needs 5 polls


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("sensitive", ErrorClass.CONTENT_POLICY, "E005"),
        ("failed", ErrorClass.SERVER_ERROR, "E1000"),
        ("invalid", ErrorClass.INVALID_REQUEST, "aspect_ratio"),
        ("auth", ErrorClass.AUTH, None),
        ("payment", ErrorClass.PAYMENT_REQUIRED, "insufficient credit"),
        ("429", ErrorClass.RATE_LIMIT, None),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("expired", ErrorClass.SERVER_ERROR, "expired"),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: ReplicateProvider,
    fake: FakeServer,
    behaviour: str,
    cls: ErrorClass,
    words: str | None,
) -> None:
    err = await expect_class(provider, fake, behaviour, req(), cls, words)
    if behaviour == "429":
        assert err.retry_after_s == 1.0  # learnt from Replicate's throttle detail


async def test_cancel_cancels_the_prediction(provider: ReplicateProvider, fake: FakeServer) -> None:
    fake.script(["long"])
    task = asyncio.create_task(provider.generate(req()))
    while not [e for e in fake.all_requests("/v1/predictions/") if e.method == "GET"]:
        await asyncio.sleep(0.01)
    for p in fake.dialect.preds.values():  # type: ignore[attr-defined]
        p.polls_left = 10_000
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if fake.all_requests("/cancel"):
            break
        await asyncio.sleep(0.01)
    assert [p.status for p in fake.dialect.preds.values()] == ["canceled"]  # type: ignore[attr-defined]


def test_ratios() -> None:
    assert nearest_ratio("1024x1024") == "1:1" and nearest_ratio("768x1344") == "9:16"


async def test_connection(fake: FakeServer) -> None:
    good, bad = ReplicateProvider(KEY, fake.url), ReplicateProvider("nope", fake.url)
    try:
        assert "designer" in await good.test_connection()
        with pytest.raises(ProviderError, match="rejected the credentials"):
            await bad.test_connection()
    finally:
        await good.aclose()
        await bad.aclose()


async def test_kontext_edit_sends_input_image(
    provider: ReplicateProvider, fake: FakeServer
) -> None:
    await expect_images(
        provider,
        fake,
        req(
            model="black-forest-labs/flux-kontext-pro",
            operation="edit",
            reference_images=(b"\x89PNG",),
        ),
    )
    assert fake.requests()[0].body["input"]["input_image"] == "data:image/png;base64,iVBORw=="
