"""Which lanes run in economy, and the batch wire format each provider speaks."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from atelier.core.models import RunSettings
from atelier.providers import catalogue
from atelier.providers.base import Provider
from atelier.providers.economy import BatchApi, EconomyProvider, Waiting
from atelier.providers.economy.gemini_batch import GeminiBatchApi
from atelier.providers.economy.openai_batch import OpenAIBatchApi
from atelier.providers.gemini import GeminiProvider
from atelier.providers.openai import OpenAIProvider

ECONOMY_PROVIDERS = ("openai", "gemini")
"""Providers whose batch API Atelier speaks (``batch_api_of``)."""


def economy_factors(providers: Iterable[str], economy: list[str] | None = None) -> dict[str, float]:
    """Provider → its batch price factor (the catalogue's ``[[batch_discount]]``, dated and
    sourced), for the ``providers`` that have a batch API (and, with ``economy``, only those it
    sets to economy: ``RunSettings.economy``)."""
    return {
        p: catalogue.batch_factor(p)
        for p in providers
        if p in ECONOMY_PROVIDERS and (economy is None or "*" in economy or p in economy)
    }


def batch_api_of(provider: Provider) -> BatchApi | None:
    """The batch API around ``provider``'s adapter, when Atelier speaks one for it."""
    name = provider.capabilities.name
    if name == "openai" and isinstance(provider, OpenAIProvider):
        return OpenAIBatchApi(provider)
    if name == "gemini" and isinstance(provider, GeminiProvider):
        return GeminiBatchApi(provider)
    return None


def economy_lane(
    provider: Provider, settings: RunSettings, on_waiting: Callable[[Waiting], None]
) -> EconomyProvider | None:
    """``provider`` wrapped for economy mode when the batch sets its lane to economy and the
    provider has a batch API; else ``None`` (the lane runs synchronously)."""
    if not settings.economy_for(provider.capabilities.name):
        return None
    api = batch_api_of(provider)
    if api is None:
        return None
    return EconomyProvider(
        api,
        on_waiting,
        poll_first_s=settings.economy_poll_ms / 1000,
        retry_now=settings.economy_retry == "now",
    )
