"""Status icons drawn at run time, and the toolbar's SVG icons (``resources/icons``) drawn in
the colour scheme's text colour."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.i18n import N_, tr

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
    """A filled circle in the status colour, with a mark for done/failed."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(STATUS_COLORS.get(status, "#9aa0a6")))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    pen = QPen(QColor("white"), max(1.5, size / 8))
    p.setPen(pen)
    if status == "completed":
        p.drawLine(int(size * 0.28), int(size * 0.52), int(size * 0.45), int(size * 0.7))
        p.drawLine(int(size * 0.45), int(size * 0.7), int(size * 0.74), int(size * 0.32))
    elif status == "failed":
        p.drawLine(int(size * 0.32), int(size * 0.32), int(size * 0.68), int(size * 0.68))
        p.drawLine(int(size * 0.68), int(size * 0.32), int(size * 0.32), int(size * 0.68))
    p.end()
    return QIcon(pm)


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


ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"


def action_icon(name: str, color: str, size: int = 20) -> QIcon:
    """``resources/icons/<name>.svg`` drawn in ``color`` (its strokes are ``currentColor``),
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
