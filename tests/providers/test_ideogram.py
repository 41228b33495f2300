"""Ideogram 3.0 against the Ideogram dialect on 127.0.0.1. Ideogram publishes no SDK on PyPI
(its API reference shows curl, ``requests`` and ``fetch``), so the fake follows the reference
pages and these tests check the multipart form field by field."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.engine import Engine
from atelier.pricing.entries import PriceQuery
from atelier.pricing.table import PriceTable
from atelier.providers.ideogram import IdeogramProvider
from atelier.providers.registry import create_provider
from atelier.store import Store
from tests.fakes.framework import FakeServer
from tests.fakes.ideogram import IdeogramDialect
from tests.fakes.image_host import CdnDialect
from tests.providers.contract import expect_class, expect_images, request_maker
from tests.support.batches import store_batch

KEY = "ideogram-test-key"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(IdeogramDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[IdeogramProvider]:
    p = IdeogramProvider(KEY, fake.url, timeout_s=1.0)
    yield p
    await p.aclose()


req = request_maker("ideogram-v3", "1344x768", "png", "看板「本日限定」")


async def test_generate_sends_the_documented_form(
    provider: IdeogramProvider, fake: FakeServer
) -> None:
    res = await expect_images(
        provider,
        fake,
        req(quality="turbo", n=3, seed=7, negative_prompt="blur", style_preset="design"),
        n=3,
    )
    sub = fake.requests()[0]
    assert sub.path == "/v1/ideogram-v3/generate" and sub.headers["api-key"] == KEY
    assert "multipart/form-data" in sub.headers["content-type"]
    assert sub.body == {
        "prompt": "看板「本日限定」",
        "num_images": "3",
        "rendering_speed": "TURBO",
        "resolution": "1344x768",
        "negative_prompt": "blur",
        "seed": "7",
        "style_type": "DESIGN",
    }
    assert Image.open(io.BytesIO(res.images[0].data)).size == (1344, 768)
    assert res.images[0].seed == 7


async def test_auto_sends_no_speed_and_no_size(
    provider: IdeogramProvider, fake: FakeServer
) -> None:
    await expect_images(provider, fake, req(size="auto"))
    assert fake.requests()[0].body == {"prompt": "看板「本日限定」", "num_images": "1"}


async def test_transparent_background_uses_its_endpoint(fake: FakeServer) -> None:
    p = IdeogramProvider(KEY, fake.url, timeout_s=1.0, magic_prompt="off")
    try:
        res = await expect_images(
            p, fake, req(quality="quality", transparent_background=True, style_preset="design")
        )
        sub = fake.requests()[0]
        assert sub.path == "/v1/ideogram-v3/generate-transparent"
        # aspect ratio, not resolution; no style_type on this endpoint
        assert sub.body == {
            "prompt": "看板「本日限定」",
            "num_images": "1",
            "rendering_speed": "QUALITY",
            "aspect_ratio": "16x9",
            "magic_prompt": "OFF",
        }
        assert Image.open(io.BytesIO(res.images[0].data)).mode == "RGBA"
        with pytest.raises(ProviderError) as e:
            await p.generate(req(quality="flash", transparent_background=True))
        assert e.value.error_class is ErrorClass.INVALID_REQUEST
        assert len(fake.requests()) == 1  # refused before sending
    finally:
        await p.aclose()


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("unsafe", ErrorClass.CONTENT_POLICY, "safety"),
        ("safety", ErrorClass.CONTENT_POLICY, "failed the safety checks"),
        ("auth", ErrorClass.AUTH, None),
        ("429", ErrorClass.RATE_LIMIT, None),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("503", ErrorClass.SERVER_ERROR, None),
        ("expired", ErrorClass.SERVER_ERROR, "expired"),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: IdeogramProvider, fake: FakeServer, behaviour: str, cls: ErrorClass, words: str | None
) -> None:
    e = await expect_class(provider, fake, behaviour, req(), cls, words)
    if behaviour == "429":
        assert e.retry_after_s == 1.0


async def test_a_size_off_its_list_is_refused_by_the_server(
    provider: IdeogramProvider, fake: FakeServer
) -> None:
    e = await expect_class(provider, fake, "ok", req(size="1000x1000"), ErrorClass.INVALID_REQUEST)
    assert "resolution" in e.message


async def test_the_key_goes_only_to_ideogram(provider: IdeogramProvider, fake: FakeServer) -> None:
    """The ephemeral image URL, on another host, is downloaded without ``Api-Key``."""
    with FakeServer(CdnDialect, api_key=None) as cdn:  # type: ignore[arg-type]
        fake.script([f"url_at:{cdn.url}/ephemeral/x.png?exp=1&sig=ab"])
        await provider.generate(req())
        (download,) = cdn.all_requests("/ephemeral/x.png")
    assert "api-key" not in download.headers
    assert all(KEY not in v for v in download.headers.values())


async def test_a_batch_through_the_engine_is_priced_by_speed(
    tmp_path: Path, fake: FakeServer
) -> None:
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="ideogram", model="ideogram-v3", concurrency=4, base_url=fake.url,
        retry_policy=RetryPolicy(max_retries=0),
    )  # fmt: skip
    specs = [
        JobSpec(prompt=f"sign {i}", output_path=f"s{i}.png", size="1024x1024", quality="turbo",
                sample_count=2)
        for i in range(3)
    ]  # fmt: skip
    bid = store_batch(store, rs, specs, tmp_path / "o")

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(s.provider, api_key=KEY, base_url=s.base_url)

    report = await Engine(store, factory).run(bid)
    assert report.succeeded == 3
    assert report.total_cost == pytest.approx(6 * 0.03)
    table = PriceTable()
    assert (
        table.price_of(PriceQuery("ideogram", "ideogram-v3", "quality", "1024x1024", 1)).per_image
        == 0.09
    )
    assert (
        table.price_of(PriceQuery("ideogram", "ideogram-v3", "auto", "auto", 1)).per_image == 0.06
    )


async def test_test_connection(fake: FakeServer) -> None:
    good = IdeogramProvider(KEY, fake.url)
    bad = IdeogramProvider("wrong", fake.url)
    try:
        assert "key accepted" in await good.test_connection()
        with pytest.raises(ProviderError) as e:
            await bad.test_connection()
        assert e.value.error_class is ErrorClass.AUTH
        assert not fake.served  # nothing was generated (the probes carried no prompt)
    finally:
        await good.aclose()
        await bad.aclose()
