"""The window in the language chosen (or the system's): its tabs, toolbar, menus and first
page; Qt's own words from PySide6's catalogs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atelier.core import i18n


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.use_language("ja")
    yield
    i18n.use_language("en")


@pytest.mark.usefixtures("japanese")
def test_the_window_in_japanese(qtbot: Any, qloop: Any, atelier_home: Any) -> None:
    from atelier.studio.app import build_window

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
            "チーム",
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


@pytest.mark.parametrize(
    ("language", "pattern"),
    [
        ("ja", "{y}/{m:02d}/{d:02d} {h}:{mi:02d}"),
        ("zh_Hans", "{y}/{m}/{d} {h:02d}:{mi:02d}"),
        ("en", None),
    ],
)
def test_dates_follow_the_language(language: str, pattern: str | None) -> None:
    """The store's UTC timestamps are shown in local time, in the language's CLDR order."""
    from datetime import datetime

    from atelier.studio.look.locale_format import local_datetime

    iso = "2026-12-03T04:22:53.120+00:00"
    local = datetime.fromisoformat(iso).astimezone()
    i18n.use_language(language)
    try:
        shown = local_datetime(iso)
    finally:
        i18n.use_language("en")
    if pattern is None:
        # English follows the system's locale: whatever its order, the local hour is there.
        assert f"{local:%M}" in shown and shown != iso
    else:
        fields = {"y": local.year, "m": local.month, "d": local.day, "h": local.hour}
        assert shown == pattern.format(mi=local.minute, **fields)
    assert local_datetime("not a date") == "not a date"
