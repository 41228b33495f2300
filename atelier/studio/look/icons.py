"""The SVG icons of ``atelier/resources/icons``: the toolbar's, drawn in the colour scheme's text
colour, and the job statuses', in their status colours; the gallery's placeholder tiles."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from atelier.core.i18n import N_, tr

STATUS_COLORS = {
    "pending": "#9aa0a6",
    "running": "#1a73e8",
    "waiting": "#f9ab00",
    "completed": "#1e8e3e",
    "failed": "#d93025",
    "cancelled": "#5f6368",
}
STATUS_LABELS = {
    "pending": N_("Pending"),
    "running": N_("Running"),
    "waiting": N_("Waiting to retry"),
    "completed": N_("Done"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}


@cache
def status_icon(status: str, size: int = 14) -> QIcon:
    """``atelier/resources/icons/status-<status>.svg`` in the status colour (a check for done, a cross
    for failed, a clock for waiting…); an unknown status is drawn as pending."""
    name = status if status in STATUS_COLORS else "pending"
    return action_icon(f"status-{name}", STATUS_COLORS[name], size)


@cache
def placeholder_pixmap(status: str, size: int = 180) -> QPixmap:
    """A tile for images not made (yet): status colour, status word."""
    pm = QPixmap(size, size)
    pm.fill(QColor("#f1f3f4"))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(STATUS_COLORS.get(status, "#9aa0a6")), 3))
    p.drawRoundedRect(QRectF(4, 4, size - 8, size - 8), 10, 10)
    p.setPen(QColor(STATUS_COLORS.get(status, "#5f6368")))
    p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, tr(STATUS_LABELS.get(status, status)))
    p.end()
    return pm


ICON_DIR = Path(__file__).resolve().parent.parent.parent / "resources" / "icons"


def action_icon(name: str, color: str, size: int = 20) -> QIcon:
    """``atelier/resources/icons/<name>.svg`` drawn in ``color`` (its strokes are ``currentColor``),
    at 1× and 2× so it stays sharp on a high-density screen."""
    svg = (ICON_DIR / f"{name}.svg").read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    icon = QIcon()
    for scale in (1, 2):
        pm = QPixmap(size * scale, size * scale)
        pm.setDevicePixelRatio(scale)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        renderer.render(p, QRectF(0, 0, size, size))
        p.end()
        icon.addPixmap(pm)
    return icon
