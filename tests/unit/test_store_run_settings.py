"""``RunSettings`` come out of the store typed: ``Store.run_settings`` and
``BatchRow.run_settings`` are the one place that reads the stored settings as the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.core.models import JobSpec, LaneLimits, RetryPolicy, RunSettings
from atelier.store import Store
from tests.batches import store_batch


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
