"""SIGKILL the command-line run mid-batch, run it again, and check nothing is lost or re-paid."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from PIL import Image

from tests.conftest import start_cli_run
from tests.fakes.openai_server import FakeOpenAI

JOBS = 30


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
    proc = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
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

    proc2 = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
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
