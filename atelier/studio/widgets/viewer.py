"""The full-size image viewer and "Show in folder"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.output.images import read_metadata
from atelier.studio.look.fit import resize_within


def show_in_folder(path: Path) -> None:
    """Open the file manager on the folder holding ``path``."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent if path.is_file() else path)))


class ImageViewer(QDialog):
    """The full image, its prompt and parameters, and "Show in folder"."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(path.name)
        self.path = path
        layout = QVBoxLayout(self)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pm = QPixmap(str(path))
        self.original_size = pm.size()
        self.image.setPixmap(
            pm.scaled(
                900,
                700,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        meta: dict[str, Any] = read_metadata(path) or {}
        info = QLabel(
            f"<b>{path.name}</b> · {pm.width()}×{pm.height()} · {meta.get('provider', '?')} / "
            f"{meta.get('model', '?')}<br>{meta.get('prompt', '')}"
        )
        info.setWordWrap(True)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(info)
        row = QHBoxLayout()
        folder = QPushButton(tr("Show in folder"))
        folder.clicked.connect(lambda: show_in_folder(path))
        open_ext = QPushButton(tr("Open in default app"))
        open_ext.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.accept)
        row.addWidget(folder)
        row.addWidget(open_ext)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        resize_within(self, 960, 820)
