"""The reference image of the selected row in the sheet page's preview: a file beside the
sheet, or the first URL of the cell, downloaded in the background (``atelier.sheet.remote``) and shown
as a 160-pixel thumbnail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from atelier.core.i18n import tr
from atelier.sheet import remote
from atelier.studio.look import theme

Spawn = Callable[[Coroutine[Any, Any, Any]], object]
"""Runs a coroutine on the window's loop (``MainWindow.spawn``)."""

THUMB = 160


class ReferencePreview(QLabel):
    """Shows one reference image, or why it cannot be shown.

    Args:
        spawn: runs the download on the window's loop (``None``: URLs are not fetched).
        refresh: called when a download ends, to show what is selected by then.
    """

    def __init__(self, spawn: Spawn | None, refresh: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("preview_reference")
        theme.styled(self, "color: {muted}")
        self.setWordWrap(True)
        self._spawn, self._refresh = spawn, refresh

    def show_cell(self, cell: str, base: Path) -> None:
        """Show the reference a cell names (relative paths from ``base``, the sheet's folder)."""
        self.setPixmap(QPixmap())
        self.setToolTip("")
        self.setMinimumHeight(0)
        if not cell:
            self.setText("")
            return
        if not remote.is_url(cell):
            path = Path(cell).expanduser()
            self._set(path if path.is_absolute() else base / path, cell)
            return
        url = remote.split_urls(cell)[0]
        hit = remote.cached(url)
        if hit is not None:
            self._set(hit, url)
        elif self._spawn is not None:
            self.setText(tr("Downloading the reference {url} …").format(url=url))
            self._spawn(self._download(url))

    async def _download(self, url: str) -> None:
        try:
            await asyncio.to_thread(remote.fetch, url)
        except remote.RemoteImageError as e:
            self.setText(tr("Reference: {reason}").format(reason=e))
            return
        self._refresh()  # the row may have changed meanwhile: show what is selected now

    def _set(self, path: Path, name: str) -> None:
        pix = QPixmap(str(path))
        if pix.isNull():
            self.setText(tr("Reference: cannot show {name}").format(name=name))
            return
        thumb = pix.scaled(
            THUMB,
            THUMB,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.setPixmap(thumb)
        self.setMinimumHeight(thumb.height())  # the preview box would squeeze it to nothing
        self.setToolTip(tr("Reference image: {name}").format(name=name))
