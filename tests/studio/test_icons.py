"""Every job status has its SVG icon, drawn in the status colour with its own mark."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from atelier.studio.look.icons import ICON_DIR, STATUS_COLORS, status_icon


def _image(status: str) -> QImage:
    return status_icon(status, 28).pixmap(28, 28).toImage()


def test_each_status_is_an_svg_in_its_colour(qapp: QApplication) -> None:
    marks = {}
    for status, color in STATUS_COLORS.items():
        assert (ICON_DIR / f"status-{status}.svg").is_file()
        img = _image(status)
        pixels = {img.pixelColor(x, y).name() for x in range(28) for y in range(28)}
        assert QColor(color).name() in pixels, status
        # The mark of each status differs from every other's (not one circle in six colours).
        marks[status] = [
            img.pixelColor(x, y).alpha() > 0 and img.pixelColor(x, y).name() == "#ffffff"
            for x in range(28)
            for y in range(28)
        ]
    assert len({tuple(m) for m in marks.values()}) == len(STATUS_COLORS)


def test_an_unknown_status_is_drawn_as_pending(qapp: QApplication) -> None:
    assert _image("no such status") == _image("pending")
