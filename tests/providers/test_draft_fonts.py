"""Draft placeholders draw Japanese, Chinese and Korean text in the face of its language,
never as boxes (tofu)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from atelier.core import i18n
from atelier.providers import draft

SAMPLES = {
    "ja": "ウォッシュドリネンの生成りのトートバッグ",
    "zh_Hans": "亚麻托特包 负面提示词",
    "zh_Hant": "亞麻托特包 負面提示詞",
    "ko": "리넨 토트백 네거티브 프롬프트",
}


def test_the_language_of_a_text() -> None:
    assert draft.text_language("리넨 토트백") == "ko"
    assert draft.text_language("生成りのトート") == "ja"
    assert draft.text_language("亞麻托特包", "zh_Hant") == "zh_Hant"  # Han alone: the window's
    assert draft.text_language("Linen tote") == "ja"


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_no_tofu_in_draft_placeholders(language: str) -> None:
    path = draft.font_path()
    assert path is not None and "NotoSansCJK" in path  # installed by scripts/setup.sh
    i18n.use_language(language if language.startswith("zh") else "en")
    try:
        face = draft._face(SAMPLES[language])
    finally:
        i18n.use_language("en")
    assert face == {"ja": 0, "ko": 1, "zh_Hans": 2, "zh_Hant": 3}[language]
    font = draft._font(32, face)

    def drawn(c: str) -> bytes:
        img = Image.new("L", (48, 48))
        ImageDraw.Draw(img).text((4, 4), c, font=font, fill=255)
        return img.tobytes()

    tofu = drawn("\U0010fffd")  # a code point no font has: the .notdef box
    boxes = [c for c in SAMPLES[language] if c != " " and drawn(c) == tofu]
    assert boxes == []
