"""fal.ai adapter against the fal queue dialect on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass, ProviderError
from atelier.providers.fal import FalProvider
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.providers.contract import expect_class, expect_images, request_maker

KEY = "fal-test-key"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(FalDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[FalProvider]:
    p = FalProvider(KEY, fake.url, timeout_s=1.0, poll_interval_s=0.02)
    yield p
    await p.aclose()


req = request_maker("fal-ai/flux/dev", "1024x768", "png", "a lamp")


async def test_submit_poll_result_download(provider: FalProvider, fake: FakeServer) -> None:
    progress: list[float] = []
    res = await expect_images(provider, fake, req(n=2, seed=7, on_progress=progress.append), n=2)
    assert Image.open(io.BytesIO(res.images[0].data)).size == (1024, 768)
    sub = fake.requests()[0]
    assert sub.path == "/fal-ai/flux/dev" and sub.headers["authorization"] == f"Key {KEY}"
    assert sub.body == {
        "prompt": "a lamp",
        "enable_safety_checker": True,
        "image_size": {"width": 1024, "height": 768},
        "num_images": 2,
        "seed": 7,
        "output_format": "png",
    }
    paths = [e.path for e in fake.all_requests()]
    assert any(
        p.startswith("/fal-ai/flux/requests/") and p.endswith("/status") for p in paths
    )  # as returned
    assert progress[0] == 0.0 and progress[-1] == 1.0


async def test_many_polls(provider: FalProvider, fake: FakeServer) -> None:
    fake.script(["long"])
    res = await provider.generate(req())
    assert len(res.images) == 1
    assert len(fake.all_requests("/status")) == 6


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("nsfw", ErrorClass.CONTENT_POLICY, "safety checker"),
        ("content_policy", ErrorClass.CONTENT_POLICY, "content policy"),
        ("invalid", ErrorClass.INVALID_REQUEST, "image_size.width"),
        ("auth", ErrorClass.AUTH, None),
        ("429", ErrorClass.RATE_LIMIT, None),
        ("500", ErrorClass.SERVER_ERROR, "server error 500"),
        ("failed", ErrorClass.SERVER_ERROR, "runner crashed"),
        ("expired", ErrorClass.SERVER_ERROR, "expired"),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: FalProvider, fake: FakeServer, behaviour: str, cls: ErrorClass, words: str | None
) -> None:
    err = await expect_class(provider, fake, behaviour, req(), cls, words)
    if behaviour in ("content_policy", "invalid"):
        assert err.retryable is False  # X-Fal-Retryable: false
    if behaviour == "expired":
        assert err.code == "expired"


async def test_cancel_sends_put_to_cancel_url(provider: FalProvider, fake: FakeServer) -> None:
    fake.dialect.polls_needed = 1000  # type: ignore[attr-defined]
    task = asyncio.create_task(provider.generate(req()))
    while not fake.all_requests("/status"):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if fake.all_requests("/cancel"):
            break
        await asyncio.sleep(0.01)
    cancels = fake.all_requests("/cancel")
    assert len(cancels) == 1 and cancels[0].method == "PUT"
    assert all(j.cancelled for j in fake.dialect.jobs.values())  # type: ignore[attr-defined]


async def test_kontext_edit_sends_the_reference_as_data_uri(
    provider: FalProvider, fake: FakeServer
) -> None:
    ref = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(ref, "PNG")
    await expect_images(
        provider,
        fake,
        req(model="fal-ai/flux-pro/kontext", operation="edit", reference_images=(ref.getvalue(),)),
    )
    assert fake.requests()[0].body["image_url"].startswith("data:image/png;base64,")


async def test_connection(fake: FakeServer) -> None:
    good, bad = FalProvider(KEY, fake.url), FalProvider("nope", fake.url)
    try:
        assert "key accepted" in await good.test_connection()
        with pytest.raises(ProviderError, match="rejected the API key"):
            await bad.test_connection()
    finally:
        await good.aclose()
        await bad.aclose()
