"""Reference images from http(s) URLs in a spreadsheet: Shopify's ``Image Src`` and
WooCommerce's ``Images`` (a comma-separated list, WooCommerce "Product CSV Import Schema").

The user chose these addresses, so a private host is allowed (an intranet or a local server
too, unlike the URLs a provider hands back, see ``HttpProvider.check_url``), but never a cloud
metadata or link-local one, and a redirect to another host only when it is public
(``atelier.core.addresses``); what is limited is what comes back: at most ``MAX_REDIRECTS`` redirects, ``MAX_BYTES``, an image type Pillow can read.
Each URL is downloaded once into ``ATELIER_HOME/cache/references/`` (named by the URL's
SHA-256) and read from there afterwards, by the preview and by every job that names it.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

from atelier.core import paths
from atelier.core.addresses import AddressRefusedError, check_host_sync
from atelier.core.errors import InputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr

MAX_BYTES = 50_000_000  # OpenAI edits take images under 50 MB (API reference, images/edits)
MAX_REDIRECTS = 5
TIMEOUT_S = 30.0
_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")  # S3 serves the last
_SPLIT = re.compile(r"\s*,\s*(?=https?://)", re.IGNORECASE)


class RemoteImageError(InputError):
    """A reference URL could not be used. ``transient``: a retry later may succeed (network,
    5xx, 429); otherwise the address or what it serves is wrong."""

    def __init__(self, url: str, message: str, transient: bool = False) -> None:
        super().__init__(url, message)
        self.transient = transient


def is_url(text: str) -> bool:
    """Whether ``text`` is an http(s) address (the only schemes fetched)."""
    return text.strip().lower().startswith(("http://", "https://"))


def split_urls(cell: str) -> list[str]:
    """A cell's URLs: WooCommerce lists several with commas; a comma only separates where a
    new ``http(s)://`` follows, so a comma inside one URL is kept."""
    return [u for u in _SPLIT.split(cell.strip()) if u]


def cache_path(url: str) -> Path:
    """Where ``url``'s image is kept once downloaded."""
    return paths.home() / "cache" / "references" / hashlib.sha256(url.encode()).hexdigest()


def cached(url: str) -> Path | None:
    """The downloaded file of ``url``, or ``None`` when it has not been fetched yet."""
    p = cache_path(url)
    return p if p.is_file() else None


def fetch(url: str, client: httpx.Client | None = None) -> Path:
    """The local copy of the image at ``url``, downloaded now unless it is cached (blocking:
    run it in a thread).

    Raises:
        RemoteImageError: the address cannot be reached (``transient``), answers an error,
            redirects more than ``MAX_REDIRECTS`` times, serves more than ``MAX_BYTES`` or
            something that is not an image.
    """
    hit = cached(url)
    if hit is not None:
        return hit
    with _lock_for(url):  # the variants of one product share its photo: one download
        return cached(url) or _fetch_now(url, client)


def _lock_for(url: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(url, threading.Lock())


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _fetch_now(url: str, client: httpx.Client | None) -> Path:
    if not is_url(url):
        raise RemoteImageError(url, tr("only http:// and https:// addresses are downloaded"))
    own = client is None
    guard = _guard(url)
    c = client or httpx.Client(
        timeout=TIMEOUT_S,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"request": [guard]},  # called for the first request and every redirect
    )
    try:
        if not own:
            guard(c.build_request("GET", url))
        data = _download(c, url)
    finally:
        if own:
            c.close()
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise RemoteImageError(
            url, tr("not an image Atelier can read ({reason})").format(reason=e)
        ) from e
    path = cache_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    return path


def _guard(url: str) -> Callable[[httpx.Request], None]:
    """The address guard (``atelier.core.addresses``) of a download and its redirects: the host the
    sheet names may be private (an intranet), never a cloud metadata or link-local one; a
    redirect to another host must be public.

    Raises (from the returned hook): ``RemoteImageError`` naming the host; nothing is fetched.
    """
    first = httpx.URL(url).host

    def check(request: httpx.Request) -> None:
        host = request.url.host
        try:
            check_host_sync(host, user_set=host == first)
        except AddressRefusedError as e:
            raise RemoteImageError(
                url,
                (
                    tr("{host} is a cloud metadata or link-local address; Atelier never calls it")
                    if e.kind == "metadata"
                    else tr("redirected to {host}, on a private or local network; not followed")
                ).format(host=host),
            ) from None

    return check


def _download(c: httpx.Client, url: str) -> bytes:
    """The body of ``url``, checked against the limits as it arrives.

    Raises:
        RemoteImageError: as ``fetch``.
    """
    try:
        with c.stream("GET", url, headers={"Accept": "image/*"}) as resp:
            if resp.status_code >= 400:
                raise RemoteImageError(
                    url,
                    tr("the server answered HTTP {status}").format(status=resp.status_code),
                    transient=resp.status_code >= 500 or resp.status_code == 429,
                )
            kind = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind and not kind.startswith(_TYPES):
                raise RemoteImageError(
                    url, tr("the address serves {kind}, not an image").format(kind=kind)
                )
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise RemoteImageError(url, _too_big(int(declared)))
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise RemoteImageError(url, _too_big(size))
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TooManyRedirects as e:
        raise RemoteImageError(
            url,
            tr("redirected more than {limit} times").format(limit=MAX_REDIRECTS),
        ) from e
    except httpx.InvalidURL as e:
        raise RemoteImageError(url, tr("not a valid address ({reason})").format(reason=e)) from e
    except httpx.HTTPError as e:
        raise RemoteImageError(
            url,
            tr("cannot download: {error} {reason}")
            .format(error=type(e).__name__, reason=e)
            .strip(),
            transient=True,
        ) from e


def _too_big(size: int) -> str:
    return tr("the image is larger than {limit:g} MB ({size:,} bytes or more)").format(
        limit=MAX_BYTES / 1e6, size=size
    )
