"""What the window's actions are given instead of the whole window: ``Shell``, the few things
every action uses (the store, the engine and its thread, the price table, the batch on
screen, the task runner, the error funnel, the status bar, the widget questions are asked
over). Each action module adds what it needs on top of it in a small protocol of its own
(``SpendWindow``, ``StartWindow``, ``ReviewWindow``, ``DeliveryWindow``, ``InterruptedWindow``);
``atelier.studio.main_window.MainWindow`` satisfies them all by its shape.

Why protocols and not the window's class: the window builds its actions, so an action that
imported the window's module made an import circle (issue 29), and a protocol says in one
place what an action may touch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from PySide6.QtWidgets import QStatusBar, QWidget

from atelier.engine.engine import Engine
from atelier.engine.runner import EngineThread
from atelier.pricing.table import PriceTable
from atelier.store import Store
from atelier.studio.tasks import StoreOps


class Shell(Protocol):
    """What every action uses of the window.

    Attributes:
        store: the window's store (read on the GUI thread for small reads only; written
            only through ``ops``).
        ops: runs store writes off the GUI thread (``atelier.studio.tasks.StoreOps``).
        engine: the engine; its methods are called on its thread through ``host``.
        host: the engine's thread.
        prices: the price table.
    """

    store: Store
    ops: StoreOps
    engine: Engine
    host: EngineThread
    prices: PriceTable

    @property
    def batch_id(self) -> int | None:
        """The batch on screen (``None``: none yet)."""
        ...

    def window(self) -> QWidget:
        """The top-level widget: the parent of questions and of the actions' objects."""
        ...

    def statusBar(self) -> QStatusBar:
        """Where short messages are shown."""
        ...

    def report_error(self, message: str, level: str = "error") -> None:
        """The error funnel (the banner)."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
        """Run ``coro`` on the window's loop; its failure reaches the error funnel."""
        ...


class Runs(Protocol):
    """The window's verbs on a stored batch, for the actions that open and run one."""

    def open_batch(self, batch_id: int) -> None:
        """Show ``batch_id`` in the progress table and the gallery."""
        ...

    def run_batch(
        self, batch_id: int, show_progress: bool = True, queue_url: str | None = None
    ) -> None:
        """Run stored ``batch_id`` on the engine thread."""
        ...

    def update_actions(self) -> None:
        """Enable the toolbar's actions as the run on screen allows."""
        ...
