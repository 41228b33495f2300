"""One job's failure stays that job's failure: whatever a job's stages raise, that job ends
``failed`` with a readable reason while the rest of the batch runs, and the batch never stays
``running`` once the run is over."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import UnidentifiedImageError

from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.core.status import BatchStatus, JobStatus
from atelier.engine.engine import Engine
from atelier.providers.bfl import BFLProvider
from atelier.providers.fal import FalProvider
from atelier.providers.openai import OpenAIProvider
from atelier.store import Store
from tests.fakes.bfl import BFLDialect
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.fakes.hostile import HostileProvider
from tests.fakes.openai_server import OpenAIDialect
from tests.support.batches import store_batch
from tests.support.record import record

# What adapters, SDKs and our own code raise when they meet the unexpected.
EXCEPTIONS: list[BaseException] = [
    KeyError("url"),
    TypeError("string indices must be integers, not 'str'"),
    IndexError("list index out of range"),
    AttributeError("'NoneType' object has no attribute 'get'"),
    ValueError("unexpected value"),
    ZeroDivisionError("division by zero"),
    RuntimeError("event loop is closed"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    OSError(24, "Too many open files"),
    RecursionError("maximum recursion depth exceeded"),
    AssertionError("unreachable"),
    NotImplementedError("no"),
    UnidentifiedImageError("cannot identify image file"),
    httpx.TooManyRedirects("Exceeded maximum allowed redirects."),
    httpx.DecodingError("broken gzip"),
    json.JSONDecodeError("Expecting value", "", 0),
]


def _run(
    root: Path, prompts: list[str], behaviours: dict[str, BaseException | None]
) -> tuple[Any, Store, int, HostileProvider]:
    HostileProvider.behaviours = behaviours
    store = Store(root / "store.db")
    provider = HostileProvider()
    rs = RunSettings(provider="draft", model="draft", concurrency=3)
    specs = [
        JobSpec(prompt=p, output_path=f"img-{i}.png", size="256x256") for i, p in enumerate(prompts)
    ]
    bid = store_batch(store, rs, specs, root / "out")
    engine = Engine(store, lambda _rs: provider)
    report = asyncio.run(engine.run(bid))
    return report, store, bid, provider


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(st.none(), st.sampled_from(EXCEPTIONS)), min_size=1, max_size=6))
def test_any_exception_fails_only_its_job(failures: list[BaseException | None]) -> None:
    prompts = [f"job {i}" for i in range(len(failures))]
    with tempfile.TemporaryDirectory() as d:
        report, store, bid, provider = _run(
            Path(d), prompts, dict(zip(prompts, failures, strict=True))
        )
        try:
            by = {r.prompt: r for r in report.results}
            for prompt, failure in zip(prompts, failures, strict=True):
                r = by[prompt]
                if failure is None:
                    assert r.status == JobStatus.COMPLETED, r
                    continue
                assert r.status == JobStatus.FAILED and r.error_type == "internal", r
                assert type(failure).__name__ in (r.error or "")
                assert "\n" not in (r.error or "") and "Traceback" not in (r.error or "")
                assert provider.calls[prompt] == 1  # our own bug: not paid for again
            assert report.succeeded + report.failed == len(prompts)
            assert store.batch(bid).status == BatchStatus.FINISHED
            assert store.job_ids(bid, (JobStatus.RUNNING, JobStatus.WAITING)) == []
            record(
                "job_failures",
                jobs=len(prompts),
                raised=sum(f is not None for f in failures),
                batches_left_running=int(store.batch(bid).status == BatchStatus.RUNNING),
            )
        finally:
            store.close()


def test_a_stored_spec_that_no_longer_validates_fails_its_job(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    rs = RunSettings(provider="draft", model="draft")
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png", size="256x256") for i in range(3)]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    with store.tx() as db:  # as an older release (or a bad override) stored it
        db.execute(
            "UPDATE jobs SET spec_json=json_set(spec_json, '$.seed', -1) WHERE batch_id=? AND seq=1",
            (bid,),
        )
    from atelier.core.settings import Settings
    from atelier.engine.service import make_provider_factory

    report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    assert [r.status for r in report.results] == ["completed", "failed", "completed"]
    bad = report.results[1]
    assert bad.error_type == "internal" and "seed" in (bad.error or "")
    assert store.batch(bid).status == BatchStatus.FINISHED


@pytest.mark.parametrize(
    "dialect,make,behaviour",
    [
        (BFLDialect, lambda url: BFLProvider("k", url, poll_interval_s=0.01), "result_string"),
        (FalDialect, lambda url: FalProvider("k", url, poll_interval_s=0.01), "empty_image"),
        (OpenAIDialect, lambda url: OpenAIProvider("k", f"{url}/v1"), "redirect_loop"),
    ],
    ids=["bfl-result-is-a-string", "fal-image-without-url", "thirty-redirects"],
)
def test_a_hostile_answer_fails_its_job_readably(
    tmp_path: Path, dialect: type[Any], make: Any, behaviour: str
) -> None:
    with FakeServer(dialect, api_key="k") as fake:
        fake.script_for("hostile", [behaviour] * 10)
        store = Store(tmp_path / "store.db")
        model = {
            BFLDialect: "flux-dev",
            FalDialect: "fal-ai/flux/dev",
            OpenAIDialect: "gpt-image-1.5",
        }[dialect]
        rs = RunSettings(
            provider={BFLDialect: "bfl", FalDialect: "fal", OpenAIDialect: "openai"}[dialect],
            model=model,
            retry_policy=RetryPolicy(max_retries=1, retry_delay_ms=1),
        )
        specs = [
            JobSpec(
                prompt=p,
                output_path=f"{p}.png",
                quality="auto",
            )
            for p in ("fine one", "hostile one", "fine two")
        ]
        bid = store_batch(store, rs, specs, tmp_path / "out")
        provider = make(fake.url)
        report = asyncio.run(Engine(store, lambda _rs: provider).run(bid))
        by = {r.prompt: r for r in report.results}
        assert by["fine one"].status == by["fine two"].status == JobStatus.COMPLETED
        bad = by["hostile one"]
        assert bad.status == JobStatus.FAILED, bad
        assert bad.error_type in ("server_error", "network"), bad
        assert bad.error and "\n" not in bad.error and "Traceback" not in bad.error
        assert store.batch(bid).status == BatchStatus.FINISHED
        store.close()


def test_a_control_character_in_a_cell_renders_on_draft(tmp_path: Path) -> None:
    """U+001D in a spreadsheet cell made Pillow's text layout raise inside the draft renderer,
    which ended the whole run in an ExceptionGroup with the batch left running."""
    from atelier.core import paths
    from tests.support.cli import run_cli

    sheet = tmp_path / "s.csv"
    sheet.write_text("Title\nCup\x1dBlue\nBowl\n", encoding="utf-8")
    r = run_cli(
        "run",
        "--csv",
        str(sheet),
        "--prompt",
        "photo of {Title}",
        "--provider",
        "draft",
        "--size",
        "256x256",
        "--output-dir",
        str(tmp_path / "out"),
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    report = r.report()
    assert report["succeeded"] == 2
    store = Store(paths.store_path())
    assert store.batch(report["batch_id"]).status == BatchStatus.FINISHED
    store.close()
