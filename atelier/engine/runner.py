"""Runs the engine on its own asyncio loop in a background thread.

The window keeps its own (qasync) loop for small UI tasks; batches run here, so saving images,
writing the store and parsing responses never take time from painting. Events cross back to
the window through ``EngineBridge``'s queue; commands go in with ``call``/``submit``, both
thread-safe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from atelier.core.models import BatchReport
from atelier.engine.engine import Engine


class Elsewhere(Protocol):
    """Where a batch runs when not in this engine: given the engine, the batch and the queue
    new batches go on (``""``: none), a coroutine that runs it there (a team queue:
    ``atelier.team.control.on_queue``), or ``None`` to run it here. The caller (the window)
    supplies it, so the engine never imports the team that sits above it."""

    def __call__(
        self, engine: Engine, batch_id: int, queue_url: str
    ) -> Coroutine[Any, Any, BatchReport | None] | None:
        """The coroutine running ``batch_id`` elsewhere, else ``None``."""


class EngineThread:
    """A daemon thread owning ``engine`` and an event loop.

    Attributes:
        engine: the engine; call its methods only through ``call``/``submit``.
        elsewhere: where a batch that does not run here runs (``Elsewhere``; ``None``: every
            batch runs here).
    """

    def __init__(self, engine: Engine, elsewhere: Elsewhere | None = None) -> None:
        self.engine = engine
        self.elsewhere = elsewhere
        self.queue_url = ""
        """Set by the window (Settings → Team queue): new batches go on that queue."""
        self.loop = asyncio.new_event_loop()
        self._runs: dict[int, concurrent.futures.Future[BatchReport]] = {}
        self._thread = threading.Thread(target=self._main, name="atelier-engine", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run ``coro`` on the engine loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the engine loop, soon."""
        self.loop.call_soon_threadsafe(fn, *args)

    def run_batch(self, batch_id: int) -> concurrent.futures.Future[BatchReport]:
        """Start (or resume) a batch; its events arrive through the engine's bus. Where
        ``elsewhere`` takes it (with ``queue_url`` set, or a batch already on a team queue),
        it runs there instead."""
        e = self.engine
        away = self.elsewhere(e, batch_id, self.queue_url) if self.elsewhere else None
        fut = self.submit(away if away is not None else e.run(batch_id))
        self._runs[batch_id] = fut
        fut.add_done_callback(lambda _f: self._runs.pop(batch_id, None))
        return fut

    def is_running(self, batch_id: int) -> bool:
        """Whether a run of ``batch_id`` was started here and has not ended."""
        return batch_id in self._runs

    def stop(self, timeout_s: float = 10.0) -> None:
        """Interrupt running batches (they stay resumable, their remote jobs left running to
        be followed: ``Engine.detach``) and end the thread."""
        self.engine.detach()
        for fut in list(self._runs.values()):
            fut.cancel()  # cancels the task on the engine loop: jobs go back to pending
        deadline = timeout_s
        for fut in list(self._runs.values()):
            try:
                fut.exception(timeout=deadline)
            except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
                pass

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            try:
                self.submit(shutdown()).result(timeout=timeout_s)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout_s)
