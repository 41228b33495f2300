"""Qt's own dialogs speak the system's language (PySide6's qtbase catalogs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QLocale

from atelier.studio.look import qt_translations
from atelier.studio.look.qt_translations import install_qt_translations


@pytest.fixture
def app(qapp: Any) -> Iterator[QCoreApplication]:
    instance = QCoreApplication.instance()
    assert instance is not None
    yield instance
    for t in qt_translations._kept:  # leave the other tests in English
        instance.removeTranslator(t)
    qt_translations._kept.clear()


@pytest.mark.parametrize(
    ("locale", "catalog", "open_save"),
    [
        ("ja_JP", "ja", ("開く", "保存")),
        ("zh_CN", "zh_CN", ("打开", "保存")),
        ("zh_TW", "zh_TW", ("開啟", "儲存")),  # Traditional, not Simplified
        ("zh_Hant_HK", "zh_TW", ("開啟", "儲存")),
        ("ko_KR", "ko", ("열기", "저장")),
        ("en_US", "en", ("Open", "Save")),
    ],
)
def test_qt_buttons_in_the_system_language(
    app: QCoreApplication, locale: str, catalog: str, open_save: tuple[str, str]
) -> None:
    assert install_qt_translations(app, QLocale(locale)) == catalog
    words = tuple(QCoreApplication.translate("QPlatformTheme", w) for w in ("Open", "Save"))
    assert words == open_save


def test_qt_follows_the_language_chosen_not_the_system(app: QCoreApplication) -> None:
    """Japanese chosen in Settings on an English (here: C) system: Qt's buttons in Japanese."""
    from atelier.core import i18n

    i18n.use_language("ja")
    try:
        assert install_qt_translations(app) == "ja"
    finally:
        i18n.use_language("en")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "キャンセル"
