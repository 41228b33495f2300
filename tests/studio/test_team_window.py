"""The team queue in the window (issue 16): Settings → Team queue, a batch started on the queue
with live progress while an ``atelier worker`` process makes it, and the Team page listing the
team's batches with pause / resume / cancel."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atelier.core.models import RunSettings
from atelier.studio.models.team import TeamModel
from atelier.team.queue import TeamBatch
from tests.support.qt import wait_until
from tests.support.redis import RedisServer, start_worker


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def test_team_model(qtmodeltester: Any) -> None:
    model = TeamModel()
    model.set_batches(
        [
            TeamBatch(
                "a" * 32, "mugs", "draft", "draft", 3, "gpu1", 1.7e9, "queued", "", 1, RunSettings()
            ),
            TeamBatch(
                "b" * 32,
                "totes",
                "openai",
                "gpt-image-1",
                9,
                "mac",
                1.7e9,
                "halted",
                "The budget cap of $1.00 is reached",
                4,
                RunSettings(),
                2,
            ),
        ]
    )
    qtmodeltester.check(model)
    assert model.index(1, 4).data() == "Halted" and model.index(1, 5).data() == "4/9"
    assert model.index(1, 6).data() == "2" and model.index(0, 6).data() == "0"
    assert "budget" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    model.set_batches(
        [
            TeamBatch(
                "c" * 32, "x", "draft", "draft", 3, "m", 1.7e9, "queued", "", 3, RunSettings(), 0, 2
            )
        ]
    )
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == "2 unreadable entries set aside"


def test_a_batch_on_the_team_queue_from_the_window(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    redis_server: RedisServer,
) -> None:
    dlg = window.open_settings()
    dlg.team_queue.setText(redis_server.url)
    dlg.use_team_queue.setChecked(True)
    dlg._save()
    assert window.settings.use_team_queue and window.settings.team_queue == redis_server.url
    worker = start_worker(redis_server.url, tmp_path / "gpu", {}, "--providers", "draft")
    try:
        qtbot.mouseClick(window.sheet.sample_button, Qt.MouseButton.LeftButton)
        qloop.run_until_complete(
            wait_until(lambda: window.sheet.prompt().strip() != "", 30, "the sample")
        )
        window.batch.select_provider("draft")
        window.batch.output_edit.setText(str(tmp_path / "sample"))
        done: list[int] = []
        window.batch_done.connect(done.append)
        window.start_batch()
        qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the queued batch"))
        assert len(list((tmp_path / "sample").glob("*.png"))) == 3
        jobs = window.progress.jobs_model  # the live table, as for a local run
        assert jobs.rowCount() == 3
        qloop.run_until_complete(
            wait_until(lambda: {j.status for j in jobs.jobs} == {"completed"}, 10, "rows")
        )
        assert window.gallery.gallery_model.rowCount() == 3  # the images came back here
        window.tabs.setCurrentIndex(5)  # Team: loads the team's batches
        assert redis_server.url in window.team.address.text()
        team = window.team
        qloop.run_until_complete(wait_until(lambda: team.model.rowCount() == 1, 20, "the list"))
        assert team.model.index(0, 5).data() == "3/3"
        team.view.selectRow(0)
        qtbot.mouseClick(team.buttons[0], Qt.MouseButton.LeftButton)  # Pause
        qloop.run_until_complete(
            wait_until(lambda: team.model.index(0, 4).data() == "Paused", 20, "paused")
        )
        assert "Paused" in team.message.text()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)


def test_a_halted_batch_goes_on_under_a_raised_cap(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    redis_server: RedisServer,
) -> None:
    from atelier.core.models import JobSpec
    from atelier.team.queue import TeamQueue

    async def halted() -> str:
        q = TeamQueue.open(redis_server.url)
        rs = RunSettings(provider="openai", model="gpt-image-1", budget_usd=0.5)
        tid = await q.submit("mugs", rs, [(1, JobSpec(prompt="マグ", output_path="m.png"))])
        await q.halt(tid, "The budget cap of $0.50 is reached")
        await q.aclose()
        return tid

    tid = qloop.run_until_complete(halted())
    window.settings.team_queue = redis_server.url
    window.tabs.setCurrentIndex(5)
    team = window.team
    qloop.run_until_complete(wait_until(lambda: team.model.rowCount() == 1, 20, "the list"))
    asked: list[float | None] = []
    monkeypatch.setattr(team, "ask_cap", lambda current: asked.append(current) or 2.5)
    team.view.selectRow(0)
    (button,) = [b for b in team.buttons if b.text() == "Raise budget cap…"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(
        wait_until(lambda: team.model.index(0, 4).data() == "Queued", 20, "resumed")
    )
    assert asked == [0.5]  # it offered the batch's own cap to raise

    async def cap() -> float | None:
        q = TeamQueue.open(redis_server.url)
        try:
            return (await q.batch(tid)).settings.budget_usd
        finally:
            await q.aclose()

    assert qloop.run_until_complete(cap()) == 2.5


def test_a_teammate_sees_why_jobs_failed(
    window: Any, qloop: asyncio.AbstractEventLoop, redis_server: RedisServer
) -> None:
    from atelier.core.models import JobSpec
    from atelier.team.queue import Entry, TeamQueue, stream_of

    async def with_a_failure() -> str:
        q = TeamQueue.open(redis_server.url)
        rs = RunSettings(provider="draft", model="draft")
        spec = JobSpec(prompt="マグ", output_path="m.png")
        tid = await q.submit("mugs", rs, [(7, spec)])
        entry = Entry(stream_of("draft"), "0-1", tid, 7, spec)
        await q.complete(entry, {"kind": "failed", "error": "The prompt was refused."}, {})
        await q.aclose()
        return tid

    qloop.run_until_complete(with_a_failure())
    window.settings.team_queue = redis_server.url
    window.tabs.setCurrentIndex(5)
    team = window.team
    qloop.run_until_complete(wait_until(lambda: team.model.rowCount() == 1, 20, "the list"))
    assert team.model.index(0, 6).data() == "1"
    team.view.selectRow(0)
    qloop.run_until_complete(wait_until(lambda: bool(team.failures.text()), 20, "the failures"))
    assert team.failures.text() == "Job 7: The prompt was refused."


def test_a_batch_the_queue_lost_is_offered_again(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Issue 27 §3: Redis restarted without persistence; the window says so and offers to
    queue the batch again or make it here (here: made, no longer a team batch)."""
    from atelier.core.models import JobSpec
    from atelier.team.follow import submit_batch, team_ref
    from atelier.team.queue import TeamQueue
    from tests.support.batches import store_batch

    specs = [JobSpec(prompt=f"マグ {i}", output_path=f"m{i}.png", size="64x64") for i in range(2)]
    rs = RunSettings(provider="draft", model="draft")
    bid = store_batch(window.store, rs, specs, tmp_path / "out")

    async def submit() -> None:
        q = TeamQueue.open(redis_server.url)
        await submit_batch(q, window.store, bid)
        await q.aclose()

    qloop.run_until_complete(submit())
    redis_server.client().flushall()  # what a restart without persistence leaves
    window.resume_batch(bid)
    banner = window.banner
    qloop.run_until_complete(wait_until(lambda: bool(banner.buttons), 20, "the offer"))
    assert "no longer on the team queue" in banner.label.text()
    assert "no longer on the team queue" in window.team.message.text()
    assert [b.text() for b in banner.buttons] == ["Queue again", "Make here"]
    done: list[int] = []
    window.batch_done.connect(done.append)
    banner.buttons[1].click()
    qloop.run_until_complete(wait_until(lambda: bool(done), 30, "made here"))
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["m0.png", "m1.png"]
    assert team_ref(window.store, bid) is None
