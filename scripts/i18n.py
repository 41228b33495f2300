"""Keep the catalogs in step with the sources: extract every ``tr("…")`` and ``N_("…")`` from ``atelier/`` into ``atelier/resources/locale/atelier.pot``, and merge it into each language's ``.po`` (new
strings appear untranslated, removed ones are dropped). Translate the new entries, then run
``tests/core/test_i18n.py``.

    .venv/bin/python scripts/i18n.py
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "atelier" / "resources" / "locale"
TRANSLATED = ("ja", "zh_Hans", "zh_Hant", "ko")


def source_catalog() -> Catalog:
    """Every ``tr`` string of ``atelier/``, with where it is used."""
    pot = Catalog(project="Atelier", domain="atelier")
    for folder in ("atelier",):
        for filename, lineno, message, comments, _context in extract_from_dir(
            REPO / folder,
            method_map=[("**.py", "python")],
            keywords={"tr": None, "N_": None},
            comment_tags=("i18n:",),
        ):
            pot.add(message, locations=[(f"{folder}/{filename}", lineno)], auto_comments=comments)
    return pot


def main() -> None:
    pot = source_catalog()
    LOCALE.mkdir(parents=True, exist_ok=True)
    with (LOCALE / "atelier.pot").open("wb") as f:
        write_po(f, pot, omit_header=False, width=100)
    for lang in TRANSLATED:
        path = LOCALE / lang / "LC_MESSAGES" / "atelier.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                po = read_po(f, locale=lang)
        else:
            po = Catalog(locale=lang, project="Atelier", domain="atelier")
        po.update(pot, no_fuzzy_matching=True)
        po.obsolete.clear()
        with path.open("wb") as f:
            write_po(f, po, width=100)
        missing = sum(1 for m in po if m.id and not m.string)
        total = sum(1 for m in po if m.id)
        print(f"{path.relative_to(REPO)}: {total} strings, {missing} untranslated")


if __name__ == "__main__":
    main()
