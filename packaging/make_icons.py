"""Render ``atelier/resources/icons/atelier.svg`` into the platform icons the bundle needs
(``packaging/icons/atelier.png``, ``.ico`` for Windows, ``.icns`` for macOS), with Qt's SVG
renderer and Pillow's writers. Run after changing the SVG:

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "atelier" / "resources" / "icons" / "atelier.svg"


def render(size: int) -> Image.Image:
    """The SVG at ``size``×``size`` pixels, as a Pillow RGBA image."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main() -> None:
    _app = QGuiApplication([])
    out = HERE / "icons"
    out.mkdir(exist_ok=True)
    big = render(1024)
    render(256).save(out / "atelier.png")
    big.save(
        out / "atelier.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
    )
    big.save(out / "atelier.icns")
    for name in ("atelier.png", "atelier.ico", "atelier.icns"):
        print("wrote", out / name)


if __name__ == "__main__":
    main()
