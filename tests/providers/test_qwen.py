"""Alibaba Qwen-Image on DashScope's asynchronous tasks, against the DashScope dialect on
127.0.0.1: the official ``dashscope`` SDK drives the fake first, then Atelier's adapter must send
what the SDK sends and read what it reads."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dashscope
import pytest
from dashscope import ImageSynthesis
from PIL import Image

from atelier.core.errors import ErrorClass
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.base import REMOTE_GONE
from atelier.providers.qwen import QwenImageProvider
from atelier.providers.registry import capabilities_of, create_provider
from atelier.store import Store
from tests.fakes.dashscope import SUBMIT, DashScopeDialect
from tests.fakes.framework import FakeServer
from tests.fakes.image_host import CdnDialect
from tests.providers.contract import expect_class, expect_images, request_maker
from tests.support.batches import store_batch

KEY = "sk-dashscope-test"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(DashScopeDialect, api_key=KEY) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[QwenImageProvider]:
    p = QwenImageProvider(KEY, fake.url, timeout_s=1.0, poll_interval_s=0.02)
    yield p
    await p.aclose()


req = request_maker("qwen-image-plus", "1664x928", "png", "茶碗の広告、「新春セール」の文字")


def test_the_official_sdk_drives_the_fake(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dashscope`` 2.0.2, pointed at the fake, submits a task, follows it to SUCCEEDED and
    reads its result URL and usage; a bad key is its ``InvalidApiKey``."""
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{fake.url}/api/v1")
    task = ImageSynthesis.async_call(
        model="qwen-image-plus", prompt="sdk: 福袋", api_key=KEY, size="1664*928", n=1,
        negative_prompt="blur", prompt_extend=False, watermark=False, seed=3,
    )  # fmt: skip
    assert task.status_code == 200 and task.output.task_status == "PENDING"
    statuses = []
    for _ in range(3):
        done = ImageSynthesis.fetch(task, api_key=KEY)
        statuses.append(done.output.task_status)
    assert statuses[:2] == ["RUNNING", "SUCCEEDED"]
    assert done.usage.image_count == 1 and done.output.results[0].url.startswith(fake.url)
    bad = ImageSynthesis.async_call(model="qwen-image-plus", prompt="x", api_key="sk-wrong")
    assert (bad.status_code, bad.code) == (401, "InvalidApiKey")


async def test_atelier_sends_what_the_sdk_sends(
    provider: QwenImageProvider, fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{fake.url}/api/v1")
    ImageSynthesis.async_call(
        model="qwen-image-plus", prompt="p", api_key=KEY, size="1664*928", n=1,
        negative_prompt="blur", prompt_extend=False, watermark=False, seed=3,
    )  # fmt: skip
    res = await expect_images(provider, fake, req(prompt="p", negative_prompt="blur", seed=3))
    sdk, ours = (e for e in fake.requests() if e.path == SUBMIT)
    assert ours.body == sdk.body
    assert ours.headers["x-dashscope-async"] == "enable"
    assert ours.headers["authorization"] == f"Bearer {KEY}"
    assert Image.open(io.BytesIO(res.images[0].data)).size == (1664, 928)


async def test_the_key_goes_only_to_dashscope(
    provider: QwenImageProvider, fake: FakeServer
) -> None:
    """The result URL on another host (Alibaba's OSS) is fetched without the key."""
    with FakeServer(CdnDialect, api_key=None) as cdn:  # type: ignore[arg-type]
        fake.script([f"url_at:{cdn.url}/result.png"])
        await provider.generate(req())
        (download,) = cdn.all_requests("/result.png")
    assert "authorization" not in download.headers
    assert all(KEY not in v for v in download.headers.values())


async def test_no_size_sends_none(provider: QwenImageProvider, fake: FakeServer) -> None:
    await expect_images(provider, fake, req(size="auto"))
    assert "size" not in fake.requests()[0].body["parameters"]


async def test_polls_until_done(provider: QwenImageProvider, fake: FakeServer) -> None:
    fake.script(["long"])
    await provider.generate(req())
    assert len(fake.all_requests("/api/v1/tasks/")) == 6


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("failed", ErrorClass.SERVER_ERROR, "InternalError"),
        ("content", ErrorClass.CONTENT_POLICY, "DataInspectionFailed"),
        ("inspection", ErrorClass.CONTENT_POLICY, "DataInspectionFailed"),
        ("auth", ErrorClass.AUTH, "international endpoint"),
        ("429", ErrorClass.RATE_LIMIT, "Throttling"),
        ("500", ErrorClass.SERVER_ERROR, None),
        ("expired", ErrorClass.SERVER_ERROR, "expired"),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: QwenImageProvider,
    fake: FakeServer,
    behaviour: str,
    cls: ErrorClass,
    words: str | None,
) -> None:
    e = await expect_class(provider, fake, behaviour, req(), cls, words)
    if behaviour == "429":
        assert e.retry_after_s == 1.0


async def test_a_bad_size_is_refused_by_the_server_and_at_the_door(
    provider: QwenImageProvider, fake: FakeServer
) -> None:
    await expect_class(provider, fake, "ok", req(size="1024x1024"), ErrorClass.INVALID_REQUEST)
    info = capabilities_of("qwen").model("qwen-image-plus")
    assert info is not None
    problems = info.check(JobSpec(prompt="x", output_path="x.png", size="1024x1024"))
    assert [f for f, _ in problems] == ["size"]


async def test_a_followed_task_the_server_forgot_is_sent_again(
    provider: QwenImageProvider, fake: FakeServer
) -> None:
    """A resumed task id is put in the URL path encoded; a task DashScope does not know
    (UNKNOWN) is ``remote_gone``."""
    e = await expect_class(
        provider, fake, "ok", req(resume={"task_id": "../x?y"}), ErrorClass.SERVER_ERROR
    )
    assert e.code == REMOTE_GONE
    assert fake.all_requests("/api/v1/tasks/")[-1].path == "/api/v1/tasks/..%2Fx%3Fy"


async def test_a_batch_through_the_engine_is_priced(tmp_path: Path, fake: FakeServer) -> None:
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="qwen", model="qwen-image-plus", concurrency=2, base_url=fake.url,
        retry_policy=RetryPolicy(max_retries=0),
    )  # fmt: skip
    specs = [
        JobSpec(prompt=f"広告 {i}", output_path=f"p{i}.png", size="1328x1328") for i in range(3)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "o")

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(s.provider, api_key=KEY, base_url=s.base_url, poll_interval_s=0.02)

    report = await Engine(store, factory).run(bid)
    assert report.succeeded == 3
    assert report.total_cost == pytest.approx(3 * 0.0286)


async def test_test_connection(fake: FakeServer) -> None:
    good = QwenImageProvider(KEY, fake.url)
    bad = QwenImageProvider("sk-wrong", fake.url)
    try:
        assert "key accepted" in await good.test_connection()
        with pytest.raises(Exception) as e:
            await bad.test_connection()
        assert getattr(e.value, "error_class", None) is ErrorClass.AUTH
    finally:
        await good.aclose()
        await bad.aclose()
