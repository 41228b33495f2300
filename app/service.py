"""Glue shared by the window and the command line: keys → providers, plans → stored batches."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.batch import Plan, estimate, fingerprint
from app.engine import Engine, ProviderFactory
from app.events import EventBus
from app.models import RunSettings
from app.pricing import PriceTable
from app.providers.base import Provider
from app.providers.registry import capabilities_of, create_provider
from app.secrets import get_key
from app.settings import Settings
from app.store import Store


def default_provider(settings: Settings) -> str:
    """The provider a new batch starts with: the user's choice, else OpenAI when a key exists,
    else the offline ``draft``."""
    if settings.default_provider:
        return settings.default_provider
    return "openai" if get_key("openai").key else "draft"


def make_provider_factory(settings: Settings) -> ProviderFactory:
    """A factory that gives each batch its provider with the key from keyring/env and the
    endpoint from (in order) the batch, the environment, Settings, the default."""

    def make(rs: RunSettings) -> Provider:
        caps = capabilities_of(rs.provider)
        # Optional keys (A1111's user:password, LocalAI's key) are read too when present.
        key = get_key(rs.provider).key if caps.key_env_var else None
        options = rs.provider_options.get(rs.provider, {})
        return create_provider(
            rs.provider,
            api_key=key,
            base_url=settings.base_url(rs.provider, rs.base_url),
            **options,
        )

    return make


def load_prices() -> PriceTable:
    """Built-in prices plus the user's ``ATELIER_HOME/prices.json`` overrides."""
    return PriceTable.load(paths.home() / "prices.json")


@dataclass(frozen=True)
class Prepared:
    """A stored batch ready to run. ``resumed``: an identical batch existed and is continued."""

    batch_id: int
    resumed: bool
    reset_jobs: int


def prepare_batch(
    store: Store,
    plan: Plan,
    rs: RunSettings,
    output_dir: Path,
    *,
    name: str,
    source: str,
    prices: PriceTable,
) -> Prepared:
    """Store ``plan`` as a batch, or find the identical earlier batch (same jobs, provider,
    model and output folder) and continue it: its finished images are never requested again;
    its failed and cancelled jobs are queued once more."""
    out = output_dir.resolve()
    fp = fingerprint(rs.provider, rs.model, out, plan.specs)
    existing = store.find_batch(fp)
    if existing is not None:
        store.update_batch_settings(existing, rs.model_dump(mode="json"))
        failed = [j.id for j in store.jobs(existing) if j.status in ("failed", "cancelled")]
        reset = store.reset_for_retry(failed)
        return Prepared(existing, True, len(reset))
    est = estimate(plan, prices, rs.provider, rs.model)
    try:
        batch_id = store.create_batch(
            name=name,
            fingerprint=fp,
            output_dir=out,
            provider=rs.provider,
            model=rs.model,
            source=source,
            settings=rs.model_dump(mode="json"),
            specs=plan.specs,
            estimated_cost=est.total_usd,
            warnings=plan.warnings + plan.skipped,
        )
    except sqlite3.IntegrityError:  # another Atelier process stored the same batch a moment ago
        existing = store.find_batch(fp)
        assert existing is not None
        return Prepared(existing, True, 0)
    return Prepared(batch_id, False, 0)


def open_engine(
    store: Store, settings: Settings, events: EventBus | None = None, thumbnails: bool = True
) -> Engine:
    """An engine with the user's keys, endpoints, prices, spool and (unless headless) thumbnail cache."""
    return Engine(
        store,
        make_provider_factory(settings),
        load_prices(),
        paths.thumbnail_dir() if thumbnails else None,
        events,
        spool_root=paths.home() / "spool",
    )
