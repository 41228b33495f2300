"""Coroutines the window runs on its qasync loop, kept until they end (asyncio holds tasks only
weakly) and cancelled together when the window closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QTimer

from atelier.core.i18n import tr

T = TypeVar("T")


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


async def ask_outside_task(ask: Callable[..., T], *args: Any) -> T:
    """``ask(*args)`` (a question in a modal dialog, which runs a nested event loop) called
    from Qt's event loop instead of inside the awaiting task, and its answer awaited.

    Why: a modal ``exec()`` inside a task's step keeps that task "being executed" while qasync
    steps the loop's other tasks from the nested loop, and asyncio refuses each of them
    ("Cannot enter into task … while another task … is being executed": the estimate and every
    other coroutine died while the spend question was open). Raises what ``ask`` raises.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()

    def call() -> None:
        if answer.done():  # the awaiting task was cancelled (the window closed)
            return
        try:
            result = ask(*args)
        except Exception as e:  # handed to the awaiting task, which reports it
            if not answer.done():
                answer.set_exception(e)
            return
        if not answer.done():
            answer.set_result(result)

    QTimer.singleShot(0, call)
    return await answer
