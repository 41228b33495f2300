"""Small things a designer sees (issue 28): the Pause button of a resumed batch, the progress
bar after Cancel, the window's first size on a small screen, copied jobs in the progress
table, and an error reason stored in one language shown in another."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QSize, Qt

from atelier.core import i18n
from atelier.core.models import JobSpec, RunSettings
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch
from tests.support.qt import wait_until


def _slow_batch(
    store: Store, out: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> int:
    """A stored OpenAI batch of ``jobs`` jobs against the fake server, each request 0.25 s,
    two at a time: long enough to pause, resume and cancel it while it runs."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake.base_url)
    fake.state.latency = lambda: 0.25
    settings = RunSettings(
        provider="openai", model="gpt-image-1.5", quality="low", concurrency=2, reuse=False
    )
    specs = [JobSpec(prompt=f"a cup, view {i}", output_path=f"cup-{i}.png") for i in range(jobs)]
    return store_batch(store, settings, specs, out, name="slow", estimated_cost=0.0)


def test_a_resumed_batch_offers_pause_and_pauses(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch left paused (an earlier run stopped) and resumed from History runs: its
    button reads "Pause", and clicking it pauses the run."""
    store = window.store
    bid = _slow_batch(store, tmp_path / "out", fake_openai, monkeypatch, 40)
    store.set_batch_status(bid, "paused")  # as an interrupted run leaves it
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.resume_batch(bid)

    async def running() -> None:
        await wait_until(
            lambda: any(j.status == "completed" for j in window.progress.jobs_model.jobs),
            30,
            "the resumed batch to make an image",
        )

    qloop.run_until_complete(running())
    assert window.acts.pause.isEnabled()
    assert window.acts.pause.text() == "Pause"
    window.acts.pause.trigger()

    async def paused() -> None:
        await wait_until(
            lambda: (
                window.acts.pause.text() == "Resume"
                and window.progress.counts_label.text().startswith("Paused")
            ),
            10,
            "the pause",
        )

    qloop.run_until_complete(paused())
    assert store.batch_status(bid) == "paused"
    window.acts.pause.trigger()  # and on again
    qloop.run_until_complete(
        wait_until(lambda: window.acts.pause.text() == "Pause", 10, "the resume")
    )
    assert store.batch_status(bid) == "running"
    window.cancel_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 30, "the cancel"))


def test_a_cancelled_batch_shows_what_was_done(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancel after a few images: the bar shows those of the total, not a full bar, and the
    counts say how many were cancelled."""
    store = window.store
    bid = _slow_batch(store, tmp_path / "out", fake_openai, monkeypatch, 30)
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.open_batch(bid)
    window.run_batch(bid)
    jobs = window.progress.jobs_model.jobs

    qloop.run_until_complete(
        wait_until(lambda: sum(j.status == "completed" for j in jobs) >= 2, 30, "two images")
    )
    window.cancel_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 30, "the cancel"))
    counts = window.progress.jobs_model.counts()
    made = counts.get("completed", 0) + counts.get("failed", 0)
    bar = window.progress.progress_bar
    assert counts.get("cancelled", 0) > 0
    assert (bar.value(), bar.maximum()) == (made, 30)
    assert bar.value() < bar.maximum()
    assert bar.text() == f"{made} / 30 jobs"
    assert f"{counts['cancelled']} cancelled" in window.progress.counts_label.text()


def test_the_window_fits_a_small_screen(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, atelier_home: Path
) -> None:
    """The window opens within the screen's available area (offscreen: 800×800), and the
    size rule gives a 1280×800 laptop (a 28 px panel) a window that fits with its frame."""
    from atelier.studio.app import build_window

    win, store = build_window()
    try:
        qtbot.addWidget(win)
        room = win.screen().availableGeometry().size()
        assert win.width() <= room.width() and win.height() <= room.height(), (
            f"{win.width()}×{win.height()} on a {room.width()}×{room.height()} screen"
        )
    finally:
        win.close()
        store.close()
    from atelier.studio.look.fit import window_size

    laptop = window_size(QSize(1280, 772))
    assert laptop.width() < 1280 and laptop.height() < 772
    assert laptop.width() >= 1200 and laptop.height() >= 700
    assert window_size(QSize(2560, 1400)) == QSize(1400, 880)


def test_copied_jobs_say_copied(qtmodeltester: Any, qapp: Any) -> None:
    """A job finished from an identical earlier image (no request, attempts 0) reads "copied"
    in the Attempts column; a made one shows its attempts."""
    from atelier.studio.models import JobsModel, JobView

    model = JobsModel()
    model.set_jobs(
        [
            JobView(1, 0, "a cup", "cup.png", "completed", attempts=1),
            JobView(2, 1, "a cup", "cup-2.png", "completed", attempts=0),
            JobView(3, 2, "a mug", "mug.png", "pending", attempts=0),
        ]
    )
    qtmodeltester.check(model)

    def cell(row: int) -> str:
        return str(model.data(model.index(row, 4, QModelIndex()), Qt.ItemDataRole.DisplayRole))

    assert [cell(0), cell(1), cell(2)] == ["1", "copied", "0"]
    tip = model.data(model.index(1, 4, QModelIndex()), Qt.ItemDataRole.ToolTipRole)
    assert tip and "Copied" in tip


def test_a_stored_error_follows_the_language(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jobs cancelled while the window was in English read Japanese in a window opened in
    Japanese (the store keeps the reason's message and fields, rendered when shown)."""
    from atelier.studio.models.gallery import load_views

    store = window.store
    bid = _slow_batch(store, tmp_path / "out", fake_openai, monkeypatch, 20)
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.open_batch(bid)
    window.run_batch(bid)
    qloop.run_until_complete(
        wait_until(
            lambda: any(j.status == "running" for j in window.progress.jobs_model.jobs),
            30,
            "a request",
        )
    )
    window.cancel_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 30, "the cancel"))
    english = [j.error for j in load_views(store, bid)[0] if j.status == "cancelled"]
    assert english and set(english) == {"Cancelled by the user."}
    i18n.use_language("ja")
    try:
        japanese = {j.error for j in load_views(store, bid)[0] if j.status == "cancelled"}
        assert japanese == {i18n.tr("Cancelled by the user.")}
        assert japanese != {"Cancelled by the user."}
    finally:
        i18n.use_language("en")


def test_studio_sh_installs_only_when_needed(tmp_path: Path) -> None:
    """``scripts/studio.sh`` runs ``scripts/setup.sh`` on the first launch, not on the next
    ones, and again when ``pyproject.toml`` changes or ``ATELIER_REINSTALL=1`` asks; every
    launch ends in ``.venv/bin/atelier`` with its arguments. (``setup.sh`` and the program
    are stand-ins here: no network, and no window.)"""
    import os
    import shutil
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    from tests.support.record import record

    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "studio.sh", repo / "scripts" / "studio.sh")
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    calls = tmp_path / "calls"
    (repo / "scripts" / "setup.sh").write_text(f'echo "$1" >> "{calls}"\n')
    venv_bin = repo / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (venv_bin / "atelier").write_text('#!/bin/sh\necho "atelier $*"\n')
    (venv_bin / "atelier").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "ATELIER_REINSTALL"}

    def launch(**extra: str) -> tuple[str, float]:
        t0 = time.monotonic()
        out = subprocess.run(
            ["bash", str(repo / "scripts" / "studio.sh"), "--version"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return out, time.monotonic() - t0

    def installs() -> list[str]:
        return calls.read_text().split() if calls.exists() else []

    out, _ = launch()
    assert out.strip() == "atelier --version" and installs() == ["studio"]
    out, again_s = launch()
    assert out.strip() == "atelier --version" and installs() == ["studio"]  # no pip this time
    with (repo / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    launch()
    assert installs() == ["studio", "studio"]
    launch()
    assert len(installs()) == 2
    launch(ATELIER_REINSTALL="1")
    assert len(installs()) == 3
    record("studio.sh: the check before starting the program", seconds=round(again_s, 3))
    assert again_s < 2.0, f"the launch without an install took {again_s:.2f} s"
