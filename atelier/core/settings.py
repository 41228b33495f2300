"""User settings (``ATELIER_HOME/settings.json``): endpoints, defaults, last choices. No keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from atelier.core import paths
from atelier.core.provider_access import access_of


class Settings(BaseModel):
    """Persisted preferences.

    Attributes:
        base_urls: provider → endpoint override (``https://host/v1``).
        default_provider: the provider new batches start with; ``None`` = openai when a key
            exists, else draft.
        output_root: where new batches put their folders.
        language: the window's language (a key of ``atelier.core.i18n.LANGUAGES``); ``None`` follows
            the system's locale.
        team_queue: the team queue's address (``redis://HOST:PORT/DB``; its password lives in
            the keyring, never here); empty: none.
        use_team_queue: new batches started in the window go on the team queue.
    """

    base_urls: dict[str, str] = Field(default_factory=dict)
    default_provider: str | None = None
    output_root: str | None = None
    last_template: dict[str, str] = Field(default_factory=dict)
    language: str | None = None
    team_queue: str = ""
    use_team_queue: bool = False

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or broken file gives defaults (a broken one is kept aside)."""
        p = path or paths.settings_path()
        if not p.exists():
            return cls()
        try:
            return cls.model_validate(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError):
            p.replace(p.with_suffix(".broken.json"))
            return cls()

    def save(self, path: Path | None = None) -> None:
        """Write atomically."""
        p = path or paths.settings_path()
        paths.write_private(p, self.model_dump_json(indent=2).encode("utf-8"))

    def base_url(self, provider: str, override: str | None = None) -> str:
        """Endpoint for ``provider``: ``override`` (``--base-url``), then
        ``ATELIER_<PROVIDER>_BASE_URL``, then Settings, then the public default."""
        caps = access_of(provider)
        if override:
            return override
        if caps.base_url_env_var and os.environ.get(caps.base_url_env_var):
            return os.environ[caps.base_url_env_var]
        return self.base_urls.get(provider) or caps.default_base_url
