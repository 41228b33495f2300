"""``RunSettings`` come out of the store typed: ``Store.run_settings`` and
``BatchRow.run_settings`` are the one place that reads the stored settings as the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.core.models import JobSpec, LaneLimits, RetryPolicy, RunSettings
from atelier.store import Store
from tests.support.batches import store_batch


def test_run_settings_round_trip_and_ignore_a_team_reference(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="openai",
        model="gpt-image-1.5",
        concurrency=3,
        budget_usd=2.5,
        retry_policy=RetryPolicy(max_retries=5, retry_on_errors=["429"]),
        rate_limits={"openai": LaneLimits(rpm=10)},
        economy=["*"],
    )
    spec = JobSpec(prompt="p", output_path="p.png")
    bid = store_batch(store, rs, [spec], tmp_path / "out", name="b")
    batch = store.batch(bid)
    assert store.run_settings(bid) == rs == batch.run_settings()
    # A team batch's record carries a key RunSettings does not know (atelier.team.submit).
    store.update_batch_settings(bid, {**batch.settings, "team": {"batch": "T1"}})
    assert store.run_settings(bid) == rs
    assert store.batch(bid).settings["team"] == {"batch": "T1"}
    with pytest.raises(KeyError):
        store.run_settings(bid + 1)
    store.close()


def test_new_run_settings_keep_the_team_reference(tmp_path: Path) -> None:
    """A raised cap (the window's ``_store_cap``) and a batch stored again (``store_batch``
    finding the identical batch) write new run settings; the batch's team reference stays, or
    the batch would be cut off from the queue it was submitted to (before: dropped)."""
    from atelier.engine import controller
    from atelier.sheet.plan import Plan

    store = Store(tmp_path / "s.db")
    rs = RunSettings(provider="draft", model="draft-v1", budget_usd=1.0)
    planned = controller.PlannedBatch(
        Plan(specs=[JobSpec(prompt="p", output_path="p.png")]), rs, tmp_path / "out", "b", "t"
    )
    est = controller.price(planned, controller.PriceTable(), store)
    bid = controller.store_batch(store, planned, est).batch_id
    team = {"queue": "redis://127.0.0.1:6390/0", "batch": "T1"}
    store.update_batch_settings(bid, {**store.batch(bid).settings, "team": team})
    store.set_run_settings(bid, rs.model_copy(update={"budget_usd": 5.0}))
    assert store.batch(bid).settings["team"] == team
    assert store.run_settings(bid).budget_usd == 5.0
    stored = controller.store_batch(store, planned, est)
    assert stored.batch_id == bid and stored.resumed
    assert store.batch(bid).settings["team"] == team
    store.close()


def test_work_registered_before_close_ends_before_the_connection(tmp_path: Path) -> None:
    """``Store.before_close``: what still writes to the store elsewhere (the channel judge,
    registered by every ``OnSave.submit``) finishes once, on the open connection, whichever
    command or window closes the store."""
    store = Store(tmp_path / "s.db")
    seen: list[int] = []

    def finish() -> None:
        seen.append(len(store.batches()))  # the connection is still open here

    store.before_close(finish)
    store.before_close(finish)  # registered once
    store.close()
    assert seen == [0]
