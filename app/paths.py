"""Where Atelier keeps its store, settings, logs and thumbnail cache.

``ATELIER_HOME`` wins when set; otherwise the platform's user-data folder from platformdirs
(``~/.local/share/atelier`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    """Return the Atelier home folder, creating it if needed."""
    env = os.environ.get("ATELIER_HOME")
    base = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("atelier", False))
    base.mkdir(parents=True, exist_ok=True)
    return base


def store_path() -> Path:
    """The SQLite store file."""
    return home() / "atelier.sqlite3"


def settings_path() -> Path:
    """The user settings JSON (never holds keys)."""
    return home() / "settings.json"


def thumbnail_dir() -> Path:
    """The thumbnail cache folder."""
    d = home() / "thumbnails"
    d.mkdir(parents=True, exist_ok=True)
    return d


def log_dir() -> Path:
    """The log folder."""
    d = home() / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d
