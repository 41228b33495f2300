"""The team queue from the command line: ``atelier run … --queue``, ``atelier worker`` and
``atelier queue …``, each in its own process as on different machines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis import REPO, RedisServer, start_worker


def _atelier(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATELIER_HOME": str(home), "PYTHONPATH": str(REPO)}
    env["ATELIER_LANGUAGE"] = "en"
    return subprocess.run(
        [sys.executable, "-m", "atelier.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_run_on_the_queue_worker_and_control(tmp_path: Path, redis_server: RedisServer) -> None:
    sheet = tmp_path / "items.csv"
    sheet.write_text("商品名\n青いマグ\n赤いマグ\n白いマグ\n", encoding="utf-8")
    designer = tmp_path / "designer"
    url = redis_server.url
    worker = start_worker(url, tmp_path / "gpu", {}, "--providers", "draft")
    try:
        done = _atelier(
            designer,
            "run",
            "--csv",
            str(sheet),
            "--prompt",
            "{商品名}",
            "--provider",
            "draft",
            "--output-dir",
            str(tmp_path / "out"),
            "--queue",
            url,
            "--format",
            "json",
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["succeeded"] == 3
        assert len(list((tmp_path / "out").glob("*.png"))) == 3
        listed = _atelier(designer, "queue", "list", "--queue", url, "--format", "json")
        (batch,) = json.loads(listed.stdout)
        assert batch["done"] == 3 and batch["total"] == 3 and batch["provider"] == "draft"
        assert batch["failed"] == 0
        for action in ("pause", "resume", "cancel"):
            r = _atelier(tmp_path / "teammate", "queue", action, batch["batch"], "--queue", url)
            assert r.returncode == 0, r.stderr
        assert (
            json.loads(
                _atelier(designer, "queue", "list", "--queue", url, "--format", "json").stdout
            )[0]["state"]
            == "cancelled"
        )
        r = _atelier(designer, "queue", "retry", batch["batch"], "--queue", url)
        assert r.returncode == 0 and "0 failed jobs" in r.stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "3 jobs completed, 0 made twice" in out


@pytest.mark.slow
def test_bad_queue_addresses_are_one_sentence(tmp_path: Path) -> None:
    r = _atelier(tmp_path, "worker", "--queue", "http://127.0.0.1:1/0")
    assert r.returncode == 2 and "not a Redis address" in r.stderr and "Traceback" not in r.stderr
    r = _atelier(tmp_path, "worker", "--queue", "redis://127.0.0.1:1/0", "--providers", "opnai")
    assert r.returncode == 2 and "opnai" in r.stderr and "openai" in r.stderr
    r = _atelier(tmp_path, "queue", "list", "--queue", "redis://127.0.0.1:1/0", timeout=200)
    assert r.returncode == 2 and "127.0.0.1:1" in r.stderr and "Traceback" not in r.stderr
