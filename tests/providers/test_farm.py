"""Self-hosted farms without Redis (issue 16): several A1111 servers listed as one endpoint
serve one lane, each server one job at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.providers.a1111 import A1111Provider
from atelier.providers.farm import Farm, farm_of, split_base_urls
from atelier.store import Store
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.framework import FakeServer
from tests.support.batches import store_batch


@pytest.fixture
def servers() -> Iterator[list[FakeServer]]:
    fakes = [FakeServer(A1111Dialect, api_key=None).start() for _ in range(3)]
    for f in fakes:
        f.dialect.work_s = 0.5  # type: ignore[attr-defined]
        f.script(["work"] * 20)
    yield fakes
    for f in fakes:
        f.stop()


def test_split_base_urls() -> None:
    assert split_base_urls(" http://a:1,http://b:2  http://a:1 ,\n") == ["http://a:1", "http://b:2"]
    assert split_base_urls("") == [] and split_base_urls(None) == []


def test_a_farm_needs_two_servers_of_one_provider() -> None:
    with pytest.raises(ValueError):
        farm_of([A1111Provider(None, "http://127.0.0.1:1")])


def test_three_servers_one_lane_one_job_each(tmp_path: Path, servers: list[FakeServer]) -> None:
    store = Store(tmp_path / "s.db")
    urls = ", ".join(f.url for f in servers)
    rs = RunSettings(provider="a1111", model="current", concurrency=1, base_url=urls)
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="512x512") for i in range(12)]
    bid = store_batch(store, rs, specs, tmp_path / "o")
    factory = make_provider_factory(Settings())
    farm = factory(rs)
    assert isinstance(farm, Farm) and farm.capabilities.max_concurrency == 3
    asyncio.run(farm.aclose())

    report = asyncio.run(Engine(store, factory).run(bid))

    assert report.succeeded == 12
    served = [len(f.requests()) for f in servers]
    assert sum(served) == 12 and all(n >= 2 for n in served), served
    # Never two renders at once on one GPU, yet three at once across the farm.
    assert [f.dialect.max_parallel_seen for f in servers] == [1, 1, 1]  # type: ignore[attr-defined]
    arrivals = sorted(e.at for f in servers for e in f.requests())
    # Three renders arrive inside one render's time: the lane really runs three at once.
    assert min(b - a for a, b in zip(arrivals, arrivals[2:], strict=False)) < 0.5
    assert len(list((tmp_path / "o").glob("*.png"))) == 12


def test_one_server_down_its_jobs_go_elsewhere(tmp_path: Path, servers: list[FakeServer]) -> None:
    servers[1].script(["oom"] * 3 + ["work"] * 20)
    store = Store(tmp_path / "s.db")
    rs = RunSettings(provider="a1111", model="current", base_url=" ".join(f.url for f in servers))
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="512x512") for i in range(6)]
    bid = store_batch(store, rs, specs, tmp_path / "o")
    report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    assert report.succeeded == 6
