"""Resume without paying again on providers that answer with a job id (fal, Replicate, BFL,
ComfyUI): SIGKILL the command-line run while its jobs wait remotely, run it again, and the
fakes record no second submission for those jobs while every image arrives; the report
counts nothing lost in flight. A remote job that is gone by then is submitted anew."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bfl import BFLDialect
from tests.fakes.comfyui import ComfyUIDialect
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.fakes.replicate import ReplicateDialect

REPO = Path(__file__).resolve().parents[2]
JOBS = 3
KEY = "remote-key-123456"
WORKFLOW = REPO / "tests" / "data" / "comfy-sdxl-api.json"


def _handles(home: Path) -> int:
    """Attempts whose remote job the run has stored (a submission whose answer the run has
    not read yet is in flight, not queued: it may be sent again)."""
    import sqlite3

    db = home / "atelier.sqlite3"
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as c:
        try:
            return int(
                c.execute("SELECT COUNT(*) FROM attempts WHERE remote_job IS NOT NULL").fetchone()[
                    0
                ]
            )
        except sqlite3.OperationalError:
            return 0


def _slow(fake: FakeServer) -> None:
    """Each job waits remotely for several polls (the CLI polls about once a second)."""
    d: Any = fake.dialect
    if isinstance(d, ComfyUIDialect):
        d.step_s = 0.4  # 4 steps: 1.6 s a prompt, one at a time as one GPU
    else:
        d.polls_needed = 4


CASES: dict[str, tuple[type, str | None, Callable[[Any], int]]] = {
    "fal": (FalDialect, "FAL_KEY", lambda d: len(d.jobs)),
    "replicate": (ReplicateDialect, "REPLICATE_API_TOKEN", lambda d: len(d.preds)),
    "bfl": (BFLDialect, "BFL_API_KEY", lambda d: len(d.tasks)),
    "comfyui": (ComfyUIDialect, None, lambda d: len(d.pending) + (1 if d.running else 0)),
}


def _start(provider: str, fake: FakeServer, cfg: Path, out: Path, home: Path) -> subprocess.Popen[str]:  # fmt: skip
    env_var = CASES[provider][1]
    env = {**os.environ, "ATELIER_HOME": str(home), "PYTHONPATH": str(REPO)}
    if env_var:
        env[env_var] = KEY
    extra = ["--workflow", str(WORKFLOW)] if provider == "comfyui" else []
    return subprocess.Popen(
        [sys.executable, "-m", "atelier.cli", "run", str(cfg), "--provider", provider,
         "--base-url", fake.url, "--output-dir", str(out), "--format", "json",
         "--max-concurrent", str(JOBS), *extra],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("provider", sorted(CASES))
def test_sigkill_while_queued_remotely_then_resume(
    provider: str, tmp_path: Path, atelier_home: Path
) -> None:
    dialect, env_var, waiting = CASES[provider]
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": f"linen napkin {i}", "output_path": f"n{i}.png"} for i in range(JOBS)]}))  # fmt: skip
    out = tmp_path / "out"
    with FakeServer(dialect, api_key=KEY if env_var else None) as fake:
        _slow(fake)
        first = _start(provider, fake, cfg, out, atelier_home)
        deadline = time.monotonic() + 30
        while _handles(atelier_home) < JOBS:  # every job submitted and its id kept
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the jobs were not all submitted"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert waiting(fake.dialect) >= 1  # still waiting remotely when killed
        assert not list(out.glob("*.png")) or len(list(out.glob("*.png"))) < JOBS

        second = _start(provider, fake, cfg, out, atelier_home)
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 0, stderr
        report = json.loads(stdout)
        counts = fake.counts_by_prompt()

    assert counts == {f"linen napkin {i}": 1 for i in range(JOBS)}  # none submitted twice
    assert report["succeeded"] == JOBS and report["lost_in_flight"] == 0
    assert sorted(p.name for p in out.glob("*.png")) == [f"n{i}.png" for i in range(JOBS)]


def test_a_remote_job_gone_by_the_resume_is_submitted_anew(
    tmp_path: Path, atelier_home: Path
) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": "linen napkin", "output_path": "n.png"}]}))
    out = tmp_path / "out"
    with FakeServer(FalDialect, api_key=KEY) as fake:
        _slow(fake)
        first = _start("fal", fake, cfg, out, atelier_home)
        deadline = time.monotonic() + 30
        while not _handles(atelier_home):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        fake.dialect.jobs.clear()  # type: ignore[attr-defined]  # the queue forgot it
        second = _start("fal", fake, cfg, out, atelier_home)
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 0, stderr
        counts = fake.counts_by_prompt()
    assert counts == {"linen napkin": 2}  # followed, found gone, sent once more
    assert json.loads(stdout)["succeeded"] == 1 and (out / "n.png").is_file()


def test_quitting_the_studio_leaves_queued_jobs_to_follow(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window's quit (``EngineThread.stop``) interrupts the run without cancelling the
    jobs fal holds; the next run follows them: one submission per job, no cancel sent."""
    import asyncio

    from atelier.core import paths
    from atelier.core.models import JobSpec, RunSettings
    from atelier.core.settings import Settings
    from atelier.engine.engine import Engine
    from atelier.engine.runner import EngineThread
    from atelier.engine.service import make_provider_factory
    from atelier.providers.registry import capabilities_of
    from atelier.store import Store
    from tests.support.batches import store_batch

    monkeypatch.setenv("FAL_KEY", KEY)
    with FakeServer(FalDialect, api_key=KEY) as fake:
        _slow(fake)
        monkeypatch.setenv("ATELIER_FAL_BASE_URL", fake.url)
        store = Store(paths.store_path())
        rs = RunSettings(provider="fal", model=capabilities_of("fal").default_model, concurrency=JOBS)  # fmt: skip
        specs = [JobSpec(prompt=f"linen napkin {i}", output_path=f"n{i}.png") for i in range(JOBS)]
        bid = store_batch(store, rs, specs, tmp_path / "out")
        host = EngineThread(Engine(store, make_provider_factory(Settings())))
        host.run_batch(bid)
        deadline = time.monotonic() + 30
        while _handles(atelier_home) < JOBS:
            assert time.monotonic() < deadline, "the jobs were not all submitted"
            time.sleep(0.02)
        host.stop()  # the studio quits
        jobs = list(fake.dialect.jobs.values())  # type: ignore[attr-defined]
        assert len(jobs) == JOBS and not any(j.cancelled for j in jobs)
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
        counts = fake.counts_by_prompt()
        store.close()
    assert counts == {f"linen napkin {i}": 1 for i in range(JOBS)}
    assert report.succeeded == JOBS and report.lost_in_flight == 0
