"""The engine against the fake OpenAI server: retries, timeouts, pause, cancel, retry, resume."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.events import Event, JobChanged, LaneWaiting
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.controller import call_now, retry_jobs
from atelier.engine.engine import Engine
from atelier.output.images import read_metadata
from atelier.providers.registry import create_provider
from atelier.sheet.plan import Plan
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch

FAST = RetryPolicy(max_retries=3, retry_delay_ms=20, max_delay_ms=100)


def _setup(
    tmp_path: Path,
    fake: FakeOpenAI | None,
    prompts: list[str],
    *,
    concurrency: int = 4,
    policy: RetryPolicy = FAST,
    job_timeout_ms: int = 10_000,
    batch_timeout_ms: int | None = None,
    sample_count: int = 1,
    fmt: str = "png",
    transparent: bool = False,
) -> tuple[Engine, Store, int, list[Event]]:
    store = Store(tmp_path / "store.sqlite3")
    provider = "openai" if fake else "draft"
    rs = RunSettings(
        provider=provider,
        model="gpt-image-1.5" if fake else "draft",
        concurrency=concurrency,
        job_timeout_ms=job_timeout_ms,
        batch_timeout_ms=batch_timeout_ms,
        retry_policy=policy,
        base_url=fake.base_url if fake else None,
    )
    specs = [
        JobSpec(
            prompt=p,
            output_path=f"img-{i}.{'jpg' if fmt == 'jpeg' else fmt}",
            size="1024x1024",
            quality="low",
            sample_count=sample_count,
            output_format=fmt,  # type: ignore[arg-type]
            transparent_background=transparent,
        )
        for i, p in enumerate(prompts)
    ]
    plan = Plan(specs)
    bid = store_batch(store, rs, plan.specs, tmp_path / "out")

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(s.provider, api_key=FAKE_KEY, base_url=s.base_url)

    events: list[Event] = []
    engine = Engine(store, factory, thumb_dir=tmp_path / "thumbs")
    engine.events.subscribe(events.append)
    return engine, store, bid, events


async def test_retryable_errors_succeed_and_policy_errors_fail_at_once(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.state.retry_after_s = 0.05
    fake_openai.script_for("retry-me", ["429", "500"])
    fake_openai.script_for("blocked", ["moderation_blocked"])
    engine, _store, bid, events = _setup(tmp_path, fake_openai, ["retry-me", "blocked", "fine"])
    report = await engine.run(bid)
    by_prompt = {r.prompt: r for r in report.results}
    assert by_prompt["retry-me"].status == "completed" and by_prompt["retry-me"].attempts == 3
    assert by_prompt["blocked"].status == "failed" and by_prompt["blocked"].attempts == 1
    assert by_prompt["blocked"].error_type == "content_policy"
    assert "content policy" in (by_prompt["blocked"].error or "")
    assert by_prompt["fine"].status == "completed"
    assert len(fake_openai.requests("blocked")) == 1
    assert any(isinstance(e, LaneWaiting) for e in events)
    waits = [e for e in events if isinstance(e, JobChanged) and e.status == "waiting"]
    assert (
        waits and waits[0].retry_in_s is not None and waits[0].retry_in_s >= 0.05
    )  # Retry-After honoured
    assert (report.succeeded, report.failed, report.total) == (2, 1, 3)
    # Billed from each answer's usage at gpt-image-1.5's token prices: the fake counts a
    # prompt's text tokens as len // 4 (at least 1), 272 image tokens for low 1024x1024.
    usd = sum((max(1, len(p) // 4) * 5 + 272 * 32) / 1e6 for p in ("retry-me", "fine"))
    assert report.total_cost == pytest.approx(usd)


async def test_retries_stop_at_max_and_only_listed_classes_retry(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_for("always-500", ["500"] * 10)
    fake_openai.script_for("timeout-only", ["503"])
    policy = RetryPolicy(
        max_retries=2, retry_delay_ms=10, retry_on_errors=["rate_limit", "timeout"]
    )  # type: ignore[list-item]
    engine, _, bid, _ = _setup(
        tmp_path, fake_openai, ["always-500 x", "timeout-only"], policy=policy
    )
    report = await engine.run(bid)
    assert all(r.status == "failed" for r in report.results)
    assert len(fake_openai.requests("always-500")) == 1  # server_error not in retry_on_errors
    policy2 = RetryPolicy(max_retries=2, retry_delay_ms=10)
    fake_openai.script_for("again-500", ["500"] * 10)
    engine2, _, bid2, _ = _setup(tmp_path / "b", fake_openai, ["again-500"], policy=policy2)
    report2 = await engine2.run(bid2)
    assert report2.results[0].attempts == 3 and len(fake_openai.requests("again-500")) == 3


async def test_job_timeout_cancels_the_request(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.state.slow_s = 3.0
    fake_openai.script_for("slow", ["slow"])
    engine, _, bid, _ = _setup(
        tmp_path, fake_openai, ["slow one"], job_timeout_ms=300, policy=RetryPolicy(max_retries=0)
    )
    t0 = asyncio.get_running_loop().time()
    report = await engine.run(bid)
    assert asyncio.get_running_loop().time() - t0 < 2.0
    assert report.results[0].status == "failed" and report.results[0].error_type == "timeout"


async def test_batch_timeout_cancels_in_flight_and_pending(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.state.slow_s = 3.0
    fake_openai.script(["slow"] * 10)
    engine, _, bid, _ = _setup(
        tmp_path, fake_openai, [f"p{i}" for i in range(5)], concurrency=2, batch_timeout_ms=400
    )
    t0 = asyncio.get_running_loop().time()
    report = await engine.run(bid)
    assert asyncio.get_running_loop().time() - t0 < 2.0
    assert report.cancelled == 5 and "batch timeout" in (report.stopped_reason or "")
    assert len(fake_openai.requests()) == 2  # only the in-flight pair was ever sent


@pytest.mark.timing
async def test_pause_resume_and_cancel(tmp_path: Path) -> None:
    engine, store, bid, events = _setup(
        tmp_path, None, [f"draft {i}" for i in range(12)], concurrency=1
    )
    task = asyncio.create_task(engine.run(bid))
    while not any(isinstance(e, JobChanged) and e.status == "completed" for e in events):
        await asyncio.sleep(0.01)
    engine.pause(bid)
    await asyncio.sleep(0.3)
    done_while_paused = sum(1 for j in store.jobs(bid) if j.status == "completed")
    await asyncio.sleep(0.3)
    assert sum(1 for j in store.jobs(bid) if j.status == "completed") == done_while_paused < 12
    engine.resume(bid)
    while sum(1 for j in store.jobs(bid) if j.status == "completed") < done_while_paused + 2:
        await asyncio.sleep(0.01)
    engine.cancel(bid)
    report = await task
    assert report.cancelled > 0 and report.succeeded + report.cancelled == 12
    assert store.batch(bid).status == "cancelled"


async def test_retry_failed_reuses_the_same_job(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script_for("flaky", ["moderation_blocked"])
    engine, store, bid, _ = _setup(tmp_path, fake_openai, ["flaky", "ok"])
    report = await engine.run(bid)
    failed = [int(r.job_id) for r in report.results if r.status == "failed"]
    assert len(failed) == 1
    assert retry_jobs(store, engine, call_now, bid, failed) == failed
    report2 = await engine.run(bid)
    assert report2.succeeded == 2 and report2.total == 2
    job = store.job(failed[0])
    assert job.attempts == 2 and len(store.attempts(job.id)) == 2
    assert len(fake_openai.requests("ok")) == 1  # the finished job was not requested again


async def test_samples_are_separate_files_with_metadata(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    engine, store, bid, _ = _setup(
        tmp_path, fake_openai, ["three cats"], sample_count=3, fmt="jpeg"
    )
    report = await engine.run(bid)
    paths = report.results[0].output_paths
    assert [Path(p).name for p in paths] == ["img-0-1.jpg", "img-0-2.jpg", "img-0-3.jpg"]
    for p in paths:
        with Image.open(p) as im:
            assert (im.format, im.size) == ("JPEG", (1024, 1024))
        meta = read_metadata(Path(p))
        assert meta and meta["prompt"] == "three cats" and meta["model"] == "gpt-image-1.5"
        assert FAKE_KEY not in str(meta)
    assert len(fake_openai.requests()) == 1  # n=3 in one request
    assert report.results[0].cost is None or report.results[0].cost > 0
    assert all(i.thumb and i.thumb.exists() for i in store.images(bid))


def _dead_pid() -> int:
    """The pid of a process that has ended (a crashed run's, in a temporary file's name)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def other_pid() -> Iterator[int]:
    """The pid of another process, running for the test's length."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            yield other.pid
        finally:
            other.kill()


async def test_another_running_process_s_temporary_files_are_left_alone(
    tmp_path: Path, fake_openai: FakeOpenAI, other_pid: int
) -> None:
    """A second Atelier (another process, or another batch of this one) starting a batch into
    the same folder leaves the files being written there alone: it removed them, and the
    first process's next rename failed ("The folder … no longer exists"), stopping its batch
    (tests/store/test_processes.py, seen once in CI)."""
    engine, _, bid, _ = _setup(tmp_path, fake_openai, ["a"])
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    name = ".x.png.atelier-{}-0123456789abcdef.tmp"
    writing = [out / name.format(pid) for pid in (other_pid, os.getpid())]
    dead = out / name.format(_dead_pid())
    for f in [*writing, dead]:
        f.write_bytes(b"partial")
    report = await engine.run(bid)
    assert report.succeeded == 1
    assert all(f.exists() for f in writing)
    assert not dead.exists()


async def test_crash_leftovers_are_adopted_not_requested(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    engine, store, bid, _ = _setup(tmp_path, fake_openai, ["a", "b"])
    await engine.run(bid)
    assert len(fake_openai.requests()) == 2
    # Simulate a crash between the file rename and the store update: the store forgets.
    with store.tx() as db:
        db.execute("DELETE FROM images")
        db.execute("UPDATE jobs SET status='running', owner_pid=999999")
    leftover = tmp_path / "out" / f".img-0.png.atelier-{_dead_pid()}-0123456789abcdef.tmp"
    leftover.write_bytes(b"partial")
    users = [tmp_path / "out" / n for n in ("notes.atelier-tmp", ".draft.tmp", "x.atelier-1-2.tmp")]
    for f in users:  # the user's own files, whatever their names look like
        f.write_bytes(b"mine")
    report = await engine.run(bid)
    assert report.succeeded == 2
    assert len(fake_openai.requests()) == 2  # nothing requested again
    assert not leftover.exists()
    assert all(f.read_bytes() == b"mine" for f in users)


async def test_draft_provider_renders_requested_size_and_format(tmp_path: Path) -> None:
    engine, _, bid, _ = _setup(tmp_path, None, ["急須 on a table"], fmt="webp")
    report = await engine.run(bid)
    with Image.open(report.results[0].output_paths[0]) as im:
        assert (im.format, im.size) == ("WEBP", (1024, 1024))
    assert report.total_cost == 0.0


@pytest.mark.parametrize("fmt", ["png", "webp"])
async def test_transparent_background_is_kept(
    tmp_path: Path, fake_openai: FakeOpenAI, fmt: str
) -> None:
    engine, _, bid, _ = _setup(tmp_path, None, ["logo"], fmt=fmt, transparent=True)
    report = await engine.run(bid)
    with Image.open(report.results[0].output_paths[0]) as im:
        assert im.mode == "RGBA" and im.getpixel((0, 0))[3] == 0  # type: ignore[index]
    engine2, _, bid2, _ = _setup(tmp_path / "o", fake_openai, ["logo"], fmt=fmt, transparent=True)
    report2 = await engine2.run(bid2)
    assert fake_openai.requests("logo")[0].body["background"] == "transparent"
    with Image.open(report2.results[0].output_paths[0]) as im:
        assert im.mode == "RGBA"
