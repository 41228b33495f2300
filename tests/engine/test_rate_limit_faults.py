"""Running at the provider's real limit: a fake that enforces 600 images per minute."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, LaneLimits, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.registry import create_provider
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI, OpenAIDialect, TokenBucket
from tests.support.batches import store_batch
from tests.support.record import record

IPM, IMAGES, BURST = 600, 300, 10
FLOOR_S = IMAGES / (IPM / 60)  # 30 s, as the issue defines it


def _batch(store: Store, tmp_path: Path, fake: FakeOpenAI, n: int, **rs: object) -> int:
    settings = RunSettings(provider="openai", model="gpt-image-1.5", base_url=fake.base_url, **rs)  # type: ignore[arg-type]
    specs = [
        JobSpec(prompt=f"tile {i}", output_path=f"t{i:03d}.png", quality="low") for i in range(n)
    ]
    return store_batch(
        store, settings, specs, tmp_path / "out", name="rate", fingerprint=f"rate-{n}"
    )


@pytest.mark.timing
@pytest.mark.slow
async def test_300_images_at_600_ipm_run_at_the_floor(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    dialect = fake_openai.dialect
    assert isinstance(dialect, OpenAIDialect)
    dialect.bucket = TokenBucket(IPM, BURST)
    store = Store(tmp_path / "s.db")
    bid = _batch(store, tmp_path, fake_openai, IMAGES, concurrency=16)
    engine = Engine(
        store, lambda s: create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)
    )
    t0 = time.monotonic()
    report = await engine.run(bid)
    wall = time.monotonic() - t0
    requests = len(fake_openai.requests())
    rate_limited = dialect.rate_limited
    record(
        "rate limit: 300 images, fake enforcing 600 IPM (burst 10)",
        runs=1,
        jobs=IMAGES,
        failed=report.failed,
        wall_s=round(wall, 2),
        floor_s=round(FLOOR_S, 1),
        ratio=round(wall / FLOOR_S, 3),
        requests=requests,
        http_429=rate_limited,
        images_lost=IMAGES - report.succeeded,
        paid_twice=requests - rate_limited - IMAGES,
    )
    assert report.succeeded == IMAGES and report.failed == 0
    assert wall <= 1.05 * FLOOR_S, f"{wall:.1f} s against a floor of {FLOOR_S:.1f} s"
    assert rate_limited <= 0.02 * requests, f"{rate_limited} of {requests} requests answered 429"
    assert requests - rate_limited == IMAGES  # every image requested (and paid) once


async def test_user_set_ipm_paces_from_the_first_request(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """With the limit set by the user nothing is learnt the hard way: zero 429s."""
    dialect = fake_openai.dialect
    assert isinstance(dialect, OpenAIDialect)
    dialect.bucket = TokenBucket(1200, 5)  # a quarter second of burst absorbs arrival jitter
    store = Store(tmp_path / "s.db")
    bid = _batch(
        store,
        tmp_path,
        fake_openai,
        40,
        concurrency=8,
        rate_limits={"openai": LaneLimits(ipm=1200)},
    )
    engine = Engine(
        store, lambda s: create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)
    )
    report = await engine.run(bid)
    assert report.succeeded == 40 and dialect.rate_limited == 0


async def test_a_429_holds_the_whole_lane(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """One 429 with retry-after 1 s: no other request of the lane goes out during that second."""
    fake_openai.retry_after_s = 1.0
    fake_openai.script_for("tile 0", ["429"])
    store = Store(tmp_path / "s.db")
    bid = _batch(store, tmp_path, fake_openai, 12, concurrency=1)
    engine = Engine(
        store, lambda s: create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)
    )
    report = await engine.run(bid)
    assert report.succeeded == 12
    log = fake_openai.requests()
    first_429 = next(e for e in log if e.status == 429)
    after = [e.at - first_429.at for e in log if e.at > first_429.at]
    assert after and min(after) >= 0.95  # nothing was sent while the lane waited
    await asyncio.sleep(0)
