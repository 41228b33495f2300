"""Starts the studio: QApplication + qasync loop + store + engine + main window."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from app import paths
from app.logs import install_crash_handler, setup_logging
from app.service import load_prices, open_engine
from app.settings import Settings
from app.store import Store


def build_window() -> tuple[object, Store]:
    """Create the main window on the current QApplication (used by ``main`` and the tests)."""
    from ui.main_window import MainWindow

    settings = Settings.load()
    store = Store(paths.store_path())
    engine = open_engine(store, settings)
    return MainWindow(store, engine, settings, load_prices()), store


def main(argv: Sequence[str] = ()) -> int:
    """Run the studio until its window is closed; returns the exit code."""
    import qasync

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Atelier")
    app.setOrganizationName("Atelier")
    app.setDesktopFileName("atelier")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    setup_logging()
    install_crash_handler()
    window, store = build_window()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)  # type: ignore[attr-defined]
    window.show()  # type: ignore[attr-defined]
    with loop:
        loop.run_until_complete(closed.wait())
    store.close()
    return 0
