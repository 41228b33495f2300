"""Several self-hosted servers (AUTOMATIC1111 / ComfyUI boxes) served as one lane: a job goes
to the first idle server, and each server runs one job at a time, so N GPUs make N images at
once without Redis (issue 16, "self-hosted farms").

The servers are listed where one endpoint is written: ``--base-url``, the provider's
``ATELIER_<PROVIDER>_BASE_URL`` or Settings → Providers → Endpoint, separated by commas or
spaces (``http://gpu1:7860, http://gpu2:7860``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace

from atelier.core.errors import ProviderError
from atelier.core.i18n import tr
from atelier.providers.base import Capabilities, GenerationRequest, GenerationResult, Provider

_SEPARATORS = re.compile(r"[\s,]+")


def split_base_urls(text: str | None) -> list[str]:
    """The endpoints listed in ``text`` (comma- or space-separated), in order, each once;
    ``[]`` for none."""
    return list(dict.fromkeys(u for u in _SEPARATORS.split(text or "") if u))


class Farm(Provider):
    """One provider over ``servers`` (adapters of the same self-hosted provider, one per
    endpoint). ``generate`` waits for an idle server and sends the job there; a server's
    failure is that job's failure (retried like any other, most likely on another server).

    Build it with ``farm_of``: a farm's capabilities are its servers' with
    ``max_concurrency`` and ``default_concurrency`` set to the number of servers.

    Attributes:
        servers: the adapters, in the order their endpoints were listed.
    """

    def __init__(self, servers: list[Provider]) -> None:
        super().__init__(None, ", ".join(str(s.base_url) for s in servers))
        self.servers = servers
        self.fixed_concurrency = len(servers)
        self._idle: asyncio.Queue[Provider] | None = None

    def _queue(self) -> asyncio.Queue[Provider]:
        # Made on first use, inside the engine's event loop.
        if self._idle is None:
            self._idle = asyncio.Queue()
            for s in self.servers:
                self._idle.put_nowait(s)
        return self._idle

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Make ``request`` on the first idle server (waiting for one when all are busy).

        Raises:
            ProviderError: as the server's adapter raises it.
        """
        idle = self._queue()
        server = await idle.get()
        try:
            return await server.generate(request)
        finally:
            idle.put_nowait(server)

    def unexpected(self, e: Exception) -> ProviderError:
        """As the servers' adapter classifies it."""
        return self.servers[0].unexpected(e)

    async def test_connection(self) -> str:
        """Every server's verdict, one per line.

        Raises:
            ProviderError: the first server that cannot be reached, named by its endpoint.
        """
        lines = [await s.test_connection() for s in self.servers]
        head = tr("{count} servers, one job at a time each:").format(count=len(self.servers))
        return "\n".join([head, *lines])

    async def aclose(self) -> None:
        """Release every server's connections."""
        for s in self.servers:
            await s.aclose()


def farm_of(servers: list[Provider]) -> Farm:
    """A ``Farm`` over ``servers`` (at least two, all of one provider class).

    Raises:
        ValueError: fewer than two servers, or servers of different providers.
    """
    if len(servers) < 2 or len({type(s) for s in servers}) != 1:
        raise ValueError("a farm needs two or more servers of one provider")
    caps: Capabilities = replace(
        servers[0].capabilities,
        max_concurrency=len(servers),
        default_concurrency=len(servers),
    )
    # A class per farm: ``capabilities`` is a class attribute every lane and check reads.
    cls: type[Farm] = type(f"{type(servers[0]).__name__}Farm", (Farm,), {"capabilities": caps})
    return cls(servers)


def provider_or_farm(base_url: str, make: Callable[[str], Provider], local: bool) -> Provider:
    """``make(base_url)``, or a farm of ``make(url)`` for each endpoint ``base_url`` lists
    when it lists several and the provider is self-hosted (``local``)."""
    urls = split_base_urls(base_url)
    if local and len(urls) > 1:
        return farm_of([make(u) for u in urls])
    return make(base_url)
