"""Keys never leave in text: every registered secret, and anything shaped like a credential
(``Bearer …``, ``Key …``, ``x-key``/``x-goog-api-key``/``Authorization``/``api_key`` values), is
replaced by ``[REDACTED]``. ``app.errors`` applies it to every provider error message, so a
provider or proxy that echoes our ``Authorization`` header into its error body cannot put the
key into the store, a report, stdout or a log; the log filter applies it to every record."""

from __future__ import annotations

import re
import threading

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


def register_secret(value: str | None) -> None:
    """Remember ``value`` (8 characters or more) so it is replaced wherever it appears."""
    if value and len(value) >= 8:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped value replaced."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for s in known:
        if s in text:
            text = text.replace(s, REDACTED)
    text = _FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
