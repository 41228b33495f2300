"""The OpenAI adapter and the fake server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
from PIL import Image

from atelier.core.errors import ErrorClass, ProviderError
from atelier.providers.base import GenerationRequest
from atelier.providers.openai import OpenAIProvider, parse_duration_s, parse_retry_after
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI


def _req(prompt: str = "a red chair", **kw: object) -> GenerationRequest:
    base: dict[str, object] = {
        "model": "gpt-image-1.5",
        "prompt": prompt,
        "size": "1024x1536",
        "quality": "low",
        "output_format": "png",
    }
    base.update(kw)
    return GenerationRequest(**base)  # type: ignore[arg-type]


def test_official_openai_client_accepts_the_fake(fake_openai: FakeOpenAI) -> None:
    """The fake speaks OpenAI's format: the official SDK parses its answers and errors."""
    client = openai.OpenAI(api_key=FAKE_KEY, base_url=fake_openai.base_url, max_retries=0)
    res = client.images.generate(
        model="gpt-image-1.5",
        prompt="a lamp",
        n=2,
        size="1536x1024",
        quality="medium",
        output_format="webp",
    )
    assert len(res.data or []) == 2
    img = Image.open(io.BytesIO(base64.b64decode((res.data or [])[0].b64_json or "")))
    assert (img.format, img.size) == ("WEBP", (1536, 1024))
    assert res.usage is not None and res.usage.output_tokens == 2 * 1568
    assert [m.id for m in client.models.list()][:2] == ["gpt-image-1.5", "gpt-image-2"]

    fake_openai.script(["moderation_blocked"])
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(model="gpt-image-1.5", prompt="x")
    assert e.value.code == "moderation_blocked"
    fake_openai.script(["429"])
    with pytest.raises(openai.RateLimitError) as r:
        client.images.generate(model="gpt-image-1.5", prompt="x")
    assert r.value.response.headers["retry-after"] == "0.2"
    fake_openai.script(["insufficient_quota"])
    with pytest.raises(openai.RateLimitError) as q:
        client.images.generate(model="gpt-image-1.5", prompt="x")
    assert q.value.code == "insufficient_quota"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            api_key="sk-wrong", base_url=fake_openai.base_url, max_retries=0
        ).images.generate(model="gpt-image-1.5", prompt="x")
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(model="gpt-image-1.5", prompt="x", size="640x480")  # type: ignore[arg-type]
    assert bad.value.param == "size"


async def test_success_decodes_images_and_usage(fake_openai: FakeOpenAI) -> None:
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        res = await p.generate(_req(n=3, output_format="jpeg"))
    finally:
        await p.aclose()
    assert len(res.images) == 3
    assert Image.open(io.BytesIO(res.images[0].data)).size == (1024, 1536)
    assert res.usage and res.usage["output_tokens"] == 3 * 408
    assert res.request_id and res.request_id.startswith("req_")
    assert res.rate_limits["x-ratelimit-remaining-requests"] == "4999"
    body = fake_openai.requests()[0].body
    assert body == {
        "model": "gpt-image-1.5",
        "prompt": "a red chair",
        "n": 3,
        "size": "1024x1536",
        "quality": "low",
        "output_format": "jpeg",
        "moderation": "auto",
    }


@pytest.mark.parametrize(
    ("behaviour", "cls", "status", "words"),
    [
        ("429", ErrorClass.RATE_LIMIT, 429, "rate limit"),
        ("insufficient_quota", ErrorClass.QUOTA, 429, "no quota"),
        ("moderation_blocked", ErrorClass.CONTENT_POLICY, 400, "content policy"),
        ("invalid_api_key", ErrorClass.AUTH, 401, "rejected the API key"),
        ("500", ErrorClass.SERVER_ERROR, 500, "server error 500"),
        ("503", ErrorClass.SERVER_ERROR, 503, "overloaded"),
    ],
)
async def test_errors_are_classified(
    fake_openai: FakeOpenAI, behaviour: str, cls: ErrorClass, status: int, words: str
) -> None:
    fake_openai.script([behaviour])
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        with pytest.raises(ProviderError) as e:
            await p.generate(_req())
    finally:
        await p.aclose()
    assert e.value.error_class is cls and e.value.status == status
    assert words in e.value.message
    assert FAKE_KEY not in e.value.message
    if behaviour == "429":
        assert e.value.retry_after_s == pytest.approx(0.2)


async def test_invalid_request_names_the_field(fake_openai: FakeOpenAI) -> None:
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        with pytest.raises(ProviderError) as e:
            await p.generate(_req(size="640x480"))
    finally:
        await p.aclose()
    assert e.value.error_class is ErrorClass.INVALID_REQUEST and "field 'size'" in e.value.message


async def test_dropped_connection_is_network_and_malformed_is_server_error(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.script(["drop", "malformed"])
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        with pytest.raises(ProviderError) as e1:
            await p.generate(_req())
        with pytest.raises(ProviderError) as e2:
            await p.generate(_req())
    finally:
        await p.aclose()
    assert e1.value.error_class is ErrorClass.NETWORK
    assert e2.value.error_class is ErrorClass.SERVER_ERROR and "malformed" in e2.value.message


async def test_slow_response_times_out(fake_openai: FakeOpenAI) -> None:
    fake_openai.state.slow_s = 2.0
    fake_openai.script(["slow"])
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url, timeout_s=0.3)
    try:
        with pytest.raises(ProviderError) as e:
            await p.generate(_req())
    finally:
        await p.aclose()
    assert e.value.error_class is ErrorClass.TIMEOUT


async def test_test_connection_tells_key_url_and_down_apart(fake_openai: FakeOpenAI) -> None:
    ok = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    bad_key = OpenAIProvider("sk-wrong", fake_openai.base_url)
    bad_url = OpenAIProvider(FAKE_KEY, fake_openai.base_url.removesuffix("/v1") + "/nothing")
    down = OpenAIProvider(FAKE_KEY, "http://127.0.0.1:9/v1")
    try:
        assert "key accepted" in await ok.test_connection()
        with pytest.raises(ProviderError, match="rejected the API key"):
            await bad_key.test_connection()
        with pytest.raises(ProviderError, match="does not look like an OpenAI-compatible API"):
            await bad_url.test_connection()
        with pytest.raises(ProviderError, match="Cannot reach"):
            await down.test_connection()
    finally:
        for p in (ok, bad_key, bad_url, down):
            await p.aclose()


def test_retry_after_parsing() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    date = parse_retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    assert date is not None and date > 1e6
    assert parse_retry_after(httpx.Headers({})) is None
    assert parse_duration_s("1m30s") == 90.0 and parse_duration_s("12ms") == pytest.approx(0.012)
