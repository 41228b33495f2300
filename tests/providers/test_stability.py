"""Stability adapter against the Stability dialect on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.registry import create_provider
from atelier.providers.stability import StabilityProvider, aspect_ratio_for
from atelier.store import Store
from tests.fakes.framework import FakeServer
from tests.fakes.stability import StabilityDialect
from tests.providers.contract import TRANSPORT, expect_class, expect_images, request_maker
from tests.support.batches import store_batch

KEY = "sk-stab-test"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(StabilityDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[StabilityProvider]:
    p = StabilityProvider(KEY, fake.url, timeout_s=1.0)
    yield p
    await p.aclose()


req = request_maker("core", "1536x1024", "png", "a vase")


async def test_core_multipart_fields_and_raw_image(
    provider: StabilityProvider, fake: FakeServer
) -> None:
    res = await expect_images(
        provider, fake, req(negative_prompt="blurry", seed=42, style_preset="photographic")
    )
    assert Image.open(io.BytesIO(res.images[0].data)).size == (1216, 832)
    assert res.images[0].seed == 42
    log = fake.requests()[0]
    assert log.path == "/v2beta/stable-image/generate/core"
    assert log.body == {
        "prompt": "a vase",
        "output_format": "png",
        "negative_prompt": "blurry",
        "seed": "42",
        "aspect_ratio": "3:2",
        "style_preset": "photographic",
    }
    assert log.headers["accept"] == "image/*" and log.headers["authorization"] == f"Bearer {KEY}"


async def test_sd3_model_field_and_image_to_image(
    provider: StabilityProvider, fake: FakeServer
) -> None:
    await expect_images(provider, fake, req(model="sd3.5-large-turbo", output_format="jpeg"))
    assert (
        fake.requests()[0].path.endswith("/sd3")
        and fake.requests()[0].body["model"] == "sd3.5-large-turbo"
    )
    ref = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(ref, "PNG")
    await expect_images(
        provider,
        fake,
        req(model="sd3.5-large", operation="transform", reference_images=(ref.getvalue(),)),
    )
    body = fake.requests()[1].body
    assert (
        body["mode"] == "image-to-image"
        and body["strength"] == "0.7"
        and body["image"] == [len(ref.getvalue())]
    )
    await expect_images(
        provider,
        fake,
        req(
            model="ultra", operation="edit", reference_images=(ref.getvalue(),), mask=ref.getvalue()
        ),
    )
    assert fake.requests()[2].path == "/v2beta/stable-image/edit/inpaint"


def test_aspect_ratios() -> None:
    assert [aspect_ratio_for(s) for s in ("1024x1024", "1920x1080", "1024x1536", "2560x1080")] == [
        "1:1",
        "16:9",
        "2:3",
        "21:9",
    ]


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("filtered", ErrorClass.CONTENT_POLICY, "CONTENT_FILTERED"),
        ("content_policy", ErrorClass.CONTENT_POLICY, "moderation"),
        ("invalid", ErrorClass.INVALID_REQUEST, "prompt"),
        ("422", ErrorClass.INVALID_REQUEST, "English"),
        ("413", ErrorClass.INVALID_REQUEST, "too large"),
        ("auth", ErrorClass.AUTH, None),
        ("payment", ErrorClass.PAYMENT_REQUIRED, "credits"),
        ("429", ErrorClass.RATE_LIMIT, "60 s"),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("drop", ErrorClass.NETWORK, None),
        ("wrong_content_type", ErrorClass.SERVER_ERROR, "instead of an image"),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: StabilityProvider,
    fake: FakeServer,
    behaviour: str,
    cls: ErrorClass,
    words: str | None,
) -> None:
    await expect_class(provider, fake, behaviour, req(), cls, words)
    assert TRANSPORT  # the shared transport faults are covered above for a raw-image API


async def test_429_means_a_60_second_lockout(provider: StabilityProvider, fake: FakeServer) -> None:
    err = await expect_class(provider, fake, "429", req(), ErrorClass.RATE_LIMIT)
    assert err.retry_after_s == 60.0


@pytest.mark.timing
@pytest.mark.slow
async def test_engine_keeps_within_150_per_10s(tmp_path: Path, fake: FakeServer) -> None:
    """The lane's limiter holds Stability's published limit: 160 jobs, no 429, no lockout."""
    fake.dialect.enforce_limit = True  # type: ignore[attr-defined]
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="stability",
        model="core",
        concurrency=32,
        base_url=fake.url,
        retry_policy=RetryPolicy(max_retries=0),
    )
    specs = [
        JobSpec(prompt=f"tile {i}", output_path=f"t{i}.png", size="1024x1024") for i in range(160)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "o")
    engine = Engine(store, lambda s: create_provider(s.provider, api_key=KEY, base_url=s.base_url))
    t0 = asyncio.get_running_loop().time()
    report = await engine.run(bid)
    elapsed = asyncio.get_running_loop().time() - t0
    assert report.succeeded == 160, [r.error for r in report.results if r.error][:3]
    assert all(e.status == 200 for e in fake.requests())
    assert elapsed >= 9.0  # the 151st request waited for the 10 s window
    assert report.total_cost == pytest.approx(160 * 0.03)
