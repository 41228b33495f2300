"""The provider registry: name → class and capabilities."""

from __future__ import annotations

from typing import Any

from atelier.core.provider_access import unknown_provider
from atelier.providers.a1111 import A1111Provider
from atelier.providers.base import Capabilities, Provider
from atelier.providers.bfl import BFLProvider
from atelier.providers.comfyui import ComfyUIProvider
from atelier.providers.draft import DraftProvider
from atelier.providers.fal import FalProvider
from atelier.providers.gemini import GeminiProvider
from atelier.providers.ideogram import IdeogramProvider
from atelier.providers.openai import LocalAIProvider, OpenAIProvider, SeedreamProvider
from atelier.providers.qwen import QwenImageProvider
from atelier.providers.replicate import ReplicateProvider
from atelier.providers.stability import StabilityProvider

PROVIDERS: dict[str, type[Provider]] = {
    "draft": DraftProvider,
    "openai": OpenAIProvider,
    "gemini": GeminiProvider,
    "stability": StabilityProvider,
    "fal": FalProvider,
    "replicate": ReplicateProvider,
    "bfl": BFLProvider,
    "a1111": A1111Provider,
    "comfyui": ComfyUIProvider,
    "seedream": SeedreamProvider,
    "localai": LocalAIProvider,
    "ideogram": IdeogramProvider,
    "qwen": QwenImageProvider,
}


def capabilities_of(name: str) -> Capabilities:
    """The capabilities record of provider ``name``.

    Raises:
        InputError: unknown provider (the message lists the known ones).
    """
    try:
        return PROVIDERS[name].capabilities
    except KeyError:
        raise unknown_provider(name) from None


def resolve_target(
    default_provider: str, default_model: str, provider: str | None = None, model: str | None = None
) -> tuple[str, str]:
    """The ``(provider, model)`` of a job: its own, else the batch's; a job that names another
    provider without a model gets that provider's recommended model.

    Raises:
        InputError: the job names an unknown provider (only when its default model is needed).
    """
    provider = provider or default_provider
    if model:
        return provider, model
    if provider == default_provider:
        return provider, default_model
    return provider, capabilities_of(provider).default_model


def create_provider(
    name: str, api_key: str | None = None, base_url: str | None = None, **options: Any
) -> Provider:
    """Instantiate provider ``name`` with its key, endpoint and its own ``options`` (the
    constructor contract of ``Provider``).

    Raises:
        InputError: unknown provider.
    """
    cls = PROVIDERS[capabilities_of(name).name]
    return cls(api_key=api_key, base_url=base_url, **options)
