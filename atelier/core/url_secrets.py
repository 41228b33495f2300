"""Credentials written inside an address: finding them (a flag's URL shows in ``ps``) and taking
them out (a template file to share).

An address carries a credential in three places: its userinfo (``redis://:pw@host``), a query
value whose key names one (``?access_token=…``, ``?sig=…``), or its path, as the incoming
webhooks of Slack, Discord, Microsoft Teams and Zapier do (the address itself is the secret).
``{placeholders}`` are templates, never credentials: ``?token={secret}`` is the safe form.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_CREDENTIAL_KEY = re.compile(
    r"(?:^|[^a-z])(?:access_?token|token|secret|password|passwd|pwd|pass|auth|authorization"
    r"|api_?key|apikey|key|sig|signature|session|sessionid|cookie|credentials?)(?:[^a-z]|$)"
    r"|^code$"
)
"""Query keys (and header names) that hold a credential: ``access_token``, ``api_key``,
``X-Amz-Signature``, ``client_secret``, ``password``, ``sessionid``…"""

_HOOK_HOSTS = (
    ("hooks.slack.com", "/services/"),
    ("hooks.slack.com", "/workflows/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
    ("hooks.zapier.com", "/hooks/"),
    ("outlook.office.com", "/webhook"),
    (".webhook.office.com", "/webhook"),
)
"""(host or host suffix, path prefix) of services whose webhook address is itself the secret."""

_TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9_\-.~]{32,}$")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _tokenish(segment: str) -> bool:
    """A path segment that looks like a random key: 32+ URL characters mixing letters and
    digits, no placeholder."""
    return (
        bool(_TOKEN_SEGMENT.match(segment))
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


def _hook_host(host: str, path: str) -> bool:
    return any(
        (host == h or (h.startswith(".") and host.endswith(h))) and path.startswith(prefix)
        for h, prefix in _HOOK_HOSTS
    )


def _query_parts(query: str) -> list[tuple[str, str | None]]:
    """``a=1&b`` → ``[("a", "1"), ("b", None)]``, nothing decoded (templates stay as written)."""
    out: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        out.append((key, value if eq else None))
    return out


def credential_key(name: str) -> bool:
    """Whether a query key or header name names a credential (``access_token``,
    ``Authorization``, ``X-Api-Key``…)."""
    return bool(_CREDENTIAL_KEY.search(name.lower()))


def secret_in_url(url: str) -> str | None:
    """Why ``url`` carries a credential, or ``None``: ``"password"`` (userinfo),
    ``"query"`` (a credential-named query value that is not a ``{placeholder}``) or
    ``"path"`` (a webhook service's secret address, or a key-like path segment). Never
    raises: an unparsable address is ``None``."""
    try:
        parts = urlsplit(url.strip())
        password = parts.password
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if password:
        return "password"
    for key, value in _query_parts(parts.query):
        if value and credential_key(key) and _PLACEHOLDER.sub("", value):
            return "query"
    if _hook_host(host, parts.path):
        return "path"
    segments = _PLACEHOLDER.sub("", parts.path).split("/")
    if any(_tokenish(s) for s in segments):
        return "path"
    return None


REMOVED = "SECRET-REMOVED"
"""What stands where a credential was taken out of an address (``without_secrets``)."""


def without_secrets(url: str, query_placeholder: str | None = None, paths: bool = True) -> str:
    """``url`` with its credentials taken out: userinfo dropped; credential-named query values
    replaced by ``query_placeholder`` (``"{secret}"``, filled again from the reader's own
    keyring) or, without one, the parameter dropped; a secret path segment replaced by
    ``REMOVED`` (a key-like segment only with ``paths``: a CMS address's long ids are its
    own). ``{placeholders}`` and everything else stay as written (nothing is
    re-encoded). An unparsable address is returned as it is."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return url
    query: list[str] = []
    for key, value in _query_parts(parts.query):
        if value and credential_key(key) and _PLACEHOLDER.sub("", value):
            if query_placeholder is not None:
                query.append(f"{key}={query_placeholder}")
            continue
        query.append(key if value is None else f"{key}={value}")
    segments = parts.path.split("/")
    if _hook_host(host, parts.path):
        # the service's fixed prefix stays (readable), every segment after it is the key
        prefix = next(p for h, p in _HOOK_HOSTS if host == h or host.endswith(h))
        fixed = len(prefix.strip("/").split("/")) + 1
        segments = segments[:fixed] + [REMOVED] * bool(segments[fixed:])
    elif paths:
        segments = [REMOVED if _tokenish(_PLACEHOLDER.sub("", s)) else s for s in segments]
    return urlunsplit((parts.scheme, netloc, "/".join(segments), "&".join(query), parts.fragment))
