"""Where each provider's key and endpoint come from: its name, the environment variable that
holds its key, the one that overrides its endpoint, and its public endpoint.

These facts sit in ``core`` because the settings (``atelier.core.settings``: which endpoint)
and the key store (``atelier.core.secrets``: which variable) need them below the providers;
each provider's ``Capabilities`` takes its three values from here
(``atelier.providers.registry`` holds the provider classes, in the same order).
Endpoints and variable names: each provider's API reference (docs/providers.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from atelier.core.errors import InputError
from atelier.core.i18n import tr


@dataclass(frozen=True)
class ProviderAccess:
    """How Atelier reaches one provider.

    Attributes:
        key_env_var: the environment variable read when keyring has no key (``None``: no key).
        base_url_env_var: the environment variable that overrides the endpoint.
        default_base_url: the public endpoint (including the API version path); empty for
            the offline draft provider.
    """

    key_env_var: str | None
    base_url_env_var: str | None
    default_base_url: str


PROVIDER_ACCESS: Final[dict[str, ProviderAccess]] = {
    "draft": ProviderAccess(None, None, ""),
    "openai": ProviderAccess(
        "OPENAI_API_KEY", "ATELIER_OPENAI_BASE_URL", "https://api.openai.com/v1"
    ),
    "gemini": ProviderAccess(
        "GEMINI_API_KEY",
        "ATELIER_GEMINI_BASE_URL",
        "https://generativelanguage.googleapis.com/v1beta",
    ),
    "stability": ProviderAccess(
        "STABILITY_API_KEY", "ATELIER_STABILITY_BASE_URL", "https://api.stability.ai"
    ),
    "fal": ProviderAccess("FAL_KEY", "ATELIER_FAL_BASE_URL", "https://queue.fal.run"),
    "replicate": ProviderAccess(
        "REPLICATE_API_TOKEN", "ATELIER_REPLICATE_BASE_URL", "https://api.replicate.com"
    ),
    "bfl": ProviderAccess("BFL_API_KEY", "ATELIER_BFL_BASE_URL", "https://api.bfl.ai"),
    "a1111": ProviderAccess("A1111_API_AUTH", "ATELIER_A1111_BASE_URL", "http://127.0.0.1:7860"),
    "comfyui": ProviderAccess(None, "ATELIER_COMFYUI_BASE_URL", "http://127.0.0.1:8188"),
    "seedream": ProviderAccess(
        "ARK_API_KEY",
        "ATELIER_SEEDREAM_BASE_URL",
        "https://ark.ap-southeast.bytepluses.com/api/v3",
    ),
    "localai": ProviderAccess(
        "LOCALAI_API_KEY", "ATELIER_LOCALAI_BASE_URL", "http://127.0.0.1:8080/v1"
    ),
    "ideogram": ProviderAccess(
        "IDEOGRAM_API_KEY", "ATELIER_IDEOGRAM_BASE_URL", "https://api.ideogram.ai"
    ),
    "qwen": ProviderAccess(
        "DASHSCOPE_API_KEY", "ATELIER_QWEN_BASE_URL", "https://dashscope-intl.aliyuncs.com"
    ),
}
"""Every provider Atelier knows, by name, in the order lists show them."""


def unknown_provider(name: str) -> InputError:
    """The error for a provider name Atelier does not know (the message lists the known)."""
    return InputError(
        "provider",
        tr("unknown provider {name!r} (known: {known})").format(
            name=name, known=", ".join(PROVIDER_ACCESS)
        ),
    )


def access_of(name: str) -> ProviderAccess:
    """How provider ``name`` is reached.

    Raises:
        InputError: unknown provider (the message lists the known ones).
    """
    try:
        return PROVIDER_ACCESS[name]
    except KeyError:
        raise unknown_provider(name) from None
