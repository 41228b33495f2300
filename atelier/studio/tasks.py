"""Coroutines the window runs on its qasync loop, kept until they end (asyncio holds tasks only
weakly) and cancelled together when the window closes; and ``StoreOps``, the one way the
window writes to the store (off the GUI thread)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QTimer

from atelier.core.errors import AtelierError
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


def when_done(task: asyncio.Future[T] | None, then: Callable[[T], object]) -> None:
    """``then(result)`` on the GUI thread once ``task`` ended with a result (not when it was
    cancelled or failed: its failure reaches the error funnel through ``TaskSet``)."""
    if task is None:
        return

    def done(f: asyncio.Future[T]) -> None:
        if not f.cancelled() and f.exception() is None:
            then(f.result())

    task.add_done_callback(done)


STORE_OP_THREAD = "store-op"
"""The name (prefix) of the thread the window's store writes run on."""


class StoreOps:
    """Store writes off the GUI thread, Anki's ``CollectionOp`` (aqt/operations): an op is a
    function run on a worker thread against the store (and, through ``EngineThread.call``,
    the engine), then a success callback on the GUI thread that shows what changed.

    Every write the window makes goes through here (``docs/architecture.md``: the GUI thread
    does only small reads). The ops run one at a time on one thread of their own, in the
    order they were asked for: a pick then a reject of the same image are stored in that
    order, as the user made them. A read that must see the writes asked before it (the
    picks an export takes) runs there too (``call``).

    Args:
        tasks: the window's coroutines (an op's failure other than an ``AtelierError`` reaches
            the error funnel through it).
    """

    def __init__(self, tasks: TaskSet) -> None:
        self._tasks = tasks
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=STORE_OP_THREAD)
        self._closed = False

    def run(
        self,
        op: Callable[[], T],
        on_success: Callable[[T], object] | None = None,
        on_failure: Callable[[AtelierError], object] | None = None,
    ) -> asyncio.Future[Any] | None:
        """Run ``op()`` on the store-op thread, then ``on_success(result)`` on the GUI thread.
        An ``AtelierError`` goes to ``on_failure`` (on the GUI thread) when given; any other
        failure reaches the error funnel. ``op`` is queued now, behind the ops asked before
        it. Returns the task (its result is ``op``'s, ``None`` after a failure), or ``None``
        when no loop runs any more (the window is closing: ``op`` is dropped if not
        started)."""
        if self._closed:
            return None
        queued = self._pool.submit(op)
        task = self._tasks.spawn(self._finish(queued, on_success, on_failure))
        if task is None:
            queued.cancel()
        return task

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the store-op thread, awaited (for a coroutine that writes between
        questions, as Start does). Raises what ``fn`` raises."""
        # Shielded: a window closing cancels the coroutine, never a write (``close`` waits).
        return await asyncio.shield(asyncio.wrap_future(self._pool.submit(fn, *args)))

    async def _finish(
        self,
        queued: concurrent.futures.Future[T],
        on_success: Callable[[T], object] | None,
        on_failure: Callable[[AtelierError], object] | None,
    ) -> T | None:
        try:
            result = await asyncio.shield(asyncio.wrap_future(queued))  # as in ``call``
        except AtelierError as e:
            if on_failure is None:
                raise
            on_failure(e)
            return None
        if on_success is not None:
            on_success(result)
        return result

    def drain(self) -> None:
        """Block until the ops asked so far have run, for a read on the GUI thread that must
        see them ("Regenerate all rejected" just after X). Ops never wait for the GUI thread,
        so this waits only as long as they take (a few ms)."""
        if not self._closed:
            self._pool.submit(lambda: None).result()

    def close(self) -> None:
        """Wait for the ops asked to be stored (the window closes before the store does; a
        pick made just before closing is kept). Their success callbacks do not run."""
        self._closed = True
        self._pool.shutdown(wait=True)
