"""Where Atelier keeps its store, settings, logs and thumbnail cache.

``ATELIER_HOME`` wins when set; otherwise the platform's user-data folder from platformdirs
(``~/.local/share/atelier`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
"""ATELIER_HOME holds the store (prompts, costs), settings and logs: only its owner reads it."""


class HomeError(AtelierError):
    """``ATELIER_HOME`` cannot be created or written."""


def home() -> Path:
    """Return the Atelier home folder, creating it (mode 0700) if needed.

    Raises:
        HomeError: it cannot be created (a read-only disk, a file in the way…).
    """
    env = os.environ.get("ATELIER_HOME")
    base = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("atelier", False))
    if not base.is_dir():
        try:
            base.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        except OSError as e:
            raise HomeError(
                tr(
                    "Cannot create the Atelier folder {base} ({reason}). Set ATELIER_HOME to a folder you can write, or fix this one's permissions."
                ).format(base=base, reason=e.strerror or e)
            ) from e
    return base


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (before SQLite or a log
    handler opens it, so it is never readable by others, not even for a moment)."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file and a rename), mode 0600."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
