"""Qt's own words (the file dialog, message-box and dialog buttons, the context menu of a text
field) in the window's language, from the ``qtbase_*.qm`` catalogs PySide6 ships; Atelier's own
strings come from its gettext catalogs (``atelier.core.i18n``)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from atelier.studio.look.locale_format import qlocale

_kept: list[QTranslator] = []  # a translator must outlive its installation


def install_qt_translations(app: QCoreApplication, locale: QLocale | None = None) -> str | None:
    """Load ``qtbase`` for ``locale`` (default: the language in force, ``atelier.studio.look.locale_format``,
    so a Japanese window chosen in Settings has Japanese buttons on an English system);
    returns the catalog's language (``ja``, ``zh_CN``, ``zh_TW``, ``ko``…), or ``None`` when
    Qt has none for it (English)."""
    loc = locale or qlocale()
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    # QLocale's script tells Traditional from Simplified Chinese (zh_Hant_HK → zh_TW).
    if loc.language() == QLocale.Language.Chinese:
        traditional = loc.script() == QLocale.Script.TraditionalChineseScript
        name = "zh_TW" if traditional else "zh_CN"
        ok = translator.load(f"qtbase_{name}", folder)
    else:
        ok = translator.load(loc, "qtbase", "_", folder)
        name = loc.name().split("_")[0]
    if not ok:
        return None
    app.installTranslator(translator)
    _kept.append(translator)
    return name
