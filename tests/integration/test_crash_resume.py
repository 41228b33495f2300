"""SIGKILL the command-line run mid-batch, run it again, and check nothing is lost or re-paid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from tests.conftest import FAKE_KEY, REPO
from tests.fakes.openai_server import FakeOpenAI

JOBS = 30


def _cli(cfg: Path, out: Path, fake: FakeOpenAI, home: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "ATELIER_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "run",
            str(cfg),
            "--provider",
            "openai",
            "--base-url",
            fake.base_url,
            "--output-dir",
            str(out),
            "--format",
            "json",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _images(out: Path) -> set[str]:
    return {p.name for p in out.glob("*.png")}


def test_sigkill_mid_batch_then_resume(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    fake_openai.state.latency_s = 0.12
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "prompt": f"product shot number {i:02d}",
                        "output_path": f"p{i:02d}.png",
                        "quality": "low",
                    }
                    for i in range(JOBS)
                ],
                "max_concurrent": 3,
            }
        )
    )
    out = tmp_path / "out"
    proc = _cli(cfg, out, fake_openai, atelier_home)
    deadline = time.monotonic() + 60
    while len(_images(out) if out.exists() else ()) < 8:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written_before = _images(out)
    requests_before = len(fake_openai.requests())
    assert 8 <= len(written_before) < JOBS

    proc2 = _cli(cfg, out, fake_openai, atelier_home)
    stdout, stderr = proc2.communicate(timeout=120)
    assert proc2.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["succeeded"] == JOBS and report["total"] == JOBS

    # every image exists exactly once, is a valid PNG of the requested size, no temp files
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("atelier-report."))
    assert files == [f"p{i:02d}.png" for i in range(JOBS)]
    for name in files:
        with Image.open(out / name) as im:
            im.load()
            assert (im.format, im.size) == ("PNG", (1024, 1024))
    # no image already written before the kill was requested again
    second_run = fake_openai.requests()[requests_before:]
    asked_again = {r.prompt for r in second_run}
    for name in written_before:
        i = int(name[1:3])
        assert f"product shot number {i:02d}" not in asked_again
    # at most the few in flight at the kill moment were paid twice
    counts = fake_openai.counts_by_prompt()
    assert len(counts) == JOBS and sum(1 for n in counts.values() if n > 1) <= 3
