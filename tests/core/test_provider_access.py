"""The providers the core knows how to reach (``atelier.core.provider_access``, for keys and
endpoints) are the ones the registry can build, with the same variables and endpoints."""

from __future__ import annotations

import pytest

from atelier.core.errors import InputError
from atelier.core.provider_access import PROVIDER_ACCESS, access_of
from atelier.core.settings import Settings
from atelier.providers.registry import PROVIDERS, capabilities_of


def test_core_and_registry_name_the_same_providers_in_the_same_order() -> None:
    assert list(PROVIDER_ACCESS) == list(PROVIDERS)
    for name, cls in PROVIDERS.items():
        caps, access = cls.capabilities, PROVIDER_ACCESS[name]
        assert caps.name == name
        assert (caps.key_env_var, caps.base_url_env_var, caps.default_base_url) == (
            access.key_env_var,
            access.base_url_env_var,
            access.default_base_url,
        )


def test_unknown_provider_is_one_error_in_core_and_registry() -> None:
    with pytest.raises(InputError) as core:
        access_of("midjourney")
    with pytest.raises(InputError) as registry:
        capabilities_of("midjourney")
    assert str(core.value) == str(registry.value)
    assert "midjourney" in str(core.value) and "openai" in str(core.value)


def test_settings_base_url_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATELIER_FAL_BASE_URL", raising=False)
    s = Settings(base_urls={"fal": "https://proxy.example/fal"})
    assert Settings().base_url("fal") == "https://queue.fal.run"
    assert s.base_url("fal") == "https://proxy.example/fal"
    monkeypatch.setenv("ATELIER_FAL_BASE_URL", "https://env.example")
    assert s.base_url("fal") == "https://env.example"
    assert s.base_url("fal", "https://flag.example") == "https://flag.example"
