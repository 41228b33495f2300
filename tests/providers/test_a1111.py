"""AUTOMATIC1111 adapter against the A1111 dialect on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from atelier.core.errors import ErrorClass
from atelier.core.events import JobProgress
from atelier.core.models import JobSpec, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.a1111 import A1111Provider
from atelier.providers.registry import create_provider
from atelier.store import Store
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.framework import FakeServer
from tests.providers.contract import expect_class, expect_images, request_maker
from tests.support.batches import store_batch


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(A1111Dialect, api_key=None) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[A1111Provider]:
    p = A1111Provider(None, fake.url, timeout_s=1.0, poll_interval_s=0.05)
    yield p
    await p.aclose()


req = request_maker("current", "768x512", "png", "a cat")


async def test_txt2img_body_and_real_seed_from_info(
    provider: A1111Provider, fake: FakeServer
) -> None:
    res = await expect_images(provider, fake, req(n=2, negative_prompt="blurry"), n=2)
    assert [i.seed for i in res.images] == [3_141_592, 3_141_593]  # from info.all_seeds, not -1
    body = fake.requests()[0].body
    assert body == {
        "prompt": "a cat",
        "negative_prompt": "blurry",
        "seed": -1,
        "steps": 25,
        "cfg_scale": 7.0,
        "width": 768,
        "height": 512,
        "batch_size": 2,
        "n_iter": 1,
    }


async def test_img2img_with_mask(provider: A1111Provider, fake: FakeServer) -> None:
    await expect_images(
        provider, fake, req(operation="edit", reference_images=(b"png-bytes",), mask=b"mask")
    )
    log = fake.requests()[0]
    assert log.path == "/sdapi/v1/img2img" and log.body["init_images"] and log.body["mask"]


async def test_basic_auth(fake: FakeServer) -> None:
    fake.dialect.basic = "artist:secret"  # type: ignore[attr-defined]
    ok = A1111Provider("artist:secret", fake.url)
    no = A1111Provider(None, fake.url)
    try:
        await expect_images(ok, fake, req())
        await expect_class(no, fake, "ok", req(), ErrorClass.AUTH, "user:password")
        assert "1 checkpoints" in await ok.test_connection()
    finally:
        await ok.aclose()
        await no.aclose()


@pytest.mark.parametrize(
    ("behaviour", "cls", "words"),
    [
        ("oom", ErrorClass.SERVER_ERROR, "CUDA out of memory"),
        ("invalid", ErrorClass.INVALID_REQUEST, "width"),
        ("no_api", ErrorClass.INVALID_REQUEST, "--api"),
        ("auth", ErrorClass.AUTH, None),
        ("drop", ErrorClass.NETWORK, None),
        ("malformed", ErrorClass.SERVER_ERROR, None),
        ("slow", ErrorClass.TIMEOUT, None),
    ],
)
async def test_error_classes(
    provider: A1111Provider, fake: FakeServer, behaviour: str, cls: ErrorClass, words: str | None
) -> None:
    await expect_class(provider, fake, behaviour, req(), cls, words)


async def test_unreadable_info_keeps_the_image(provider: A1111Provider, fake: FakeServer) -> None:
    fake.script(["bad_info"])
    res = await provider.generate(req())
    assert len(res.images) == 1 and res.images[0].seed is None


async def test_progress_events_and_one_at_a_time(tmp_path: Path, fake: FakeServer) -> None:
    fake.dialect.work_s = 0.5  # type: ignore[attr-defined]
    fake.script(["work"] * 3)
    store = Store(tmp_path / "s.db")
    rs = RunSettings(provider="a1111", model="current", concurrency=4, base_url=fake.url)
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="512x512") for i in range(3)]
    bid = store_batch(store, rs, specs, tmp_path / "o")
    engine = Engine(
        store, lambda s: create_provider(s.provider, base_url=s.base_url, poll_interval_s=0.05)
    )
    progress: list[float] = []
    engine.events.subscribe(
        lambda e: progress.append(e.fraction) if isinstance(e, JobProgress) else None
    )
    report = await engine.run(bid)
    assert report.succeeded == 3 and report.total_cost == 0.0
    assert fake.dialect.max_parallel_seen == 1  # type: ignore[attr-defined]
    assert any(0.0 < p < 1.0 for p in progress) and progress[-1] == 1.0


async def test_cancel_interrupts_the_render(provider: A1111Provider, fake: FakeServer) -> None:
    fake.dialect.work_s = 5  # type: ignore[attr-defined]
    fake.script(["work"])
    task = asyncio.create_task(provider.generate(req()))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if fake.dialect.interrupted:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert fake.dialect.interrupted == 1  # type: ignore[attr-defined]
