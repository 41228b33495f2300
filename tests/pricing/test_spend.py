"""Each job's list price for the overrun watch (``job_list_prices``): read by SQLite without
validating each spec, priced once per kind of job, and the same as pricing each job alone."""

from __future__ import annotations

import json
from pathlib import Path

from atelier.core.models import JobSpec, RunSettings
from atelier.engine.service import load_prices
from atelier.pricing.entries import PriceQuery
from atelier.pricing.spend import job_list_prices
from atelier.providers.registry import resolve_target
from atelier.store import Store
from tests.support.batches import store_batch


def test_each_job_is_priced_as_alone(tmp_path: Path) -> None:
    ref = tmp_path / "ref.png"
    ref.write_bytes(b"x")
    specs = [
        JobSpec(prompt="a", output_path="a.png", quality="low"),
        JobSpec(prompt="b", output_path="b.png", quality="high", sample_count=3),
        JobSpec(prompt="c", output_path="c.png", size="1536x1024", quality="medium"),
        JobSpec(prompt="d", output_path="d.png", model="gpt-image-2", quality="low"),
        JobSpec(prompt="e", output_path="e.png", provider="draft"),
        JobSpec(prompt="f", output_path="f.png", quality="auto"),  # no fixed price: left out
        JobSpec(prompt="g", output_path="g.png", operation="edit", reference_images=[str(ref)],
                quality="low"),
    ]  # fmt: skip
    store = Store(tmp_path / "s.db")
    rs = RunSettings(provider="openai", model="gpt-image-1.5")
    bid = store_batch(store, rs, specs, tmp_path)
    prices = load_prices()
    alone = {}
    for job in store.jobs(bid):
        p, m = resolve_target(rs.provider, rs.model, job.spec.provider, job.spec.model)
        usd = prices.price_of(PriceQuery.of(p, m, job.spec)).usd
        if usd is not None:
            alone[job.id] = usd
    assert job_list_prices(store, prices, bid) == alone
    assert len(alone) == len(specs) - 1
    some = [j.id for j in store.jobs(bid)][:2]
    assert job_list_prices(store, prices, bid, some) == {i: alone[i] for i in some}

    # A spec stored by an older Atelier without a field the query reads is read whole.
    first = store.jobs(bid)[0]
    doc = json.loads(first.spec.model_dump_json())
    del doc["reference_images"]
    store.set_spec(first.id, json.dumps(doc))
    assert job_list_prices(store, prices, bid) == alone
    store.close()
