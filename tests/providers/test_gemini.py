"""Gemini adapter against the Gemini dialect on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass
from atelier.providers.gemini import GeminiProvider, aspect_ratio_for, image_size_for
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.providers.contract import TRANSPORT, expect_class, expect_images, request_maker

KEY = "gm-test-key"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(GeminiDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[GeminiProvider]:
    p = GeminiProvider(KEY, f"{fake.url}/v1beta", timeout_s=1.0)
    yield p
    await p.aclose()


req = request_maker("gemini-3-pro-image", "1536x1024", "png", "a teapot")


def test_size_maps_to_aspect_ratio_and_tier() -> None:
    assert aspect_ratio_for("1024x1024") == "1:1"
    assert aspect_ratio_for("1536x1024") == "3:2"
    assert aspect_ratio_for("1920x1080") == "16:9"
    assert aspect_ratio_for("1024x1536") == "2:3"
    assert (
        image_size_for("1024x1024"),
        image_size_for("2048x1536"),
        image_size_for("4096x2304"),
    ) == ("1K", "2K", "4K")


async def test_success_body_image_and_usage(provider: GeminiProvider, fake: FakeServer) -> None:
    res = await expect_images(
        provider, fake, req(reference_images=(b"\x89PNG-ref",), operation="edit")
    )
    # Gemini answers in aspect ratio × tier (3:2 at 2K); the engine fits it to 1536x1024 on write
    assert Image.open(io.BytesIO(res.images[0].data)).size == (2048, 1365)
    assert res.usage == {"output_tokens": 1290}
    log = fake.requests()[0]
    assert (
        log.headers["x-goog-api-key"] == KEY
        and log.path == "/v1beta/models/gemini-3-pro-image:generateContent"
    )
    body = log.body
    assert body["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "3:2", "imageSize": "2K"},
    }
    assert body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "image/png"
    assert body["contents"][0]["parts"][-1] == {"text": "a teapot"}


async def test_flash_25_sends_no_image_size(provider: GeminiProvider, fake: FakeServer) -> None:
    await expect_images(provider, fake, req(model="gemini-2.5-flash-image", size="1024x1024"))
    assert fake.requests()[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "1:1"}


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("blocked", ErrorClass.CONTENT_POLICY, "PROHIBITED_CONTENT"),
        ("image_safety", ErrorClass.CONTENT_POLICY, "IMAGE_SAFETY"),
        ("no_image", ErrorClass.SERVER_ERROR, "NO_IMAGE"),
        ("429", ErrorClass.RATE_LIMIT, "rate limit"),
        ("quota", ErrorClass.QUOTA, "daily quota"),
        ("invalid", ErrorClass.INVALID_REQUEST, "invalid argument"),
        ("auth", ErrorClass.AUTH, "API key"),
        ("403", ErrorClass.AUTH, None),
        ("404", ErrorClass.INVALID_REQUEST, "404"),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("503", ErrorClass.SERVER_ERROR, "overloaded"),
        ("bad_base64", ErrorClass.SERVER_ERROR, "base64"),
        *[(b, c, None) for b, c in TRANSPORT],
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: GeminiProvider, fake: FakeServer, behaviour: str, cls: ErrorClass, words: str | None
) -> None:
    fake.slow_s = 2.0
    await expect_class(provider, fake, behaviour, req(), cls, words)


async def test_retry_info_delay_is_read(provider: GeminiProvider, fake: FakeServer) -> None:
    fake.retry_after_s = 40
    err = await expect_class(provider, fake, "429", req(), ErrorClass.RATE_LIMIT)
    assert err.retry_after_s == 40.0 and "40 s" in err.message


async def test_connection_verdicts(fake: FakeServer) -> None:
    good = GeminiProvider(KEY, f"{fake.url}/v1beta")
    bad = GeminiProvider("wrong", f"{fake.url}/v1beta")
    down = GeminiProvider(KEY, "http://127.0.0.1:9/v1beta")
    try:
        assert "key accepted" in await good.test_connection()
        with pytest.raises(Exception, match="rejected the API key"):
            await bad.test_connection()
        with pytest.raises(Exception, match="Cannot reach"):
            await down.test_connection()
    finally:
        for p in (good, bad, down):
            await p.aclose()


def test_the_fake_speaks_generate_content_to_the_official_client(fake: FakeServer) -> None:
    """``google-genai`` (Google's own SDK) against the fake: the request it builds is the one
    the fake reads, and the answer parses into its types with the image bytes intact; its
    error type carries the fake's error envelope."""
    from google import genai
    from google.genai import errors, types

    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=fake.url))
    resp = client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents="a ceramic teapot on linen",
        config=types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio="3:2"),
        ),
    )
    parts = resp.candidates[0].content.parts  # type: ignore[index,union-attr]
    blobs = [p.inline_data for p in parts if p.inline_data is not None]  # type: ignore[union-attr]
    assert blobs and blobs[0].mime_type == "image/png"
    with Image.open(io.BytesIO(blobs[0].data or b"")) as im:
        assert im.format == "PNG" and abs(im.width / im.height - 1.5) < 0.01
    assert fake.requests()[-1].prompt == "a ceramic teapot on linen"

    fake.script_for("forbidden words", ["invalid"])
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash-image", contents="forbidden words")
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    bad = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=fake.url))
    with pytest.raises(errors.ClientError) as refused:
        bad.models.generate_content(model="gemini-2.5-flash-image", contents="x")
    assert refused.value.code == 400 and "API key" in str(refused.value)
