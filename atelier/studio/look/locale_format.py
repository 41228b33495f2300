"""Dates and times as the language in force writes them (money stays USD, written ``$0.040``
everywhere): Qt's CLDR locale data, not a format string of our own."""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QLocale, Qt

from atelier.core.i18n import current_language

_LOCALES = {"ja": "ja_JP", "zh_Hans": "zh_CN", "zh_Hant": "zh_TW", "ko": "ko_KR"}
"""Atelier's language → the CLDR locale whose date formats it shows. English follows the
system's locale (``en_US``, ``en_GB``, ``de_DE``… each keep their own order)."""


def qlocale() -> QLocale:
    """The ``QLocale`` for the language in force."""
    name = _LOCALES.get(current_language())
    return QLocale(name) if name else QLocale.system()


def local_datetime(iso: str) -> str:
    """An ISO 8601 timestamp (the store's, in UTC: ``2026-12-03T04:22:53.120+00:00``) in local
    time, in the locale's short date-and-time format (``2026/12/03 13:22`` in Japanese,
    ``2026/12/3 下午1:22`` in Traditional Chinese); the text as it is when it does not parse."""
    when = QDateTime.fromString(iso, Qt.DateFormat.ISODateWithMs)
    if not when.isValid():
        when = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    if not when.isValid():
        return iso
    locale = qlocale()
    if locale.language() == QLocale.Language.C:
        # The C locale's short format ("3 12 2026") reads as nothing anyone writes.
        return when.toLocalTime().toString("yyyy-MM-dd HH:mm")
    return locale.toString(when.toLocalTime(), QLocale.FormatType.ShortFormat)
