"""Economy mode: batches through OpenAI's Batch API and Gemini's Batch Mode fakes (whose wire
is proved by the official ``openai`` and ``google-genai`` clients in ``test_batch_fakes``):
one provider batch (or the split the limits force), per-line failures retried per policy, a
quit and later collection, cancel, expiry, and every cost at half the list price."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.cli.main import run_command
from atelier.providers.economy.gemini_batch import GeminiBatchApi
from atelier.providers.economy.openai_batch import OpenAIBatchApi
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
GEMINI_KEY = "gemini-test-key"
# gpt-image-1.5, low, 1024x1024 as the fake bills it: text tokens at $5/1M, 272 image tokens
# at $32/1M (providers.md); the Batch API bills half.
LOW = 272 * 32 / 1e6


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _config(tmp_path: Path, n: int, quality: str = "low") -> Path:
    jobs = [
        {"prompt": f"studio photo of product {i:03d}", "quality": quality, "size": "1024x1024"}
        for i in range(n)
    ]
    cfg = tmp_path / "batch.json"
    cfg.write_text(json.dumps({"jobs": jobs}))
    return cfg


def _list_cost(prompt: str) -> float:
    return max(1, len(prompt) // 4) * 5 / 1e6 + LOW


def _openai(cfg: Path, fake: FakeOpenAI, out: Path, *extra: str) -> tuple[int, str, str]:
    return _run(
        "run", str(cfg), "--provider", "openai", "--model", "gpt-image-1.5", "--base-url",
        fake.base_url, "--output-dir", str(out), "--format", "json", "--economy",
        "--economy-poll-ms", "50", *extra,
    )  # fmt: skip


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)


@pytest.mark.usefixtures("openai_env")
def test_300_jobs_in_one_openai_batch_at_half_price_with_failed_lines_retried(
    tmp_path: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 jobs → one provider batch; a line answered 500 goes into the next provider batch
    (retried per policy), a line refused by moderation fails and is not retried; every other
    image is written and costs half its list price."""
    fake_openai.script_for("product 007", ["500"])
    fake_openai.script_for("product 123", ["moderation_blocked"])
    out = tmp_path / "out"
    code, stdout, err = _openai(_config(tmp_path, 300), fake_openai, out)
    report = json.loads(stdout)
    assert code == 1, err  # one job failed (moderation): exit 1, the rest made
    assert report["succeeded"] == 299 and report["failed"] == 1
    book = fake_openai.batches
    sizes = sorted(len(b.lines) for b in book.batches.values())
    assert sizes == [1, 300]  # the batch, then the retried line in the next one
    assert fake_openai.requests() == []  # nothing went through the synchronous API
    lines = book.lines_by_prompt()
    assert lines["studio photo of product 007"] == 2
    assert lines["studio photo of product 123"] == 1
    assert max(book.answered_by_prompt().values()) == 1  # nothing paid twice
    failed = next(r for r in report["results"] if r["status"] == "failed")
    assert failed["error_type"] == "content_policy"
    made = sorted(p.name for p in out.glob("*.png"))
    assert len(made) == 299
    for r in report["results"]:
        if r["status"] == "completed":
            assert r["cost"] == pytest.approx(_list_cost(r["prompt"]) / 2)
    listed = sum(_list_cost(r["prompt"]) for r in report["results"] if r["status"] == "completed")
    assert report["total_cost"] == pytest.approx(listed / 2)
    assert "waiting for OpenAI · submitted" in capsys.readouterr().err  # the progress lines


@pytest.mark.usefixtures("openai_env")
def test_a_failed_line_can_be_retried_at_once_synchronously(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_for("product 003", ["503"])
    code, stdout, err = _openai(
        _config(tmp_path, 12), fake_openai, tmp_path / "out", "--economy-retry", "now"
    )
    assert code == 0, err
    assert len(fake_openai.batches.batches) == 1
    sync = fake_openai.requests()
    assert [e.prompt for e in sync] == ["studio photo of product 003"]
    costs = {r["prompt"]: r["cost"] for r in json.loads(stdout)["results"]}
    retried = "studio photo of product 003"
    assert costs[retried] == pytest.approx(_list_cost(retried))  # the synchronous API: list price
    assert costs["studio photo of product 004"] == pytest.approx(_list_cost(retried) / 2)


@pytest.mark.usefixtures("openai_env")
def test_a_batch_over_the_line_limit_is_split(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the provider's limit (50,000 lines; 120 here) the jobs go into several batches."""
    monkeypatch.setattr(OpenAIBatchApi, "max_lines", 120)
    fake_openai.batches.max_lines = 120  # the fake refuses what the provider would
    code, stdout, err = _openai(_config(tmp_path, 300), fake_openai, tmp_path / "out")
    assert code == 0, err
    sizes = sorted(len(b.lines) for b in fake_openai.batches.batches.values())
    assert sizes == [60, 120, 120]
    assert json.loads(stdout)["succeeded"] == 300


@pytest.mark.usefixtures("openai_env")
def test_an_expired_batch_puts_its_unfinished_jobs_back(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    book = fake_openai.batches
    book.expire_next = [0.5]  # the first batch expires with half its lines done
    code, stdout, err = _openai(_config(tmp_path, 300), fake_openai, tmp_path / "out")
    assert code == 0, err
    first, second = sorted(book.batches.values(), key=lambda b: b.id)
    assert first.state == "expired" and first.answered == 150
    assert len(second.lines) == 150  # only the unfinished jobs, sent again
    assert max(book.answered_by_prompt().values()) == 1
    report = json.loads(stdout)
    assert report["succeeded"] == 300
    listed = sum(_list_cost(r["prompt"]) for r in report["results"])
    assert report["total_cost"] == pytest.approx(listed / 2)


@pytest.mark.usefixtures("openai_env")
def test_no_wait_submits_and_resume_collects_without_a_second_submission(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    """``--no-wait`` leaves once the provider batch holds every job (the quit); the batch
    finishes at the provider meanwhile; ``atelier resume`` collects it (the restart)."""
    book = fake_openai.batches
    book.hold = True
    out = tmp_path / "out"
    code, stdout, err = _openai(_config(tmp_path, 300), fake_openai, out, "--no-wait")
    assert code == 0, err
    assert json.loads(stdout)["status"] == "submitted"
    assert len(book.batches) == 1 and book.cancels == 0
    assert not list(out.glob("*.png"))
    store = Store(atelier_home / "atelier.sqlite3")
    try:
        (batch,) = store.batches()
        assert batch.status == "paused"
    finally:
        store.close()
    book.hold = False
    code, stdout, err = _run("resume", str(batch.id), "--format", "json")
    assert code == 0, err
    assert len(book.batches) == 1  # followed, not submitted again
    assert max(book.lines_by_prompt().values()) == 1
    assert len(list(out.glob("*.png"))) == 300
    assert json.loads(stdout)["succeeded"] == 300


@pytest.mark.usefixtures("openai_env")
def test_a_refused_batch_fails_its_jobs_with_the_reason(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """OpenAI ``failed`` (the input file did not validate) is not sent again and again."""
    fake_openai.batches.fail_next = 1
    code, stdout, err = _openai(_config(tmp_path, 5), fake_openai, tmp_path / "out")
    assert code == 1, err
    assert len(fake_openai.batches.batches) == 1
    report = json.loads(stdout)
    assert report["failed"] == 5
    assert {r["error_type"] for r in report["results"]} == {"invalid_request"}
    assert "the model is not available for batches" in report["results"][0]["error"]


def _sigterm_mid_wait(argv: list[str], env: dict[str, str], book: Any) -> tuple[str, str]:
    """Run ``atelier`` in its own process, SIGTERM it once the provider batch was polled, and
    return its output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atelier.cli", *argv],
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not any(b.polls for b in book.batches.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert book.batches, "no provider batch was created"
        proc.send_signal(signal.SIGTERM)
        return proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cancel_cancels_the_provider_batch(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """A stop (SIGTERM, the window's Cancel) while the provider batch runs cancels it there."""
    book = fake_openai.batches
    book.hold = True
    argv = [
        "run", str(_config(tmp_path, 20)), "--provider", "openai", "--base-url",
        fake_openai.base_url, "--output-dir", str(tmp_path / "o"), "--economy",
        "--economy-poll-ms", "50", "--format", "json",
    ]  # fmt: skip
    stdout, err = _sigterm_mid_wait(argv, {"OPENAI_API_KEY": FAKE_KEY}, book)
    assert book.cancels == 1, err
    (batch,) = book.batches.values()
    assert batch.state in ("cancelling", "cancelled")
    assert json.loads(stdout)["cancelled"] == 20


def test_the_estimate_shows_both_prices(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 10)
    base = ("run", str(cfg), "--provider", "openai", "--model", "gpt-image-1.5", "--estimate-only")
    code, out, _ = _run(*base)
    assert code == 0
    assert "$0.090 now · $0.045 economy, within 24 h" in out
    code, out, _ = _run(*base, "--economy", "--format", "json")
    doc = json.loads(out)
    assert doc["economy"] is True
    assert doc["economy_cost"] == pytest.approx(doc["estimated_cost"] / 2)
    code, _, err = _run(*base, "--economy", "draft")
    assert code == 2 and "--economy: draft has no batch API" in err
    code, _, err = _run("run", str(cfg), "--provider", "draft", "--no-wait", "--estimate-only")
    assert code == 2 and "--no-wait: only with --economy" in err
    code, _, err = _run("resume", "999")
    assert code == 2 and "batch 999: no such batch" in err


@pytest.mark.parametrize("source", ["inline", "file"])
def test_300_jobs_through_gemini_batch_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """Inline requests in one Gemini batch (or, over the inline limit, an uploaded request
    file with a results file back); a key answered twice is taken once; a line's UNAVAILABLE
    goes into the next batch; costs at half."""
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    if source == "file":  # 20 MB in production; 300 text requests are ~80 kB
        monkeypatch.setattr(GeminiBatchApi, "inline_max_bytes", 10_000)
    with FakeServer(GeminiDialect, api_key=GEMINI_KEY) as fake:
        book = fake.batches
        book.repeat_lines = True
        fake.script_for("product 042", ["503"])
        out = tmp_path / "out"
        code, stdout, err = _run(
            "run", str(_config(tmp_path, 300, "auto")), "--provider", "gemini", "--model",
            "gemini-2.5-flash-image", "--base-url", f"{fake.url}/v1beta", "--output-dir",
            str(out), "--format", "json", "--economy", "--economy-poll-ms", "50",
        )  # fmt: skip
        assert code == 0, err
        sizes = sorted(len(b.lines) for b in book.batches.values())
        assert sizes == [1, 300]
        by_file = [bool(b.extra["file"]) for b in book.batches.values()]
        assert by_file == [source == "file", False]  # the 1-line retry fits inline
        assert fake.requests() == []
        report = json.loads(stdout)
        assert report["succeeded"] == 300
        assert len(list(out.glob("*.png"))) == 300
        # gemini-2.5-flash-image: 1290 output tokens at $30/1M = $0.0387 (providers.md), half
        assert {round(r["cost"], 6) for r in report["results"]} == {round(1290 * 30 / 1e6 / 2, 6)}


def test_quitting_the_studio_mid_wait_leaves_the_provider_batch_to_collect(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window's quit (``EngineThread.stop``) while OpenAI holds the batch cancels nothing;
    the next start collects the same provider batch (days later, as far as the store knows)."""
    import asyncio

    from atelier.core import paths
    from atelier.core.models import JobSpec, RunSettings
    from atelier.core.settings import Settings
    from atelier.engine.engine import Engine
    from atelier.engine.runner import EngineThread
    from atelier.engine.service import make_provider_factory
    from tests.engine.test_recovery import _handles
    from tests.support.batches import store_batch

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    book = fake_openai.batches
    book.hold = True
    store = Store(paths.store_path())
    rs = RunSettings(
        provider="openai", model="gpt-image-1.5", economy=["openai"], economy_poll_ms=50
    )
    specs = [
        JobSpec(prompt=f"linen napkin {i}", quality="low", output_path=f"n{i}.png")
        for i in range(30)
    ]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    try:
        host = EngineThread(Engine(store, make_provider_factory(Settings())))
        host.run_batch(bid)
        deadline = time.monotonic() + 30
        while _handles(atelier_home) < 30:
            assert time.monotonic() < deadline, "the jobs were not all submitted"
            time.sleep(0.02)
        host.stop()  # the studio quits
        assert book.cancels == 0 and len(book.batches) == 1
        book.hold = False
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    finally:
        store.close()
    assert len(book.batches) == 1 and max(book.lines_by_prompt().values()) == 1
    assert report.succeeded == 30 and report.lost_in_flight == 0
    # each job's cost is kept to the micro-dollar
    assert report.total_cost == pytest.approx(
        sum(_list_cost(s.prompt) for s in specs) / 2, abs=3e-5
    )


# ---- the same through Gemini's Batch Mode ---------------------------------------------------
GEMINI_IMAGE = 1290 * 30 / 1e6  # gemini-2.5-flash-image: 1290 output tokens at $30/1M


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    with FakeServer(GeminiDialect, api_key=GEMINI_KEY) as fake:
        yield fake


def _gemini_argv(cfg: Path, fake: FakeServer, out: Path) -> list[str]:
    return [
        "run", str(cfg), "--provider", "gemini", "--model", "gemini-2.5-flash-image",
        "--base-url", f"{fake.url}/v1beta", "--output-dir", str(out), "--format", "json",
        "--economy", "--economy-poll-ms", "50",
    ]  # fmt: skip


def test_gemini_no_wait_then_resume_collects_the_same_batch(
    tmp_path: Path, gemini: FakeServer, atelier_home: Path
) -> None:
    book = gemini.batches
    book.hold = True
    out = tmp_path / "out"
    code, stdout, err = _run(
        *_gemini_argv(_config(tmp_path, 300, "auto"), gemini, out), "--no-wait"
    )
    assert code == 0, err
    assert json.loads(stdout)["status"] == "submitted" and book.cancels == 0
    book.hold = False
    code, stdout, err = _run("resume", "1", "--format", "json")
    assert code == 0, err
    assert len(book.batches) == 1 and max(book.lines_by_prompt().values()) == 1
    report = json.loads(stdout)
    assert report["succeeded"] == 300 and len(list(out.glob("*.png"))) == 300
    assert report["total_cost"] == pytest.approx(300 * GEMINI_IMAGE / 2, abs=1e-4)


def test_gemini_expired_batch_puts_its_unfinished_jobs_back(
    tmp_path: Path, gemini: FakeServer
) -> None:
    book = gemini.batches
    book.expire_next = [0.5]
    code, stdout, err = _run(*_gemini_argv(_config(tmp_path, 300, "auto"), gemini, tmp_path / "o"))
    assert code == 0, err
    first, second = sorted(book.batches.values(), key=lambda b: b.id)
    assert first.state == "expired" and len(second.lines) == 150
    assert max(book.answered_by_prompt().values()) == 1
    assert json.loads(stdout)["succeeded"] == 300


def test_gemini_cancel_cancels_the_provider_batch(tmp_path: Path, gemini: FakeServer) -> None:
    book = gemini.batches
    book.hold = True
    argv = _gemini_argv(_config(tmp_path, 20, "auto"), gemini, tmp_path / "o")
    stdout, err = _sigterm_mid_wait(argv, {"GEMINI_API_KEY": GEMINI_KEY}, book)
    assert book.cancels == 1, err
    (batch,) = book.batches.values()
    assert batch.state in ("cancelling", "cancelled")
    assert json.loads(stdout)["cancelled"] == 20
