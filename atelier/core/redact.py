"""Keys never leave in text: every registered secret, and anything shaped like a credential
(``Bearer …``, ``Key …``, ``x-key``/``x-goog-api-key``/``Authorization``/``api_key`` values), is
replaced by ``[REDACTED]``. ``atelier.core.errors`` applies it to every provider error message, so a
provider or proxy that echoes our ``Authorization`` header into its error body cannot put the
key into the store, a report, stdout or a log; the log filter applies it to every record."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
_secrets: set[str] = set()
_lock = threading.Lock()

_SCHEME = re.compile(r"(?i)\b(bearer|key|basic|token)(\s+)[A-Za-z0-9._~+/=:\-]{8,}")
_FIELD = re.compile(
    r"""(?ix)
    (["']?(?:x-key|x-goog-api-key|x-api-key|api[-_]?key|authorization|access[-_]?token)["']?
     \s*[:=]\s*["']?)
    (?!\[REDACTED\])(?:(?:bearer|key|basic|token)\s+)?[^\s"',;}&]{6,}
    """
)


MIN_EXTRA = 4
"""Shortest value ``redact(extra=…)`` replaces (a shorter one would blank ordinary text)."""


def forms(value: str) -> set[str]:
    """``value`` and the forms it takes inside a URL (percent-encoded as one path segment or
    query value, RFC 3986, and as a form value), so a secret sent in a query string is found
    in the address that is recorded."""
    return {value, quote(value, safe=""), quote_plus(value, safe="")}


def register_secret(value: str | None, min_length: int = 8) -> None:
    """Remember ``value`` (``min_length`` characters or more: a provider's key is long, a
    shorter value would blank ordinary text) so it is replaced wherever it appears, as it is or
    percent-encoded (``forms``)."""
    if value and len(value) >= max(min_length, MIN_EXTRA):
        with _lock:
            _secrets.update(forms(value))


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every registered secret and every credential-shaped value replaced.
    ``extra``: further secret values (``MIN_EXTRA`` characters or more), such as the ones a
    delivery target used, replaced in every ``forms`` too."""
    if not text:
        return text
    with _lock:
        known = set(_secrets)
    for value in extra:
        if value and len(value) >= MIN_EXTRA:
            known |= forms(value)
    for s in sorted(known, key=len, reverse=True):
        if s in text:
            text = text.replace(s, REDACTED)
    text = _FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
