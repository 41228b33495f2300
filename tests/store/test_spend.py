"""The spend a resumed run starts from, read with one query."""

from __future__ import annotations

from pathlib import Path

from atelier.core.models import JobSpec, RunSettings
from atelier.store import Store
from tests.support.batches import store_batch


def test_known_spend_is_the_sum_of_known_job_costs(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    specs = [JobSpec(prompt=f"p{i}", output_path=f"p{i}.png") for i in range(4)]
    bid = store_batch(
        store,
        RunSettings(provider="openai", model="gpt-image-1.5"),
        specs,
        tmp_path / "out",
        name="b",
    )
    ids = [j.id for j in store.jobs(bid)]
    store.add_cost(ids[0], 0.011)
    store.add_cost(ids[0], 0.011)  # a retry paid again
    store.add_cost(ids[1], 0.034)
    store.add_cost(ids[2], 0.5)
    store.add_cost(ids[2], None)  # part of its cost is unknown: left out, as Job.cost is None
    expected = sum(j.cost or 0.0 for j in store.jobs(bid))
    assert abs(expected - 0.056) < 1e-9
    assert abs(store.known_spend_usd(bid) - expected) < 1e-9
    assert store.known_spend_usd(bid + 1) == 0.0
    store.close()
