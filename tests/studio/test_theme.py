"""The window follows a dark colour scheme: Fusion's dark palette, and Atelier's own tones
(muted notes, errors) lighter so they keep their contrast; back again for light."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel

from atelier.studio.look import theme


def test_dark_and_back(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    label = QLabel("note")
    theme.styled(label, "color: {muted}")
    try:
        monkeypatch.setenv("ATELIER_COLOR_SCHEME", "dark")
        theme.follow_system(app)
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
        assert label.styleSheet() == f"color: {theme.TONES['muted'][1]}"
        assert theme.banner("error") == theme.BANNERS["error"][1]
    finally:
        monkeypatch.setenv("ATELIER_COLOR_SCHEME", "light")
        theme.follow_system(app)
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180
    assert label.styleSheet() == f"color: {theme.TONES['muted'][0]}"
