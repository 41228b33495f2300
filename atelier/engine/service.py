"""The composition root shared by the window and the command line: keys and endpoints →
providers, prices, and the engine built from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from atelier.core import paths
from atelier.core.events import EventBus
from atelier.core.models import RunSettings
from atelier.core.secrets import get_key
from atelier.core.settings import Settings
from atelier.pricing.table import PriceTable, user_prices_path
from atelier.providers.base import Provider
from atelier.providers.farm import provider_or_farm
from atelier.providers.registry import capabilities_of, create_provider
from atelier.store import Store

if TYPE_CHECKING:
    from atelier.engine.engine import Engine, ProviderFactory


def _lookup(provider: str) -> str | None:
    return get_key(provider).key


def default_provider(settings: Settings) -> str:
    """The provider a new batch starts with: the user's choice, else OpenAI when a key exists,
    else the offline ``draft``."""
    if settings.default_provider:
        return settings.default_provider
    return "openai" if get_key("openai").key else "draft"


def make_provider_factory(
    settings: Settings, key_of: Callable[[str], str | None] | None = None
) -> ProviderFactory:
    """A factory that gives each batch its provider with the key from keyring/env and the
    endpoint from (in order) the batch, the environment, Settings, the default; a self-hosted
    provider given several endpoints gets a farm of them (``atelier.providers.farm``).
    ``key_of``: how a provider's key is found (default: keyring, then environment, each time).
    """

    def make(rs: RunSettings) -> Provider:
        caps = capabilities_of(rs.provider)
        # Optional keys (A1111's user:password, LocalAI's key) are read too when present.
        key = (key_of or _lookup)(rs.provider) if caps.key_env_var else None
        options = rs.provider_options.get(rs.provider, {})
        return provider_or_farm(
            settings.base_url(rs.provider, rs.base_url),
            lambda url: create_provider(rs.provider, api_key=key, base_url=url, **options),
            caps.local,
        )

    return make


def load_prices() -> PriceTable:
    """Built-in prices plus the user's ``ATELIER_HOME/prices.json`` overrides."""
    return PriceTable.load(user_prices_path())


def open_engine(
    store: Store, settings: Settings, events: EventBus | None = None, thumbnails: bool = True
) -> Engine:
    """An engine with the user's keys, endpoints, prices, spool and (unless headless) thumbnail cache."""
    # Here, not at the top: an estimate or a listing imports this module and never runs
    # the engine (120 ms of imports for 100,000-row estimates, bench/plan_rows.py).
    from atelier.engine.engine import Engine

    return Engine(
        store,
        make_provider_factory(settings),
        load_prices(),
        paths.thumbnail_dir() if thumbnails else None,
        events,
        spool_root=paths.home() / "spool",
    )
