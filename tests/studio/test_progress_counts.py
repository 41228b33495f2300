"""The progress table's counts and spend are kept as rows change (not recounted over every
row at each flush): after any updates they are what counting every row gives."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from atelier.core.events import JobChanged
from atelier.core.status import JobStatus
from atelier.studio.bridge import JobUpdate
from atelier.studio.models.jobs import JobsModel, JobView

STATUSES = [s.value for s in JobStatus]


def test_counts_and_spend_follow_every_update(qapp: Any) -> None:
    rng = random.Random(3)
    model = JobsModel()
    model.set_jobs([JobView(i, i, f"p{i}", f"{i}.png", "pending") for i in range(200)])
    assert model.counts() == {"pending": 200} and model.spend() == 0.0
    for _ in range(300):
        changes = {}
        for jid in rng.sample(range(205), 5):  # 200-204: not in the table, ignored
            cost = rng.choice([0.0, 0.011, 0.167, 0.0091234, None])
            status = rng.choice(STATUSES)
            changes[jid] = JobUpdate(JobChanged(1, jid, status, 1, cost=cost))
        model.update_jobs(changes)
        assert model.counts() == dict(Counter(j.status for j in model.jobs))
        costs = [j.cost for j in model.jobs]
        if None in costs:
            assert model.spend() is None
        else:
            assert abs((model.spend() or 0.0) - sum(c or 0.0 for c in costs)) < 1e-9
    model.set_jobs([JobView(1, 1, "p", "1.png", "completed", cost=0.5)])
    assert model.counts() == {"completed": 1} and model.spend() == 0.5
