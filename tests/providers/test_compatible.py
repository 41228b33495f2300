"""OpenAI-compatible presets (Seedream on BytePlus ModelArk, LocalAI) against the OpenAI dialect."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass
from atelier.providers.base import GenerationRequest
from atelier.providers.openai import LocalAIProvider, SeedreamProvider
from tests.fakes.crafted import encode
from tests.fakes.framework import FakeServer
from tests.fakes.openai_server import OpenAIDialect
from tests.providers.contract import expect_class, expect_images


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(OpenAIDialect, api_key="ark-key") as f:
        yield f


async def test_seedream_body_and_path(fake: FakeServer) -> None:
    p = SeedreamProvider("ark-key", f"{fake.url}/api/v3")
    try:
        req = GenerationRequest(
            model="seedream-4-0-250828",
            prompt="a lamp",
            size="2048x2048",
            quality="auto",
            output_format="jpeg",
            seed=9,
        )
        res = await expect_images(p, fake, req)
        assert Image.open(io.BytesIO(res.images[0].data)).format == "JPEG"
        log = fake.requests()[0]
        assert log.path == "/api/v3/images/generations"
        assert log.body == {
            "model": "seedream-4-0-250828",
            "prompt": "a lamp",
            "size": "2048x2048",
            "response_format": "b64_json",
            "watermark": False,
            "seed": 9,
        }
        await expect_class(p, fake, "content_policy", req, ErrorClass.CONTENT_POLICY)
        await expect_class(p, fake, "429", req, ErrorClass.RATE_LIMIT)
    finally:
        await p.aclose()


async def test_a_seedream_edit_sends_its_references_as_bytepluss_sdk_does(
    fake: FakeServer,
) -> None:
    """BytePlus's own SDK (byteplus-python-sdk-v2) sends references in ``image`` of
    ``POST /images/generations`` (there is no ``/images/edits``): Atelier's request for the
    same edit reaches the fake as the same body, each reference a ``data:`` URI of its own
    type (a JPEG is ``image/jpeg``); before, Atelier posted a multipart ``/images/edits``."""
    from byteplussdkarkruntime import Ark
    from byteplussdkarkruntime._exceptions import ArkBadRequestError

    jpeg = encode(Image.new("RGB", (64, 48), "red"), "JPEG")
    png = encode(Image.new("RGB", (64, 48), "blue"))
    p = SeedreamProvider("ark-key", f"{fake.url}/api/v3")
    try:
        req = GenerationRequest(
            model="seedream-5-5-261028",
            prompt="atelier: the lamp of image 1 in the room of image 2",
            size="2048x2048",
            quality="auto",
            output_format="jpeg",
            operation="edit",
            reference_images=(jpeg, png),
        )
        await expect_images(p, fake, req)
    finally:
        await p.aclose()
    ours = fake.requests()[0]
    assert ours.path == "/api/v3/images/generations"
    images = ours.body["image"]
    assert [u.split(";")[0] for u in images] == ["data:image/jpeg", "data:image/png"]
    client = Ark(base_url=f"{fake.url}/api/v3", api_key="ark-key", max_retries=0)
    client.images.generate(
        model="seedream-5-5-261028",
        prompt="sdk: the lamp of image 1 in the room of image 2",
        image=images,
        size="2048x2048",
        response_format="b64_json",
        watermark=False,
    )
    sdk = fake.requests()[1].body
    assert fake.requests()[1].path == ours.path
    assert {k: v for k, v in sdk.items() if k != "prompt" and v is not None} == {
        k: v for k, v in ours.body.items() if k != "prompt"
    }
    # The fake refuses what BytePlus would: more than 10 references.
    too_many = [images[0]] * 11
    with pytest.raises(ArkBadRequestError, match="image"):
        client.images.generate(model="seedream-5-5-261028", prompt="x", image=too_many)


async def test_localai_needs_no_key(fake: FakeServer) -> None:
    fake.api_key = None
    p = LocalAIProvider(None, f"{fake.url}/v1")
    try:
        req = GenerationRequest(
            model="stablediffusion",
            prompt="a cat",
            size="512x512",
            quality="auto",
            output_format="png",
            n=2,
        )
        await expect_images(p, fake, req, n=2)
        assert fake.requests()[0].body == {
            "model": "stablediffusion",
            "prompt": "a cat",
            "size": "512x512",
            "response_format": "b64_json",
            "n": 2,
        }
        assert "models visible" in await p.test_connection()
    finally:
        await p.aclose()
