"""Storing a batch of ready-made job specs, for tests and benchmarks that drive the engine
directly (the window and the command line go through ``atelier.engine.controller.store_batch``)."""

from __future__ import annotations

from pathlib import Path

from atelier.core.models import JobSpec, RunSettings
from atelier.store import Store


def store_batch(
    store: Store,
    settings: RunSettings,
    specs: list[JobSpec],
    output_dir: Path,
    *,
    name: str = "t",
    fingerprint: str | None = None,
    estimated_cost: float | None = None,
) -> int:
    """Store ``specs`` as a pending batch run with ``settings`` (its provider and model are the
    batch's); returns the batch id."""
    return store.create_batch(
        name=name,
        fingerprint=fingerprint or name,
        output_dir=output_dir,
        provider=settings.provider,
        model=settings.model,
        source="test",
        settings=settings.model_dump(mode="json"),
        specs=specs,
        estimated_cost=estimated_cost,
    )
