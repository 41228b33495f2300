"""Every catalog covers every source string: nothing untranslated, nothing obsolete, the same
``{fields}`` and keyboard mnemonics as the source; and the language follows the locale."""

from __future__ import annotations

import importlib.util
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from atelier.core import i18n

REPO = Path(__file__).resolve().parents[2]


def _source() -> dict[str, list[str]]:
    """Source string → its ``# i18n:`` comments, as ``scripts/i18n.py`` extracts them."""
    spec = importlib.util.spec_from_file_location("i18n_script", REPO / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return {str(m.id): list(m.auto_comments) for m in script.source_catalog() if m.id}


def _fields(text: str) -> set[str]:
    """The ``.format`` fields of ``text`` with their conversion and spec (``{count:,}``,
    ``{name!r}``; ``{{`` is a literal brace); for a text that is no format string (a help text
    showing ``{"image_url": "{url}"}``), every ``{…}`` in it."""
    try:
        return {
            f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
            for _, name, spec, conv in string.Formatter().parse(text)
            if name is not None
        }
    except ValueError:
        return set(re.findall(r"\{[^{}]*\}", text))


COMMENTS = _source()
SOURCE = set(COMMENTS)


@pytest.mark.parametrize("language", ["ja", "zh_Hans", "zh_Hant", "ko"])
def test_the_catalog_covers_every_source_string(language: str) -> None:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "atelier.po"
    with path.open("rb") as f:
        po = read_po(f)
    entries = {str(m.id): str(m.string) for m in po if m.id}
    untranslated = sorted(k for k, v in entries.items() if not v)
    obsolete = sorted(set(entries) - SOURCE) + sorted(str(k) for k in po.obsolete)
    missing = sorted(SOURCE - set(entries))
    assert (untranslated, obsolete, missing) == ([], [], [])
    fuzzy = [str(m.id) for m in po if m.id and m.fuzzy]
    assert fuzzy == []
    for source, text in entries.items():
        if not any("not a format field" in c for c in COMMENTS.get(source, [])):
            assert _fields(source) == _fields(text), source
        # A lone "&" marks Qt's keyboard mnemonic ("&&" is a literal ampersand): a translation
        # has one only where the source has one.
        assert text.replace("&&", "").count("&") == source.replace("&&", "").count("&"), source


def test_tr_follows_the_language() -> None:
    try:
        i18n.use_language("ja")
        assert i18n.tr("Start") == "開始"
        i18n.use_language("zh_Hant")
        assert i18n.tr("History") == "歷史記錄"
        assert i18n.tr("a string nobody translated") == "a string nobody translated"
    finally:
        i18n.use_language("en")
    assert i18n.tr("Start") == "Start"


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("ja_JP.UTF-8", "ja"),
        ("zh_CN.UTF-8", "zh_Hans"),
        ("zh_SG", "zh_Hans"),
        ("zh_TW.UTF-8", "zh_Hant"),
        ("zh_HK", "zh_Hant"),
        ("zh-Hant-TW", "zh_Hant"),
        ("ko_KR.UTF-8", "ko"),
        ("de_DE.UTF-8", "en"),
        ("C", "en"),
    ],
)
def test_the_locale_picks_the_language(tag: str, language: str) -> None:
    assert i18n.language_for(tag) == language


def test_the_estimate_in_japanese_keeps_usd() -> None:
    """Money stays USD in every language; the words around it are translated."""
    from atelier.pricing.estimate import Estimate

    est = Estimate(300, 13.2, 0, (), priced_by_provider=(("openai", 13.2),))
    try:
        i18n.use_language("ja")
        assert est.with_economy({"openai": 0.5}, False).describe() == (
            "画像 300 枚 · 今すぐ $13.200 · エコノミー $6.600（24 時間以内）"
        )
        i18n.use_language("zh_Hans")
        assert est.describe() == "300 张图片 · $13.200"
    finally:
        i18n.use_language("en")
    assert est.describe() == "300 images · $13.200"


def test_no_tr_inside_an_f_string() -> None:
    """Babel's extractor does not read inside f-string fields: a ``{tr('…')}`` there would
    never reach the catalogs and stay English in every language."""
    found = [
        f"{p.relative_to(REPO)}:{n}"
        for folder in ("atelier",)
        for p in sorted((REPO / folder).rglob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\{(tr|N_)\(['\"]", line)
    ]
    assert found == []


class _Any:
    """Stands for any value: formats with any spec (``:,``, ``:.2f``), converts with ``!r``."""

    def __format__(self, spec: str) -> str:
        return "·"

    def __repr__(self) -> str:
        return "'·'"


@pytest.mark.parametrize("language", ["ja", "zh_Hans", "zh_Hant", "ko"])
def test_every_translation_formats_like_its_source(language: str) -> None:
    """A translation with a stray brace or a misspelt field would raise where the message is
    shown (an error about an error): each one is formatted here with its source's fields."""
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "atelier.po"
    with path.open("rb") as f:
        po = read_po(f)
    broken = []
    for m in po:
        source, text = str(m.id), str(m.string)
        if any("not a format field" in c for c in COMMENTS.get(source, [])):
            continue  # shown as written ({column name} as an example of the syntax)
        try:
            names = {n for _, n, _, _ in string.Formatter().parse(source) if n}
            source.format(**dict.fromkeys(names, _Any()))
        except (ValueError, KeyError, IndexError):
            continue  # not a format string (a help text showing braces)
        try:
            text.format(**dict.fromkeys(names, _Any()))
        except (ValueError, KeyError, IndexError) as e:
            broken.append(f"{source!r} → {text!r}: {e}")
    assert broken == []


def test_every_tr_format_call_fills_its_fields() -> None:
    """``tr("… {provider} …").format(label=…)`` raises KeyError only when the message is
    shown (an error about an error): every field of each ``tr`` literal is given by name."""
    import ast

    bad = []
    for folder in ("atelier",):
        for p in sorted((REPO / folder).rglob("*.py")):
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
                    continue
                inner = n.func.value
                if not (
                    n.func.attr == "format"
                    and isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Name)
                    and inner.func.id == "tr"
                    and inner.args
                    and isinstance(inner.args[0], ast.Constant)
                ):
                    continue
                if any(k.arg is None for k in n.keywords):
                    continue  # **kwargs: not checkable here
                given = {k.arg for k in n.keywords}
                wanted = {f for _, f, _, _ in string.Formatter().parse(inner.args[0].value) if f}
                if wanted - given:
                    bad.append(f"{p.relative_to(REPO)}:{n.lineno} lacks {sorted(wanted - given)}")
    assert bad == []
