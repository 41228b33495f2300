"""The one way a delivery URL is filled from a row: the CMS call's ``url`` and the S3
``public_url``; a webhook's and Slack's address take no values and are checked the same way
(``literal_url``).

The template's own text (what the user or the template wrote) decides the scheme, the host, the
path's segments and the query's keys; a row's values only fill in. Each value is
percent-encoded as one path segment or one query value (RFC 3986 §2.1, §3.3, §3.4: every
character but the unreserved ``A-Z a-z 0-9 - . _ ~`` is encoded, ``/ ? # & = %`` included),
so a SKU ``../../admin/users?delete=all#`` stays inside its segment. What encoding cannot
neutralise fails the delivery before anything is sent, with a sentence naming the row:

* a placeholder in the scheme or host (only a target's own settings, such as S3's
  ``{bucket}``, may be there, and only as a host name);
* a placeholder in a query key;
* a path segment that a value makes empty, ``.`` or ``..`` (RFC 3986 §5.2.4 removes them,
  and servers collapse ``//``: the call would go to another path), or a value that climbs
  once decoded (``../admin``, ``%2e%2e%2f``: a server or proxy that decodes ``%2F`` before
  routing would follow it).

``{key}`` and ``{file}`` are paths already made safe (``atelier.sheet.templates.safe_relative_path``):
in a path they keep their ``/`` and each of their segments is encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.delivery.base import DeliveryError
from atelier.sheet.templates import Template

PATH_VALUES = frozenset({"key", "file"})
"""Builtins whose value is a relative path: in a URL's path they stay several segments."""

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: no URL delimiter, no template
_TOKEN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_HOST_NAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_DOT_SEGMENTS = ("", ".", "..")


def _climbs(value: str) -> bool:
    """Whether ``value`` holds a ``.`` or ``..`` segment once percent-decoded (twice) and split
    at ``/`` or ``\\``: encoded, it cannot climb, but a server or proxy that decodes ``%2F``
    before it routes would see it climb."""
    decoded = unquote(unquote(value)).replace("\\", "/")
    return any(p in (".", "..") for p in decoded.split("/"))


def _parse(template: str, where: str) -> Template:
    try:
        return Template.parse(template, where)
    except InputError as e:
        raise DeliveryError(str(e), retryable=False) from e


def url_shape_problem(
    template: str, where: str, host_names: frozenset[str] = frozenset()
) -> str | None:
    """What is wrong with a URL template whatever the row (``None``: nothing): not http(s), no
    host, a placeholder in the scheme, host or a query key. ``host_names``: placeholders that
    may stand in the host (a target's own settings, not a row's).

    Raises:
        DeliveryError: (permanent) a broken template (an unbalanced brace).
    """
    t = _parse(template, where)
    names = [name for is_ph, name in t.parts if is_ph]
    skeleton = _skeleton(t)
    parts = urlsplit(skeleton)
    lead = _TOKEN.match(skeleton)
    if lead and names[int(lead.group(1))] not in host_names:  # ``{Base}/api/…``: the host too
        return tr(
            "{where}: {{{name}}} is in the address's host; a row's value may not choose where the call goes"
        ).format(where=where, name=names[int(lead.group(1))])
    if _TOKEN.search(parts.scheme) or parts.scheme.lower() not in ("http", "https"):
        return tr("{where}: not an http(s) address").format(where=where)
    if not parts.netloc:
        return tr("{where}: the address has no host").format(where=where)
    for m in _TOKEN.finditer(parts.netloc):
        name = names[int(m.group(1))]
        if name not in host_names:
            return tr(
                "{where}: {{{name}}} is in the address's host; a row's value may not choose where the call goes"
            ).format(where=where, name=name)
    for item in parts.query.split("&"):
        in_key = _TOKEN.search(item.partition("=")[0])
        if in_key:
            return tr(
                "{where}: {{{name}}} is in a query key; a row's value may only fill a query value"
            ).format(where=where, name=names[int(in_key.group(1))])
    return None


def _skeleton(t: Template) -> str:
    out: list[str] = []
    i = 0
    for is_ph, text in t.parts:
        if is_ph:
            out.append(f"{_OPEN}{i}{_CLOSE}")
            i += 1
        else:
            out.append(text)
    return "".join(out)


def render_url(
    template: str,
    values: dict[str, str],
    where: str,
    *,
    row: str = "",
    host_names: frozenset[str] = frozenset(),
) -> str:
    """Fill a delivery URL template from ``values`` (a row's columns and the builtins), each
    value encoded as one path segment or one query value (see the module docstring).

    Args:
        template: the URL as configured (``https://cms.example/api/products/{SKU}``).
        values: the template context.
        where: names the field in messages (``delivery cms.url``).
        row: names the row in messages (``row 4``), empty for a batch's own messages.
        host_names: placeholders that may stand in the host (``{"bucket"}`` for S3).

    Returns:
        The address to call or record.

    Raises:
        DeliveryError: (permanent) a placeholder without a value, a broken template, or a
            value that would change the host, the path's segments or the query's keys; the
            message names ``where``, the row and the placeholder. Nothing has been sent.
    """
    problem = url_shape_problem(template, where, host_names)
    if problem:
        raise DeliveryError(problem, retryable=False)
    t = _parse(template, where)
    names = [name for is_ph, name in t.parts if is_ph]
    missing = [n for n in names if n not in values]
    if missing:
        raise DeliveryError(
            tr("{where}: no value for {{{name}}}").format(where=where, name=missing[0]),
            retryable=False,
        )
    at = f"{where}, {row}" if row else where

    def host(m: re.Match[str]) -> str:
        name = names[int(m.group(1))]
        if not _HOST_NAME.match(values[name]):
            raise _refusal(at, values, name, "host")
        return values[name]

    def one_value(m: re.Match[str]) -> str:
        return quote(values[names[int(m.group(1))]], safe="")

    parts = urlsplit(_skeleton(t))
    netloc = _TOKEN.sub(host, parts.netloc)
    path = _fill_path(parts.path, names, values, at)
    query = _TOKEN.sub(one_value, parts.query)
    fragment = _TOKEN.sub(one_value, parts.fragment)
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _refusal(at: str, values: dict[str, str], name: str, why: str) -> DeliveryError:
    """``why``: ``host`` (not a host name), ``path`` (would climb) or ``empty``."""
    shown = "" if name == "secret" else f" ({values[name][:80]!r})"
    sentence = {
        "host": tr("{where}: the value of {{{name}}}{shown} is not a host name; nothing was sent"),
        "path": tr(
            "{where}: the value of {{{name}}}{shown} would change the address's path; nothing was sent"
        ),
        "empty": tr(
            "{where}: the value of {{{name}}} is empty, which would change the address's path; nothing was sent"
        ),
    }[why]
    return DeliveryError(sentence.format(where=at, name=name, shown=shown), retryable=False)


def _fill_path(path: str, names: list[str], values: dict[str, str], at: str) -> str:
    """``path`` of a URL skeleton with its placeholders filled, each value one encoded
    segment (a ``PATH_VALUES`` one may hold slashes); refuses a value that would climb or
    empty a segment (see ``render_url``)."""
    segments: list[str] = []
    for segment in path.split("/"):
        filled, last = segment, ""
        for m in _TOKEN.finditer(segment):
            name = names[int(m.group(1))]
            value = values[name]
            if name in PATH_VALUES:
                pieces = value.split("/")
                if any(p in _DOT_SEGMENTS for p in pieces):
                    raise _refusal(at, values, name, "path")
                encoded = "/".join(quote(p, safe="") for p in pieces)
            else:
                if _climbs(value):
                    raise _refusal(at, values, name, "path")
                encoded = quote(value, safe="")
            filled = filled.replace(m.group(0), encoded, 1)
            last = name
        if filled != segment and filled in _DOT_SEGMENTS:
            raise _refusal(at, values, last, "path" if filled else "empty")
        segments.append(filled)
    return "/".join(segments)


def literal_url(url: str, where: str) -> str:
    """A configured address that takes no row values (a webhook's, Slack's), checked by the
    same rules as a template: http(s) with a host. Its braces are literal characters.

    Raises:
        DeliveryError: (permanent) naming ``where`` (never the address: Slack's is a secret).
    """
    return render_url(url.replace("{", "{{").replace("}", "}}"), {}, where)
