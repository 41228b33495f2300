"""gpt-image-2 and its 2.5 / 2.6 successors: custom sizes, the new quality levels, transparency,
and billing from ``usage``, with the official ``openai`` SDK driving the fake as the reference
for the request bodies Atelier sends."""

from __future__ import annotations

import base64
import io
import json
import typing
from pathlib import Path

import openai
import pytest
from openai.types import image_generate_params
from PIL import Image

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.models import JobSpec
from atelier.pricing.entries import PriceQuery
from atelier.pricing.table import PriceTable
from atelier.providers.base import GenerationRequest
from atelier.providers.openai import CAPABILITIES, OpenAIProvider
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli

NEW_MODELS = (
    "gpt-image-2",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)


def _problems(model: str, **kw: object) -> list[tuple[str, str]]:
    info = CAPABILITIES.model(model)
    assert info is not None
    return info.check(JobSpec(prompt="a mug", output_path="a.png", **kw))  # type: ignore[arg-type]


def test_every_new_model_is_a_model_of_the_sdk() -> None:
    """The ids Atelier offers are the ids openai 3.63.0 types name (``ImageModel``)."""
    from openai.types.image_model import ImageModel

    assert set(NEW_MODELS) <= set(typing.get_args(ImageModel))


@pytest.mark.parametrize(
    ("model", "size", "field_hint"),
    [
        ("gpt-image-2", "1000x1000", "divisible by 16"),
        ("gpt-image-2", "3856x2160", "at most 3840x3840"),
        ("gpt-image-2", "3840x3840", "pixels per image"),
        ("gpt-image-2.5-flare", "3072x1008", "3 times the shorter"),
        ("gpt-image-2.6-flare", "1536x864", "accepts 1024x1024"),
    ],
)
def test_custom_sizes_are_checked_at_the_door(model: str, size: str, field_hint: str) -> None:
    problems = _problems(model, size=size)
    assert [f for f, _ in problems] == ["size"]
    assert field_hint in problems[0][1] and size in problems[0][1]


@pytest.mark.parametrize("size", ["1536x864", "3840x2160", "2160x3840", "1008x3024", "auto"])
def test_custom_sizes_within_the_limits_pass(size: str) -> None:
    assert _problems("gpt-image-2", size=size) == []
    assert _problems("gpt-image-2.5-sunburst", size=size) == []


def test_quality_levels_and_transparency_per_model() -> None:
    assert _problems("gpt-image-2.5-flare", quality="xhigh") == []
    assert _problems("gpt-image-2.5-sunburst", quality="max") == []
    assert [f for f, _ in _problems("gpt-image-2", quality="xhigh")] == ["quality"]
    assert [f for f, _ in _problems("gpt-image-2.6-flare", quality="max")] == ["quality"]
    # In preview on gpt-image-2 by OpenAI's own SDK (image_generate_params.py), so offered.
    assert _problems("gpt-image-2", transparent_background=True) == []
    assert [f for f, _ in _problems("gpt-image-1.5", quality="xhigh")] == ["quality"]
    assert _problems("gpt-image-2.5-flare", transparent_background=True) == []
    assert _problems("gpt-image-2.6-sunburst", transparent_background=True) == []


async def test_atelier_sends_what_the_sdk_sends(fake_openai: FakeOpenAI) -> None:
    """The same job through the official SDK and through Atelier reaches the fake as the same
    JSON body, and every field Atelier sends is a field of the SDK's ``ImageGenerateParams``."""
    client = openai.OpenAI(api_key=FAKE_KEY, base_url=fake_openai.base_url, max_retries=0)
    res = client.images.generate(
        model="gpt-image-2.5-flare",
        prompt="sdk: a tall vase",
        n=1,
        size="1536x864",
        quality="xhigh",
        output_format="webp",
        moderation="auto",
        background="transparent",
    )
    img = Image.open(io.BytesIO(base64.b64decode((res.data or [])[0].b64_json or "")))
    assert img.size == (1536, 864)
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        await p.generate(
            GenerationRequest(
                model="gpt-image-2.5-flare",
                prompt="atelier: a tall vase",
                size="1536x864",
                quality="xhigh",
                output_format="webp",
                transparent_background=True,
            )
        )
    finally:
        await p.aclose()
    sdk_body = fake_openai.requests("sdk:")[0].body
    ours = fake_openai.requests("atelier:")[0].body
    assert {k: v for k, v in ours.items() if k != "prompt"} == {
        k: v for k, v in sdk_body.items() if k != "prompt"
    }
    params = image_generate_params.ImageGenerateParamsBase.__annotations__
    assert set(ours) <= set(params)


def test_the_fake_refuses_what_the_door_refuses(fake_openai: FakeOpenAI) -> None:
    client = openai.OpenAI(api_key=FAKE_KEY, base_url=fake_openai.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError) as q:
        client.images.generate(model="gpt-image-2", prompt="x", quality="xhigh")
    assert q.value.param == "quality"
    with pytest.raises(openai.BadRequestError) as s:
        client.images.generate(model="gpt-image-2", prompt="x", size="3840x3840")
    assert s.value.param == "size"
    made = client.images.generate(model="gpt-image-2", prompt="x", background="transparent")
    assert made.data and made.background == "transparent"  # in preview (the SDK's word)


async def test_a_field_error_of_the_image_user_type_is_not_a_content_refusal(
    fake_openai: FakeOpenAI,
) -> None:
    """A refused transparent background (third-party reports say gpt-image-2's answer since
    2026-09-30) is ``image_generation_user_error`` naming ``background``: a bad request to fix,
    not the safety system's refusal."""
    fake_openai.script(["background_refused"])
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        with pytest.raises(ProviderError) as e:
            await p.generate(
                GenerationRequest(
                    model="gpt-image-2",
                    prompt="a cup",
                    size="1024x1024",
                    quality="low",
                    output_format="png",
                    transparent_background=True,
                )
            )
    finally:
        await p.aclose()
    assert e.value.error_class is ErrorClass.INVALID_REQUEST
    assert "background" in e.value.message
    fake_openai.script(["moderation_blocked"])
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        with pytest.raises(ProviderError) as m:
            await p.generate(
                GenerationRequest(
                    model="gpt-image-2", prompt="x", size="auto", quality="low", output_format="png"
                )
            )
    finally:
        await p.aclose()
    assert m.value.error_class is ErrorClass.CONTENT_POLICY


async def test_gpt_image_2_is_billed_from_usage(fake_openai: FakeOpenAI) -> None:
    """$5 text in, $8 image in, $30 image out per 1M tokens, from the answer's ``usage``."""
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        res = await p.generate(
            GenerationRequest(
                model="gpt-image-2",
                prompt="a lamp " * 40,
                size="1536x1024",
                quality="high",
                output_format="png",
                n=2,
            )
        )
    finally:
        await p.aclose()
    assert res.usage is not None
    details = res.usage["input_tokens_details"]
    assert isinstance(details, dict)
    out_tokens = int(res.usage["output_tokens"])  # type: ignore[call-overload]
    expected = (int(details["text_tokens"]) * 5 + out_tokens * 30) / 1_000_000
    table = PriceTable()
    assert table.cost_from_usage("openai", "gpt-image-2", res.usage) == round(expected, 6)
    with_images = {
        "input_tokens": 1050,
        "input_tokens_details": {"text_tokens": 50, "image_tokens": 1000},
        "output_tokens": 4000,
        "total_tokens": 5050,
    }
    # 50×5 + 1000×8 + 4000×30 per 1M
    assert table.cost_from_usage("openai", "gpt-image-2", with_images) == 0.12825
    for m in NEW_MODELS:
        assert table.cost_from_usage("openai", m, with_images) == 0.12825


def _per_image(table: PriceTable, quality: str, size: str) -> float | None:
    return table.price_of(PriceQuery("openai", "gpt-image-2", quality, size, 1)).per_image


def test_gpt_image_2_per_image_prices_for_the_estimate() -> None:
    table = PriceTable()
    assert _per_image(table, "low", "1024x1024") == 0.006
    assert _per_image(table, "medium", "1024x1024") == 0.053
    assert _per_image(table, "high", "1024x1024") == 0.211
    assert _per_image(table, "high", "1536x1024") == 0.165
    assert _per_image(table, "medium", "1024x1536") == 0.041
    # no published per-image price for a custom size: unknown, never $0
    assert _per_image(table, "high", "1536x864") is None
    est = table.estimate([PriceQuery("openai", "gpt-image-2", "high", "1024x1024", 3)])
    assert est.total_usd == pytest.approx(0.633)


def test_a_gpt_image_2_run_reports_its_cost_from_usage(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom size has no per-image price, yet the run's ``total_cost`` is known: each
    answer's ``usage`` at $5 / $30 per 1M text-in / image-out tokens."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    prompt = "a linen napkin on oak, studio light"
    cfg = tmp_path / "c.json"
    job = {"prompt": prompt, "model": "gpt-image-2", "size": "1536x864", "quality": "high"}
    cfg.write_text(json.dumps({"jobs": [job], "output_dir": str(tmp_path / "out")}))
    run = run_cli(
        "run", str(cfg), "--provider", "openai", "--base-url", fake_openai.base_url,
        "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    text_tokens, out_tokens = len(prompt) // 4, 1056  # as the fake counts them
    assert run.report()["total_cost"] == pytest.approx((text_tokens * 5 + out_tokens * 30) / 1e6)


async def test_complexity_goes_to_the_models_that_take_it_as_the_sdk_sends_it(
    fake_openai: FakeOpenAI,
) -> None:
    """gpt-image-2.6's ``complexity`` (openai-python 3.63.0 ``image_generate_params``): the
    door refuses it for a model that takes none, Atelier's body equals the SDK's, the fake
    answers the SDK's own call."""
    assert _problems("gpt-image-2.6-flare", complexity="high") == []
    refused = _problems("gpt-image-2.5-flare", complexity="high")
    assert refused == [("complexity", "gpt-image-2.5-flare takes no complexity")]
    client = openai.OpenAI(api_key=FAKE_KEY, base_url=fake_openai.base_url, max_retries=0)
    client.images.generate(
        model="gpt-image-2.6-sunburst",
        prompt="sdk: a lamp",
        n=1,
        quality="auto",
        output_format="png",
        moderation="auto",
        complexity="low",
    )
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(model="gpt-image-2", prompt="sdk: x", complexity="low")
    assert bad.value.param == "complexity"
    spec = JobSpec(prompt="atelier: a lamp", output_path="l.png", size="auto", complexity="low")
    p = OpenAIProvider(FAKE_KEY, fake_openai.base_url)
    try:
        req = GenerationRequest.from_spec(spec, model="gpt-image-2.6-sunburst", samples=[0])
        await p.generate(req)
    finally:
        await p.aclose()
    sdk_body = fake_openai.requests("sdk: a lamp")[0].body
    ours = fake_openai.requests("atelier:")[0].body
    assert ours["complexity"] == "low"
    assert {k: v for k, v in ours.items() if k != "prompt"} == {
        k: v for k, v in sdk_body.items() if k != "prompt"
    }
    params = image_generate_params.ImageGenerateParamsBase.__annotations__
    assert set(ours) <= set(params)


def test_complexity_is_in_a_reuse_key_only_when_set() -> None:
    """A job without complexity keeps the key it had before the field existed (its earlier
    images are still copied at $0); with one, it is another request."""
    from atelier.pricing.reuse import request_key

    plain = JobSpec(prompt="a mug", output_path="a.png")
    key = request_key("openai", "gpt-image-2.6-flare", plain, {})
    # The key of this job as computed before ``complexity`` existed (commit 5e21584; also
    # tests/core/test_spec_fields.py test_keys_unchanged_from_version_1).
    assert key == "0f886a3595867dfef0dbc15621270c679c21627012c183e1d11e6f5ea53b04e5"
    low = plain.model_copy(update={"complexity": "low"})
    high = plain.model_copy(update={"complexity": "high"})
    keys = {key, request_key("openai", "gpt-image-2.6-flare", low, {})}
    keys.add(request_key("openai", "gpt-image-2.6-flare", high, {}))
    assert len(keys) == 3
