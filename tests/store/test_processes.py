"""Crashes and concurrency across processes: SIGKILL at 20 moments; two instances, one store."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from atelier.store import Store
from tests.conftest import start_cli_run
from tests.fakes.openai_server import FakeOpenAI
from tests.support.record import record

KILLS = int(os.environ.get("ATELIER_CRASH_KILLS", "20"))


def _config(tmp_path: Path, n: int, concurrency: int) -> Path:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "prompt": f"shot {i:03d}",
                        "output_path": f"s{i:03d}.png",
                        "quality": "low",
                        "size": "1024x1536",
                    }
                    for i in range(n)
                ],
                "max_concurrent": concurrency,
            }
        )
    )
    return cfg


def _why(stdout: str) -> str:
    """What a run's JSON report says stopped it, or the end of what it printed."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return stdout[-500:]
    return f"stopped: {report['stopped_reason']}, failed: {report['failed']}"


def _check_images(out: Path, n: int) -> None:
    names = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert names == [f"s{i:03d}.png" for i in range(n)]
    assert not [p for p in out.iterdir() if "tmp" in p.name]
    for name in names:
        with Image.open(out / name) as im:
            im.load()
            assert (im.format, im.size) == ("PNG", (1024, 1536))


@pytest.mark.slow
def test_sigkill_at_20_random_moments(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    n = 150  # large enough that every kill lands mid-batch
    fake_openai.latency_s = 0.3
    cfg, out = _config(tmp_path, n, 2), tmp_path / "out"
    rnd = random.Random(20261121)
    kills = 0
    for _ in range(KILLS):
        proc = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
        time.sleep(rnd.uniform(0.5, 2.0))  # start-up is ~0.6 s: some kills land before any request
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    final = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
    stdout, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["succeeded"] == n

    # every job completed exactly once in the store, one image row each
    store = Store(atelier_home / "atelier.sqlite3")
    jobs = store.jobs(report["batch_id"])
    assert [j.status for j in jobs] == ["completed"] * n
    images = store.images(report["batch_id"])
    assert sorted(i.job_id for i in images) == sorted(j.id for j in jobs)
    store.close()
    _check_images(out, n)
    # no image was requested again after its file was written
    late = []
    for i in range(n):
        written = (out / f"s{i:03d}.png").stat().st_mtime
        late += [r for r in fake_openai.requests(f"shot {i:03d}") if r.at > written + 0.01]
    assert late == [], [r.prompt for r in late]
    counts = fake_openai.counts_by_prompt()
    paid_twice = sum(c - 1 for c in counts.values())
    record(
        f"SIGKILL at {kills} random moments of a {n}-image batch, resumed each time",
        runs=KILLS + 1,
        kills=kills,
        jobs=n,
        images_lost=0,
        paid_twice=paid_twice,
        requested_after_written=len(late),
    )
    # every kill landed mid-batch, and only requests in flight at a kill can be paid twice
    assert kills == KILLS
    assert paid_twice <= 2 * kills


def test_two_instances_one_store_never_run_a_job_twice(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    n = 40
    fake_openai.latency_s = 0.1
    cfg, out = _config(tmp_path, n, 4), tmp_path / "out"
    a = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
    time.sleep(0.3)
    b = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
    outs = [p.communicate(timeout=120) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, [(o[1][-500:], _why(o[0])) for o in outs]
    reports = [json.loads(o[0]) for o in outs]
    assert reports[0]["batch_id"] == reports[1]["batch_id"]
    assert all(r["succeeded"] == n for r in reports)
    counts = fake_openai.counts_by_prompt()
    assert len(counts) == n and set(counts.values()) == {1}, counts
    _check_images(out, n)
    record(
        "two Atelier processes, one ATELIER_HOME, same 40-job batch",
        runs=2,
        jobs=n,
        images_lost=0,
        paid_twice=sum(c - 1 for c in counts.values()),
    )
