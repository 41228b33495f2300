"""The provider registry: name → class and capabilities."""

from __future__ import annotations

from typing import Any

from app.errors import InputError
from app.providers.base import Capabilities, Provider
from app.providers.draft import DraftProvider
from app.providers.openai import OpenAIProvider

PROVIDERS: dict[str, type[Provider]] = {
    "draft": DraftProvider,
    "openai": OpenAIProvider,
}


def capabilities_of(name: str) -> Capabilities:
    """The capabilities record of provider ``name``.

    Raises:
        InputError: unknown provider (the message lists the known ones).
    """
    try:
        return PROVIDERS[name].capabilities
    except KeyError:
        raise InputError(
            "provider", f"unknown provider {name!r} (known: {', '.join(PROVIDERS)})"
        ) from None


def create_provider(
    name: str, api_key: str | None = None, base_url: str | None = None, **kwargs: Any
) -> Provider:
    """Instantiate provider ``name`` with its key and endpoint."""
    capabilities_of(name)
    if name == "draft":
        return DraftProvider(**kwargs)
    return OpenAIProvider(api_key=api_key, base_url=base_url, **kwargs)
