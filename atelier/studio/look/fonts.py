"""The window's font for the language in force: each CJK language in a font with its own glyph
forms (the same Han code point is drawn differently in Japan, China, Taiwan and Korea)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

CJK_FAMILIES: dict[str, tuple[str, ...]] = {
    # Linux (fonts-noto-cjk), macOS, Windows: the system's own CJK UI fonts, by region.
    "ja": (
        "Noto Sans CJK JP",
        "Hiragino Sans",
        "Hiragino Kaku Gothic ProN",
        "Yu Gothic UI",
        "Meiryo UI",
    ),
    "zh_Hans": ("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei UI", "WenQuanYi Micro Hei"),
    "zh_Hant": ("Noto Sans CJK TC", "PingFang TC", "Microsoft JhengHei UI"),
    "ko": ("Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic"),
}
"""Candidate font families per language, first installed wins; English keeps the system's font
and lets fontconfig, Core Text or DirectWrite pick a fallback for CJK cells."""

FALLBACK = ("Noto Sans CJK JP", "WenQuanYi Micro Hei")
"""Families tried after the language's own for any text (a Korean cell in a Japanese window)."""


def ui_families(language: str) -> list[str]:
    """The installed families the window's font lists for ``language``, most wanted first
    (``[]`` for English, or when none is installed)."""
    installed = set(QFontDatabase.families())
    wanted = [*CJK_FAMILIES.get(language, ()), *(FALLBACK if language in CJK_FAMILIES else ())]
    return list(dict.fromkeys(f for f in wanted if f in installed))


def apply_ui_font(app: QApplication, language: str) -> QFont:
    """Set the application font for ``language``: the language's CJK family first, then the
    system's UI family, so a Traditional Chinese window draws 臺灣 in a Traditional Chinese
    face, not a Simplified or Japanese one; English is left as it is. Returns the font."""
    font = QFont(app.font())
    families = ui_families(language)
    if families:
        base = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont).family()
        # CJK first: a Latin-only system font would otherwise leave the Han glyphs to the
        # platform's fallback, which picks by the system locale, not by Atelier's language.
        font.setFamilies([*families, base])
    app.setFont(font)
    return font
