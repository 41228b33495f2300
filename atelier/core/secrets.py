"""API keys through keyring, with the provider's environment variable as a fallback.

Keys live only in the OS keyring (Secret Service on Linux, Keychain on macOS, Credential
Manager on Windows) under the service name ``atelier``; they are never written to any file,
log, report or image metadata. When no keyring backend exists the studio says so and still
works from the environment variable, or from a key kept in this process's memory for the
session only (``keep_key_for_session``): nothing writes it down, and it is gone when the
process ends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import keyring
import keyring.errors

from atelier.core.i18n import tr
from atelier.core.logs import register_secret
from atelier.core.provider_access import access_of

SERVICE = "atelier"
"""The keyring service Atelier's secrets are stored under; ``ATELIER_KEYRING_SERVICE`` names
another (a second profile beside the first, or one per test worker: the test suite runs in
parallel against one Secret Service, and a key one test stores must not be another's)."""


def _service() -> str:
    return os.environ.get("ATELIER_KEYRING_SERVICE") or SERVICE


_SESSION: dict[str, str] = {}
"""Secrets kept in memory for this process only, when no keyring works, under their keyring
user names: a provider's key under the provider's name (``openai``), a delivery secret under
``delivery:<name>``. Nothing writes them down; they are gone when the process ends."""


@dataclass(frozen=True)
class KeyLookup:
    """Where a key came from. ``key`` is ``None`` when there is none.

    Attributes:
        source: ``"keyring"``, ``"session"`` (kept in memory until the process ends), ``"env"``
            or ``"none"``.
        keyring_problem: why keyring could not be used, if it could not (shown to the user).
    """

    key: str | None
    source: Literal["keyring", "session", "env", "none"]
    keyring_problem: str | None = None

    def __repr__(self) -> str:  # never show the key, even in a traceback
        return f"KeyLookup(source={self.source!r}, present={self.key is not None})"


def keyring_status() -> str | None:
    """``None`` when a usable keyring backend exists, else a sentence saying what is missing."""
    try:
        backend = keyring.get_keyring()
    except Exception as e:  # backends raise arbitrary errors when the daemon is missing
        return tr(
            "No keyring available ({error}). Keys can still come from environment variables."
        ).format(error=type(e).__name__)
    from keyring.backends import chainer, fail

    empty_chain = isinstance(backend, chainer.ChainerBackend) and not backend.backends
    if isinstance(backend, fail.Keyring) or empty_chain:
        return tr(
            "No keyring backend found on this system (install and unlock a Secret Service such as "
            "GNOME Keyring or KWallet). Keys can still come from environment variables."
        )
    return None


def get_key(provider: str) -> KeyLookup:
    """The key for ``provider``: keyring first, then a key kept for this session, then its
    environment variable."""
    env_var = access_of(provider).key_env_var
    problem: str | None = None
    try:
        stored = keyring.get_password(_service(), provider)
    except (keyring.errors.KeyringError, RuntimeError, OSError) as e:
        stored = None
        problem = tr("keyring unavailable: {error}").format(error=type(e).__name__)
    if stored:
        register_secret(stored)
        return KeyLookup(stored, "keyring")
    kept = _SESSION.get(provider)
    if kept:
        register_secret(kept)
        return KeyLookup(kept, "session", problem)
    from_env = env_secret(env_var) if env_var else None
    if from_env:
        register_secret(from_env)
        return KeyLookup(from_env, "env", problem)
    return KeyLookup(None, "none", problem)


def env_secret(var: str) -> str | None:
    """The secret in the environment variable ``var``, stripped of surrounding whitespace as
    ``atelier secret set`` strips what it reads (``ATELIER_CMS_TOKEN=$'t\\n'`` is ``t``);
    ``None`` when unset or blank. The one place secrets are read from the environment."""
    value = os.environ.get(var, "").strip()
    return value or None


def set_key(provider: str, key: str) -> None:
    """Store ``key`` for ``provider`` in the keyring (an empty key deletes it).

    Raises:
        keyring.errors.KeyringError: no usable backend (callers show ``keyring_status()`` and
            may offer ``keep_key_for_session``).
    """
    access_of(provider)
    if not key:
        delete_key(provider)
        return
    register_secret(key.strip())
    keyring.set_password(_service(), provider, key.strip())
    _SESSION.pop(provider, None)  # the keyring holds it now


def keep_key_for_session(provider: str, key: str) -> None:
    """Keep ``key`` for ``provider`` in this process's memory only (no keyring works here):
    ``get_key`` finds it until the process ends; nothing writes it down. An empty key forgets
    the one kept.

    Raises:
        InputError: an unknown provider.
    """
    access_of(provider)
    key = key.strip()
    if not key:
        _SESSION.pop(provider, None)
        return
    register_secret(key)
    _SESSION[provider] = key


def delete_key(provider: str) -> None:
    """Remove the stored key for ``provider`` (and one kept for the session), if any."""
    _SESSION.pop(provider, None)
    try:
        keyring.delete_password(_service(), provider)
    except keyring.errors.PasswordDeleteError:
        pass


# ---- delivery credentials ------------------------------------------------------------------
# Delivery targets name their secret (``webhook``, ``cms``, ``s3:<access key id>``,
# ``shopify:<shop>``, ``slack``); it lives under the keyring user ``delivery:<name>`` so it can
# never be mistaken for a provider's key. A secret given on the command line while no keyring
# works is kept in this process only (``_SESSION``, above): the run can use it, nothing writes
# it down.

DELIVERY_ENV = {
    "webhook": "ATELIER_WEBHOOK_SECRET",
    "slack": "ATELIER_SLACK_WEBHOOK",
    "cms": "ATELIER_CMS_TOKEN",
    "shopify": "ATELIER_SHOPIFY_TOKEN",
    "redis": "ATELIER_REDIS_PASSWORD",  # a team queue's password (atelier/team/queue.py)
}
"""The environment variable read when a delivery secret is not in the keyring, by the part of
its name before ``:``."""


def secret_kind(name: str) -> str:
    """The kind of the delivery secret ``name``: the part before ``:`` (``shopify:my-shop``
    → ``shopify``, ``cms`` → ``cms``)."""
    return name.split(":", 1)[0]


def get_secret(name: str, kind: str | None = None) -> str | None:
    """The delivery secret ``name``: keyring, then this process's session, then the
    environment variable of its kind (``DELIVERY_ENV``); ``None`` when there is none. The value
    is registered with the log redactor before it is returned.

    ``kind``: the kind of the target asking (``"cms"``, ``"webhook"``…). A secret of another
    kind is never looked up, so a target cannot borrow another kind's credential (a CMS target
    naming ``shopify:my-shop`` or ``redis:…`` gets ``None``); the environment variable read is
    always the one of ``kind``.
    """
    if kind is not None and secret_kind(name) != kind:
        return None
    value: str | None
    try:
        value = keyring.get_password(_service(), f"delivery:{name}")
    except (keyring.errors.KeyringError, RuntimeError, OSError):
        value = None
    env_var = DELIVERY_ENV.get(secret_kind(name))
    value = value or _SESSION.get(f"delivery:{name}") or (env_secret(env_var) if env_var else None)
    if value:
        register_secret(value)
    return value or None


def set_secret(name: str, value: str) -> bool:
    """Keep the delivery secret ``name`` in the keyring; returns ``False`` when no keyring
    works, and the secret is then kept for this process only (say so to the user)."""
    register_secret(value)
    try:
        keyring.set_password(_service(), f"delivery:{name}", value)
        return True
    except (keyring.errors.KeyringError, RuntimeError, OSError):
        _SESSION[f"delivery:{name}"] = value
        return False


class SecretCache:
    """A sender's credentials, looked up once per drain (each keyring lookup is a D-Bus call,
    and a drain may send thousands of messages); a missing secret is looked up again next time,
    so one stored while the drain runs is found."""

    def __init__(self) -> None:
        self._found: dict[str, str] = {}

    def get(self, name: str, kind: str | None = None) -> str | None:
        """``get_secret(name, kind)``, remembered once found."""
        if kind is not None and secret_kind(name) != kind:
            return None
        if name not in self._found:
            value = get_secret(name, kind)
            if value is None:
                return None
            self._found[name] = value
        return self._found[name]

    def values(self) -> list[str]:
        """The secrets found so far (what a delivery's redaction replaces)."""
        return list(self._found.values())
