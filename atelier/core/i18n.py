"""Translations: one system, gettext catalogs read with Babel, for the window and for the
messages ``atelier/`` outside ``studio/`` hands to people.

Why gettext and not Qt's ``tr``: ``atelier/`` outside ``studio/`` never imports Qt, yet its errors, warnings and
estimate notes reach the window and the command line; gettext serves both, and Babel reads
``.po`` catalogs directly (no compile step, nothing binary in the repository) and extracts
every ``tr("…")`` from the sources. Qt's own dialogs come from the ``qtbase`` catalogs PySide6
ships (``atelier.studio.look.qt_translations``).

Catalogs: ``atelier/resources/locale/<language>/LC_MESSAGES/atelier.po`` for ``ja``, ``zh_Hans``,
``zh_Hant`` and ``ko``; English is the source. ``scripts/i18n.py`` extracts and updates them;
``tests/core/test_i18n.py`` proves every catalog covers every source string.
"""

from __future__ import annotations

import json
import locale
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "resources" / "locale"
DOMAIN = "atelier"
LANGUAGES: dict[str, str] = {
    "en": "English",
    "ja": "日本語",
    "zh_Hans": "简体中文",
    "zh_Hant": "繁體中文",
    "ko": "한국어",
}
"""Language code → its own name, as the language choice shows it."""

_state: dict[str, str] = {"language": "en"}


def language_for(tag: str) -> str:
    """Atelier's language for a locale tag (``ja_JP.UTF-8`` → ``ja``; ``zh_CN``, ``zh_SG`` →
    ``zh_Hans``; ``zh_TW``, ``zh_HK``, ``zh_MO`` → ``zh_Hant``; ``ko_KR`` → ``ko``); anything
    else is ``en``."""
    t = tag.split(".")[0].split("@")[0].replace("-", "_")
    lang, _, rest = t.partition("_")
    lang = lang.lower()
    if lang == "zh":
        parts = {p.lower() for p in rest.split("_") if p}
        return "zh_Hant" if parts & {"hant", "tw", "hk", "mo"} else "zh_Hans"
    return lang if lang in ("ja", "ko") else "en"


def system_language() -> str:
    """The language to show: ``ATELIER_LANGUAGE``, else the locale (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``, then the C library's)."""
    forced = os.environ.get("ATELIER_LANGUAGE")
    if forced in LANGUAGES:
        return forced
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(var):
            return language_for(value)
    return language_for(locale.getlocale()[0] or "")


@cache
def catalog(language: str) -> dict[str, str]:
    """``msgid → msgstr`` of ``language``'s catalog (empty for English or a missing file);
    untranslated and fuzzy entries are left out, so they show in English."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not path.is_file():
        return {}
    # Imported here: an English run (every CLI run) never pays for Babel's import.
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        po = read_po(f)
    return {
        str(m.id): str(m.string)
        for m in po
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def use_language(language: str) -> None:
    """Show ``language`` from now on (``en`` when unknown)."""
    _state["language"] = language if language in LANGUAGES else "en"


def current_language() -> str:
    """The language in force (a key of ``LANGUAGES``)."""
    return _state["language"]


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs where it is defined (a table of labels made at import,
    before the language is chosen); ``tr`` translates it where it is shown."""
    return message


def tr(message: str) -> str:
    """``message`` in the language in force (itself when not translated). A message with
    ``{name}`` fields is translated before ``.format`` fills them.

    The text is a ``Message``: it keeps ``message`` (and, once ``.format`` has filled it, the
    fields), so a reason stored in one language can be said again in another."""
    said = str.__new__(Message, catalog(_state["language"]).get(message, message))
    said.msgid, said.fields = message, None  # Message.said, inlined: tr is on every repaint
    return said


class Message(str):
    """A sentence for people that can be said again in another language: the text in the
    language in force (it *is* that ``str``, so it goes wherever text goes), plus its English
    ``msgid`` and the fields that fill it. ``tr(msgid)`` makes one and its ``.format(**fields)``
    fills it; ``Message(msgid, **fields)`` is the same as both. Stored beside the text
    (``message_json``), it is said in the language in force when read (``render_stored``): a
    reason stored while the window was English reads Japanese after switching.

    Text made from a message (``+``, f-strings, ``%``) is plain text again, shown as made.

    Attributes:
        msgid: the English message with ``{name}`` fields.
        fields: name → value (``str``, ``int``, ``float``, ``None`` or a nested ``Message``);
            ``None`` when the text was never formatted (its braces are literal).

    Raises:
        KeyError: a field of ``msgid`` is not given (as ``str.format``).
    """

    msgid: str
    fields: dict[str, object] | None

    def __new__(cls, msgid: str, /, **fields: object) -> Message:
        text = catalog(_state["language"]).get(msgid, msgid)
        return cls.said(msgid, _fill(text, msgid, fields), fields)

    @classmethod
    def said(cls, msgid: str, text: str, fields: dict[str, object] | None) -> Message:
        """``text`` as the message ``msgid`` said with ``fields`` (no translation here)."""
        obj = str.__new__(cls, text)
        obj.msgid = msgid
        obj.fields = fields
        return obj

    def format(self, *args: object, **kwargs: object) -> str:
        """Fill the fields: a ``Message`` keeping them (positional fields: plain text)."""
        if args or self.fields is not None:
            return str.format(str(self), *args, **kwargs)
        return Message.said(self.msgid, _fill(str(self), self.msgid, kwargs), kwargs)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling and deep copies rebuild it as it is, not by translating its text again.
        return (Message.said, (self.msgid, str(self), self.fields))

    def to_data(self, clean: Callable[[str], str] = lambda s: s) -> dict[str, object]:
        """``{"msgid": …, "fields": {…} | None}`` with nested messages as such dicts;
        ``clean`` is applied to every text field (the store redacts secrets with it)."""
        if self.fields is None:
            return {"msgid": self.msgid, "fields": None}
        out: dict[str, object] = {}
        for k, v in self.fields.items():
            if isinstance(v, Message):
                out[k] = v.to_data(clean)
            elif isinstance(v, str):
                out[k] = clean(v)
            elif v is None or isinstance(v, int | float):
                out[k] = v
            else:  # an exception or a path given as a field: kept as the text it showed
                out[k] = clean(str(v))
        return {"msgid": self.msgid, "fields": out}

    @classmethod
    def from_data(cls, data: object) -> Message:
        """The message ``to_data`` gave, said in the language in force.

        Raises:
            ValueError: ``data`` is not such a dict, or its fields do not fill its msgid.
        """
        if not (
            isinstance(data, dict)
            and isinstance(data.get("msgid"), str)
            and (data.get("fields") is None or isinstance(data.get("fields"), dict))
        ):
            raise ValueError(f"not a stored message: {data!r}")
        if data["fields"] is None:
            return cls.said(data["msgid"], tr(data["msgid"]), None)
        fields = {
            str(k): cls.from_data(v) if isinstance(v, dict) else v
            for k, v in data["fields"].items()
        }
        try:
            return cls(data["msgid"], **fields)
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            raise ValueError(f"stored message {data['msgid']!r} cannot be filled: {e}") from e


def _fill(text: str, msgid: str, fields: dict[str, object]) -> str:
    """``text`` (a translation) filled with ``fields``; a translation whose fields do not
    match its msgid (a catalog mistake) falls back to the English msgid.

    Raises:
        KeyError: ``msgid`` itself has a field ``fields`` lacks.
    """
    try:
        return str.format(str(text), **fields)
    except (KeyError, IndexError, ValueError):
        return str.format(msgid, **fields)


def message_json(text: str | None, clean: Callable[[str], str] = lambda s: s) -> str | None:
    """The stored form of ``text`` when it is a ``Message`` (JSON; ``None`` for plain text,
    which is stored and shown as it is). ``clean`` is applied to text fields."""
    if not isinstance(text, Message):
        return None
    return json.dumps(text.to_data(clean), ensure_ascii=False)


def render_stored(text: str | None, stored: str | None) -> str | None:
    """What to show of a stored reason: its message (``message_json``) said in the language
    in force, else ``text`` as stored (older stores and plain texts); ``None`` stays ``None``."""
    if not stored or text is None:
        return text
    try:
        return Message.from_data(json.loads(stored))
    except ValueError:  # includes json.JSONDecodeError: a damaged column shows the stored text
        return text
