"""The window in the language chosen (or the system's): its tabs, toolbar, menus and first
page; Qt's own words from PySide6's catalogs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import i18n


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.use_language("ja")
    yield
    i18n.use_language("en")


@pytest.mark.usefixtures("japanese")
def test_the_window_in_japanese(qtbot: Any, qloop: Any, atelier_home: Any) -> None:
    from ui.app import build_window

    win, store = build_window()
    try:
        qtbot.addWidget(win)
        tabs = [win.tabs.tabText(i) for i in range(win.tabs.count())]  # type: ignore[attr-defined]
        assert tabs == [
            "1 · スプレッドシートとテンプレート",
            "2 · バッチと見積もり",
            "3 · 進行状況",
            "4 · ギャラリー",
            "履歴",
        ]
        acts = win.acts  # type: ignore[attr-defined]
        assert [acts.start.text(), acts.pause.text(), acts.settings.text()] == [
            "開始",
            "一時停止",
            "設定",
        ]
        assert win.sheet.sample_button.text() == "サンプルプロジェクトを試す"  # type: ignore[attr-defined]
    finally:
        win.close()  # type: ignore[attr-defined]
        store.close()
