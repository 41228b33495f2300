"""Black Forest Labs adapter against the BFL dialect on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.bfl import BFLProvider
from atelier.providers.registry import create_provider
from atelier.store import Store
from tests.fakes.bfl import BFLDialect
from tests.fakes.framework import FakeServer
from tests.providers.contract import expect_class, expect_images, request_maker
from tests.support.batches import store_batch

KEY = "bfl-test"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(BFLDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[BFLProvider]:
    p = BFLProvider(KEY, fake.url, timeout_s=1.0, poll_interval_s=0.02)
    yield p
    await p.aclose()


req = request_maker("flux-pro-1.1", "1344x768", "jpeg", "a chair")


async def test_submit_poll_download(provider: BFLProvider, fake: FakeServer) -> None:
    await expect_images(provider, fake, req(seed=5))
    sub = fake.requests()[0]
    assert sub.path == "/v1/flux-pro-1.1" and sub.headers["x-key"] == KEY
    assert sub.body == {
        "prompt": "a chair",
        "output_format": "jpeg",
        "safety_tolerance": 2,
        "width": 1344,
        "height": 768,
        "seed": 5,
    }
    await expect_images(provider, fake, req(model="flux-pro-1.1-ultra"))
    assert (
        fake.requests()[1].body["aspect_ratio"] == "16:9" and "width" not in fake.requests()[1].body
    )


async def test_many_polls(provider: BFLProvider, fake: FakeServer) -> None:
    fake.script(["long"])
    await provider.generate(req())
    assert len(fake.all_requests("/v1/get_result")) == 6


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("request_moderated", ErrorClass.CONTENT_POLICY, "Request Moderated"),
        ("content_moderated", ErrorClass.CONTENT_POLICY, "Content Moderated"),
        ("error", ErrorClass.SERVER_ERROR, "Error"),
        ("not_found", ErrorClass.SERVER_ERROR, "Task not found"),
        ("invalid", ErrorClass.INVALID_REQUEST, "multiple of 32"),
        ("auth", ErrorClass.AUTH, None),
        ("payment", ErrorClass.PAYMENT_REQUIRED, None),
        ("429", ErrorClass.RATE_LIMIT, "24"),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("expired", ErrorClass.SERVER_ERROR, "expired"),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: BFLProvider, fake: FakeServer, behaviour: str, cls: ErrorClass, words: str | None
) -> None:
    await expect_class(provider, fake, behaviour, req(), cls, words)


async def test_lane_never_exceeds_24_active_tasks(tmp_path: Path, fake: FakeServer) -> None:
    fake.dialect.max_active = 24  # type: ignore[attr-defined]
    fake.dialect.polls_needed = 3  # type: ignore[attr-defined]
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="bfl",
        model="flux-dev",
        concurrency=64,
        base_url=fake.url,
        retry_policy=RetryPolicy(max_retries=0),
    )
    specs = [
        JobSpec(prompt=f"p{i}", output_path=f"p{i}.jpg", output_format="jpeg", size="1024x1024")
        for i in range(60)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "o")

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(s.provider, api_key=KEY, base_url=s.base_url, poll_interval_s=0.02)

    report = await Engine(store, factory).run(bid)
    assert report.succeeded == 60  # with max_retries=0: not one 429 from the 24-task limit
    assert 8 < fake.dialect.peak_active <= 24  # type: ignore[attr-defined]
    assert report.total_cost == pytest.approx(60 * 0.025)


async def test_kontext_edit_sends_input_image(provider: BFLProvider, fake: FakeServer) -> None:
    await expect_images(
        provider,
        fake,
        req(model="flux-kontext-pro", operation="edit", reference_images=(b"\x89PNG",)),
    )
    body = fake.requests()[0].body
    assert body["input_image"] == "iVBORw==" and body["aspect_ratio"] == "16:9"


async def test_a_flux_2_edit_sends_every_reference_and_pays_for_their_megapixels(
    tmp_path: Path, fake: FakeServer
) -> None:
    """FLUX.2 takes ``input_image``, ``input_image_2`` … (BFL's bfl-api guide) and bills
    ``(firstMP + (outputMP-1) * mpPrice) + (inputMP * mpPrice)``: a 1 MP edit of a 2048² and a
    1024² reference on [pro] is $0.03 + 5 × $0.015, each reference measured from the bytes
    sent (the first sent by address would count the same)."""
    from PIL import Image

    big, small = tmp_path / "big.png", tmp_path / "small.png"
    Image.new("RGB", (2048, 2048), "white").save(big)
    Image.new("RGB", (1024, 1024), "white").save(small)
    store = Store(tmp_path / "s.db")
    rs = RunSettings(provider="bfl", model="flux-2-pro", base_url=fake.url)
    spec = JobSpec(
        prompt="the vase from image 1 on the table of image 2",
        output_path="v.jpg",
        output_format="jpeg",
        size="1024x1024",
        operation="edit",
        reference_images=[str(big), str(small)],
    )
    bid = store_batch(store, rs, [spec], tmp_path / "o")

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(s.provider, api_key=KEY, base_url=s.base_url, poll_interval_s=0.02)

    report = await Engine(store, factory).run(bid)
    assert report.succeeded == 1, report.results
    (task,) = fake.dialect.tasks.values()  # type: ignore[attr-defined]
    assert {"input_image", "input_image_2"} <= set(task.body)
    assert report.total_cost == pytest.approx(0.03 + 5 * 0.015)
    store.close()


async def test_kontext_takes_one_reference(fake: FakeServer, provider: BFLProvider) -> None:
    refs = (b"\x89PNG-a", b"\x89PNG-b")
    spec = JobSpec(
        prompt="x", output_path="x.jpg", operation="edit", reference_images=["a.png", "b.png"]
    )
    problems = provider.check(spec, "flux-kontext-pro")
    assert [f for f, _ in problems] == ["reference_images"]
    with pytest.raises(ProviderError) as refused:  # the fake refuses what the door refuses
        await provider.generate(
            req(model="flux-kontext-pro", operation="edit", reference_images=refs)
        )
    assert refused.value.error_class is ErrorClass.INVALID_REQUEST
