"""Each CJK language is drawn in a font with its own glyph forms, and every character of its
words has a glyph there (no tofu)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QFontInfo, QRawFont
from PySide6.QtWidgets import QApplication

from atelier.studio.look.fonts import apply_ui_font

WORDS = {
    "ja": ("Noto Sans CJK JP", "ネガティブプロンプト 再生成 シード 商品名 ｛商品名｝ 骨"),
    "zh_Hans": ("Noto Sans CJK SC", "负面提示词 重新生成 种子 批处理 骨"),
    "zh_Hant": ("Noto Sans CJK TC", "負面提示詞 重新產生 種子 批次 臺灣 骨"),
    "ko": ("Noto Sans CJK KR", "네거티브 프롬프트 다시 생성 시드 배치"),
}


@pytest.fixture
def restore_font(qapp: QApplication) -> Iterator[None]:
    before = qapp.font()
    yield
    qapp.setFont(before)


@pytest.mark.usefixtures("restore_font")
@pytest.mark.parametrize("language", sorted(WORDS))
def test_the_window_font_follows_the_language(qapp: QApplication, language: str) -> None:
    family, words = WORDS[language]
    font = apply_ui_font(qapp, language)
    assert QFontInfo(qapp.font()).family() == family  # the region's face, installed by setup
    raw = QRawFont.fromFont(font)
    missing = [c for c in words if not c.isspace() and not raw.supportsCharacter(ord(c))]
    assert missing == []


@pytest.mark.usefixtures("restore_font")
def test_english_keeps_the_system_font(qapp: QApplication) -> None:
    before = qapp.font().families()
    assert apply_ui_font(qapp, "en").families() == before
