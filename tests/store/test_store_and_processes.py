"""Processes and the store: SIGTERM stops only the jobs of the process that got it; a damaged
or unusable store is named with what to do and moved aside (never deleted) only when asked;
ATELIER_HOME is private; a reader that goes away early is not an error."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atelier.core import paths
from atelier.core.settings import Settings
from atelier.store import Store
from atelier.store.db import StoreError
from tests.conftest import FAKE_KEY, REPO, start_cli_run
from tests.fakes.openai_server import FakeOpenAI
from tests.support.record import record

FIXTURE = REPO / "tests" / "data" / "store-v0.sqlite"


def _config(tmp_path: Path, n: int) -> Path:
    cfg = tmp_path / "batch.json"
    jobs = [
        {"prompt": f"shot {i:03d}", "output_path": f"s{i:03d}.png", "quality": "low"}
        for i in range(n)
    ]
    cfg.write_text(json.dumps({"jobs": jobs, "max_concurrent": 4}), encoding="utf-8")
    return cfg


@pytest.mark.slow
@pytest.mark.timing  # two processes racing a SIGTERM: alone, not beside a loaded worker
def test_sigterm_stops_only_the_jobs_of_that_process(
    tmp_path: Path, fake_openai: FakeOpenAI, atelier_home: Path
) -> None:
    n = 40
    # Slow responses: A holds requests in flight for a whole second at a time, so it cannot
    # finish its share of the batch while B is still starting on a loaded machine.
    fake_openai.latency_s = 1.0
    cfg, out = _config(tmp_path, n), tmp_path / "out"
    a = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
    deadline = time.monotonic() + 60
    while not _holds_jobs(atelier_home, a.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    b = start_cli_run(cfg, out, fake_openai.base_url, atelier_home)
    # A is stopped only once B works on the batch too (not after a fixed count of requests,
    # which A alone could reach before B has started).
    while not _holds_jobs(atelier_home, b.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _holds_jobs(atelier_home, a.pid), "A holds no jobs when it is stopped"
    a.send_signal(signal.SIGTERM)
    a_out, a_err = a.communicate(timeout=60)
    b_out, b_err = b.communicate(timeout=120)
    assert "Traceback" not in a_err + b_err
    ra, rb = json.loads(a_out), json.loads(b_out)
    assert ra["stopped_reason"] and "SIGTERM" in ra["stopped_reason"]  # it says why
    held = [r for r in rb["results"] if r["status"] == "cancelled"]
    assert 0 < len(held) <= 4  # only what A had in flight (its concurrency)
    assert all("SIGTERM" in (r["error"] or "") for r in held)
    assert rb["succeeded"] == n - len(held) and rb["pending"] == 0  # B carried on to the end
    record("SIGTERM to one of two processes on one batch", runs=2, jobs=n, cancelled_elsewhere=0)


def _holds_jobs(home: Path, pid: int) -> bool:
    """Whether the process ``pid`` holds running jobs in the store under ``home`` (read
    directly: the test must not open the store as a third process that owns anything)."""
    db = home / "atelier.sqlite3"
    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as c:
            row = c.execute(
                "SELECT count(*) FROM jobs WHERE owner_pid=? AND status='running'", (pid,)
            ).fetchone()
    except sqlite3.Error:  # the schema is still being made
        return False
    return bool(row and row[0])


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ATELIER_HOME": str(home),
        "OPENAI_API_KEY": FAKE_KEY,
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "atelier.cli", *argv],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_named_and_moved_aside_only_when_asked(
    tmp_path: Path, data_dir: Path, damage: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = home / "atelier.sqlite3"
    if damage == "garbage":
        store.write_bytes(os.urandom(50_000))
    else:
        store.write_bytes(FIXTURE.read_bytes()[:6000])
    before = store.read_bytes()
    cfg = str(data_dir / "batch-configs" / "batch-simple.json")
    args = ["run", cfg, "--provider", "draft", "--output-dir", str(tmp_path / "out")]
    res = _cli(home, *args)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert str(store) in res.stderr and "--move-damaged-store" in res.stderr
    assert store.read_bytes() == before  # nothing was changed without consent
    res = _cli(home, *args, "--move-damaged-store")
    assert res.returncode == 0, res.stderr
    kept = list(home.glob("atelier.sqlite3.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == before  # moved aside, never deleted
    record(f"a {damage} store", runs=2, tracebacks=0, stores_deleted=0)


def test_a_missing_wal_after_a_kill_opens(tmp_path: Path) -> None:
    path = tmp_path / "atelier.sqlite3"
    shutil.copy(FIXTURE, path)
    store = Store(path)
    store.set_batch_status(1, "running")  # written to the WAL
    os.unlink(f"{path}-wal")  # the WAL is gone with the process that held it
    store._db.close()
    again = Store(path)
    assert [b.id for b in again.batches()] == [2, 1]
    again.close()


def test_the_window_moves_a_damaged_store_aside_only_with_consent(atelier_home: Path) -> None:
    from atelier.studio.widgets.questions import open_store

    atelier_home.mkdir(parents=True, exist_ok=True)
    paths.store_path().write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreError, match="is damaged"):
        open_store(lambda e: False)
    assert paths.store_path().read_bytes().startswith(b"not a database")
    asked: list[str] = []
    store = open_store(lambda e: asked.append(str(e)) or True)
    assert asked and "atelier.sqlite3" in asked[0]
    assert store.batches() == []
    store.close()
    assert len(list(atelier_home.glob("atelier.sqlite3.damaged-*"))) == 1


def test_an_unusable_atelier_home_is_said_plainly(tmp_path: Path, data_dir: Path) -> None:
    cfg = str(data_dir / "batch-configs" / "batch-simple.json")
    blocked = tmp_path / "a-file"
    blocked.write_text("x", encoding="utf-8")
    for home in (blocked / "home", Path("/proc/atelier-home")):
        res = _cli(home, "run", cfg, "--provider", "draft", "--output-dir", str(tmp_path / "out"))
        assert res.returncode == 2, res.stderr
        assert (
            "Traceback" not in res.stderr
            and str(home) in res.stderr
            and "ATELIER_HOME" in res.stderr
        )


def test_atelier_home_and_its_files_are_private(tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "fresh-home"
    cfg = str(data_dir / "batch-configs" / "batch-simple.json")
    res = _cli(home, "run", cfg, "--provider", "draft", "--output-dir", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    Settings().save(home / "settings.json")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for f in [home / "atelier.sqlite3", home / "settings.json", *(home / "logs").glob("*.log")]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path, data_dir: Path) -> None:
    home = tmp_path / "home"
    out = tmp_path / "out"
    env = {**os.environ, "ATELIER_HOME": str(home), "PYTHONPATH": str(REPO)}
    cfg = str(data_dir / "batch-configs" / "batch-multi-variant.json")
    cmd = f"{sys.executable} -m atelier.cli run {cfg} --provider draft --output-dir {out} --format json | head -c 20"
    res = subprocess.run(
        cmd, shell=True, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr
    assert (out / "atelier-report.json").is_file()


def test_a_full_atelier_home_is_said_plainly(tmp_path: Path, data_dir: Path) -> None:
    from tests.engine.test_budget_and_disk import tmpfs

    with tmpfs(tmp_path / "small-home", "64k") as home:
        (home / "filler").write_bytes(b"\0" * 60_000)  # leaves no room for a store
        cfg = str(data_dir / "batch-configs" / "batch-simple.json")
        res = _cli(home, "run", cfg, "--provider", "draft", "--output-dir", str(tmp_path / "out"))
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert "atelier.sqlite3" in res.stderr and "full" in res.stderr, res.stderr
