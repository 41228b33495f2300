"""Coroutines the window runs on its qasync loop, kept until they end (asyncio holds tasks only
weakly) and cancelled together when the window closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from app.i18n import tr


class TaskSet:
    """Runs coroutines on the current event loop; an exception goes to ``on_error``.

    Args:
        on_error: called on the GUI thread with a readable message.
    """

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()
        self._on_error = on_error

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
        """Run ``coro``. Returns ``None`` (and drops ``coro``) when no loop runs any more, as
        while the window is torn down."""
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop.is_closed():
            coro.close()
            return None
        fut = asyncio.ensure_future(coro)
        self._tasks.add(fut)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, f: asyncio.Future[Any]) -> None:
        self._tasks.discard(f)
        if not f.cancelled() and f.exception() is not None:
            self._on_error(tr("Unexpected error: {error!r}").format(error=f.exception()))

    def cancel_all(self) -> None:
        """Cancel every task still running."""
        for t in list(self._tasks):
            t.cancel()
