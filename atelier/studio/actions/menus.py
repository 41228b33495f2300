"""The window's actions, its toolbar and its menus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar, QToolButton

from atelier.core.i18n import tr
from atelier.studio import a11y
from atelier.studio.look import theme
from atelier.studio.look.icons import action_icon


@dataclass
class Actions:
    """Every toolbar and menu action of the studio window."""

    open: QAction
    start: QAction
    pause: QAction
    cancel: QAction
    retry_selected: QAction
    retry_failed: QAction
    retry_deliveries: QAction
    settings: QAction


def build_actions(window: QMainWindow, slots: dict[str, Callable[[], object]]) -> Actions:
    """Make the actions (``slots`` maps each field of ``Actions`` to its slot, and ``"quit"``
    to File → Quit's, ``window.close`` by default), the toolbar and the File and Batch menus
    of ``window``."""
    tb = QToolBar(tr("Main"))
    tb.setObjectName("main_toolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.addToolBar(tb)
    # Qt's ">>" buttons for what does not fit (a narrow screen, a long translation) have no
    # text: a screen reader would announce a nameless check box and a nameless button.
    a11y.name(tb.findChild(QToolButton, "qt_toolbar_ext_button"), tr("More tools"))
    a11y.name(window.menuBar().findChild(QToolButton, "qt_menubar_ext_button"), tr("More menus"))

    def act(key: str, text: str, shortcut: QKeySequence | str | None = None) -> QAction:
        a = QAction(text, window)
        a.triggered.connect(slots[key])
        if shortcut:
            a.setShortcut(shortcut)
        tb.addAction(a)
        return a

    acts = Actions(
        open=act("open", tr("Open…"), QKeySequence.StandardKey.Open),
        start=act("start", tr("Start"), "Ctrl+Return"),
        pause=act("pause", tr("Pause")),
        cancel=act("cancel", tr("Cancel")),
        retry_selected=act("retry_selected", tr("Retry selected")),
        retry_failed=act("retry_failed", tr("Retry all failed")),
        retry_deliveries=act("retry_deliveries", tr("Retry deliveries")),
        settings=act("settings", tr("Settings"), QKeySequence.StandardKey.Preferences),
    )
    _paint_icons(acts)
    for before in (acts.start, acts.retry_selected, acts.settings):
        tb.insertSeparator(before)
    file_menu = window.menuBar().addMenu(tr("&File"))
    file_menu.addActions([acts.open, acts.settings])
    file_menu.addSeparator()
    quit_action = file_menu.addAction(tr("Quit"))
    quit_action.setShortcut(QKeySequence.StandardKey.Quit)
    # A quit the user asks for goes through the window's own slot, which asks first when a
    # batch runs; closing the window programmatically does not ask.
    quit_action.triggered.connect(slots.get("quit", window.close))
    batch_menu = window.menuBar().addMenu(tr("&Batch"))
    batch_menu.addActions(
        [
            acts.start,
            acts.pause,
            acts.cancel,
            acts.retry_selected,
            acts.retry_failed,
            acts.retry_deliveries,
        ]
    )
    return acts


def _paint_icons(acts: Actions) -> None:
    """The toolbar's SVG icons in the window's text colour, drawn again when the colour
    scheme changes."""
    icons = {
        acts.open: "open",
        acts.start: "start",
        acts.pause: "pause",
        acts.cancel: "cancel",
        acts.retry_selected: "retry",
        acts.retry_failed: "retry-failed",
        acts.retry_deliveries: "deliver",
        acts.settings: "settings",
    }

    def paint() -> None:
        color = theme.text_color()
        for action, name in icons.items():
            action.setIcon(action_icon(name, color))

    paint()
    theme.on_change(paint)
