"""Starts the studio: QApplication + qasync loop + store + engine + main window."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from atelier.core.collector import without_cycle_collector
from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.logs import install_crash_handler, setup_logging
from atelier.core.settings import Settings
from atelier.engine.service import open_engine
from atelier.engine.warm import import_run_modules
from atelier.store import Store
from atelier.store.db import StoreError

APP_ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "atelier.svg"


WARMED = threading.Event()
"""Set once the modules a run needs are imported (``atelier.engine.warm``), on the warm-up
thread the window starts after its first paint (``bench/window.py`` presses Start after it)."""


def _warm_up() -> None:
    try:
        import_run_modules()
        # What the imports made lives as long as the process: out of the collector's sight,
        # as the window's own objects are (``build_window``), else the first full pass after
        # Start walked scipy's and numpy's objects too.
        gc.freeze()
    finally:
        WARMED.set()


def build_window(ask: Callable[[StoreError], bool] | None = None) -> tuple[object, Store]:
    """Create the main window on the current QApplication (used by ``main`` and the tests).

    The engine runs in a thread of its own; a 1 ms GIL switch interval (5 ms by default) lets
    the GUI thread in often enough to paint at 60 Hz while that thread is busy. What exists once
    the window is built lives as long as the process, so it is moved out of the cyclic garbage
    collector's sight (``gc.freeze``): a full collection holds the GIL, and one over every
    imported module's objects stalled the window for 20–80 ms at a time (bench/window.py).
    """
    sys.setswitchinterval(0.001)
    # Nothing made before the first window is garbage: no collection pass while it is built
    # (a full one walks every imported module's objects).
    with without_cycle_collector():
        from atelier.studio.main_window import MainWindow
        from atelier.studio.widgets.questions import ask_move_damaged, open_store

        settings = Settings.load()
        store = open_store(ask or ask_move_damaged)
        engine = open_engine(store, settings)
        # One price table for the estimate and the engine: Settings' Import reloads both.
        window = MainWindow(store, engine, settings, engine.prices)
    # After the first paint (the start-up's measure), before the designer can press Start.
    QTimer.singleShot(
        100,
        lambda: threading.Thread(target=_warm_up, name="atelier-warm-up", daemon=True).start(),
    )
    return window, store


def _report_first_paint(window: object, app: QApplication) -> None:
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
            if ev.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                print(f"first-paint {time.time():.6f}", flush=True)
                QTimer.singleShot(0, app.quit)
            return False

    window._first_paint = FirstPaint()  # type: ignore[attr-defined]
    window.installEventFilter(window._first_paint)  # type: ignore[attr-defined]


def import_when_shown(window: object, sheet: Path) -> None:
    """Import ``sheet`` into ``window`` as soon as the loop runs, after the first paint (a file
    opened with Atelier from the desktop, ``atelier %f``); a problem reaches the banner."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, lambda: window.load_spreadsheet(sheet))  # type: ignore[attr-defined]


def main(argv: Sequence[str] = (), sheet: Path | None = None) -> int:
    """Run the studio until its window is closed, with ``sheet`` imported first when given;
    returns the exit code."""

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Atelier")
    app.setOrganizationName("Atelier")
    app.setDesktopFileName("io.github.atelier.Studio")
    app.setWindowIcon(QIcon(str(APP_ICON)))
    from atelier.core.i18n import current_language, system_language, use_language
    from atelier.studio.look.fonts import apply_ui_font
    from atelier.studio.look.qt_translations import install_qt_translations
    from atelier.studio.look.theme import follow_system

    use_language(Settings.load().language or system_language())
    install_qt_translations(app)
    apply_ui_font(app, current_language())
    follow_system(app)  # type: ignore[arg-type]
    from atelier.studio.loop import WindowLoop

    loop = WindowLoop(app)
    asyncio.set_event_loop(loop)
    try:
        setup_logging()
        install_crash_handler()
        window, store = build_window()
    except AtelierError as e:  # ATELIER_HOME or the store cannot be used: said, not a traceback
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, tr("Atelier cannot start"), str(e))
        return 2
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)  # type: ignore[attr-defined]
    if os.environ.get(
        "ATELIER_EXIT_AFTER_PAINT"
    ):  # bench/startup.py: report the first paint, then quit
        _report_first_paint(window, app)
    window.show()  # type: ignore[attr-defined]
    if sheet is not None:
        import_when_shown(window, sheet.resolve())
    smoke = os.environ.get("ATELIER_SMOKE_TEST")  # the bundle's check (.ci/run)
    if smoke:
        from atelier.studio.smoke import run as smoke_run

        with loop:
            ok = loop.run_until_complete(smoke_run(window, Path(smoke)))
        store.close()
        return 0 if ok else 1
    with loop:
        loop.run_until_complete(closed.wait())
    store.close()
    return 0
