"""Light and dark: the window follows the system's colour scheme (``QStyleHints.colorScheme``,
live) on Qt's Fusion style, with a dark palette when the scheme is dark;
``ATELIER_COLOR_SCHEME=dark|light`` overrides the system (and is how the tests and the
screenshots see both). The few colours Atelier adds (muted notes, warnings, errors) come in a
light and a dark tone from here."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

# (on light, on dark): dark tones are lighter, so text keeps its contrast on a dark window.
TONES: dict[str, tuple[str, str]] = {
    "muted": ("#5f6368", "#a8adb3"),
    "warning": ("#8a5a00", "#f2c14e"),
    "caution": ("#b06000", "#fdba74"),
    "accent": ("#1a5fb4", "#8fbcf5"),
    "error": ("#b3261e", "#f28b82"),
    "ok": ("#1e8e3e", "#81c995"),
}
# Banner (background, text) by level.
BANNERS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "error": (("#fce8e6", "#b3261e"), ("#5c1d19", "#f6c6c1")),
    "warning": (("#fef7e0", "#8a5a00"), ("#4d3b00", "#fbe3a0")),
    "info": (("#e8f0fe", "#174ea6"), ("#1b2f55", "#c6dafc")),
}
_styled: weakref.WeakKeyDictionary[QWidget, str] = weakref.WeakKeyDictionary()
_listeners: list[Callable[[], None]] = []


def dark() -> bool:
    """Whether the window is in the dark colour scheme now (the override, else the system's)."""
    forced = os.environ.get("ATELIER_COLOR_SCHEME", "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """Fusion's colours for a dark window (text and highlights kept readable)."""
    p = QPalette()
    window, base, text = QColor("#2b2d30"), QColor("#1f2023"), QColor("#e8eaed")
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor("#26282b")),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, QColor("#35373b")),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor("#ffffff")),
        (QPalette.ColorRole.Highlight, QColor("#3d6fb6")),
        (QPalette.ColorRole.HighlightedText, QColor("#ffffff")),
        (QPalette.ColorRole.Link, QColor("#8fbcf5")),
        (QPalette.ColorRole.PlaceholderText, QColor("#9aa0a6")),
        (QPalette.ColorRole.Mid, QColor("#4a4d52")),
        (QPalette.ColorRole.Dark, QColor("#18191b")),
        (QPalette.ColorRole.Light, QColor("#4f5257")),
    ):
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d8187"))
    return p


def tone(name: str) -> str:
    """The colour ``name`` (a key of ``TONES``) for the scheme in force."""
    return TONES[name][1 if dark() else 0]


def banner(level: str) -> tuple[str, str]:
    """``(background, text)`` of a banner at ``level`` for the scheme in force."""
    light, night = BANNERS.get(level, BANNERS["info"])
    return night if dark() else light


def styled(widget: QWidget, css: str) -> None:
    """Give ``widget`` the style sheet ``css``, whose ``{muted}``, ``{error}``… are tones;
    it is styled again whenever the scheme changes."""
    _styled[widget] = css
    widget.setStyleSheet(css.format(**{k: tone(k) for k in TONES}))


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever the scheme changes (icons drawn in the text colour)."""
    _listeners.append(callback)


def text_color() -> str:
    """The window's text colour now (for icons drawn to match it)."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        return app.palette().color(QPalette.ColorRole.WindowText).name()
    return "#202124"


def _restyle() -> None:
    tones = {k: tone(k) for k in TONES}
    for widget, css in list(_styled.items()):
        try:
            widget.setStyleSheet(css.format(**tones))
        except RuntimeError:  # Qt deleted it with its window; the Python side lingers
            _styled.pop(widget, None)
    for callback in list(_listeners):
        try:
            callback()
        except RuntimeError:  # its actions were deleted with their window
            _listeners.remove(callback)


def _apply(app: QApplication) -> None:
    style = app.style()
    app.setPalette(dark_palette() if dark() else style.standardPalette())
    _restyle()


def follow_system(app: QApplication) -> None:
    """Use Fusion with the palette of the scheme in force, and apply the other one (and
    Atelier's own tones) whenever the system's scheme changes."""
    app.setStyle("Fusion")
    _apply(app)
    hints = app.styleHints()
    if hints is not None:
        hints.colorSchemeChanged.connect(lambda _scheme: _apply(app))
