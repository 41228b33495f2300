"""Prompt and file-name templates with ``{column name}`` placeholders.

A placeholder is any text between ``{`` and ``}``, so headers with spaces or non-ASCII letters
(``{Option1 Value}``, ``{品番}``) work as written. Full-width braces as a Japanese or Chinese
IME types them (``｛商品名｝``) are placeholders too. ``{{`` and ``}}`` are literal braces.
File names rendered from rows are made safe on every OS and can never leave the output folder.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from atelier.core.errors import InputError
from atelier.core.i18n import tr

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in [*range(1, 10), "¹", "²", "³"]
}
# Characters Windows, macOS or Linux refuse or treat as separators.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
# Bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) and
# the direction marks (U+200E, U+200F, U+061C): invisible, yet they reorder what is shown
# (U+202E before "gnp.exe" makes it display as "exe.png", and the reverse). A name never
# needs them (its letters carry their own direction), so every file name, object key and ZIP
# entry loses them.
_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
)
_FULL_WIDTH_BRACES = str.maketrans("｛｝", "{}")
_MAX_NAME_BYTES = 200  # below ext4's 255-byte limit, leaving room for "-10" and a temp suffix
# A path of plain ASCII components (letters, digits, "_", "-", inner dots; at most 200 bytes
# each) that ``safe_component`` would return unchanged, unless it names a Windows device:
# most file names (SKUs, handles) are such, and they skip the general rule (it runs once per
# row, on 100,000-row sheets).
_PLAIN_PART = r"[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,198}[A-Za-z0-9_-])?"
_PLAIN_PATH = re.compile(rf"{_PLAIN_PART}(?:/{_PLAIN_PART})*")
_DRIVE = re.compile(r"^[A-Za-z]:")
FORMAT_EXT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}

Where = str | Callable[[], str]
"""A place named in messages (``row 4 (line 5)``): its text, or a function that says it, for
places named once per row of a large sheet but shown only when something is wrong there."""


def said(where: Where) -> str:
    """The text of ``where``."""
    return where if isinstance(where, str) else where()


_EXT_FORMAT = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholders, in order.

    Attributes:
        text: the template as written.
        parts: ``(is_placeholder, text)`` pairs.
    """

    text: str
    parts: tuple[tuple[bool, str], ...]

    @classmethod
    def parse(cls, text: str, field_name: str = "template") -> Template:
        """Parse ``text``.

        Raises:
            InputError: ``field_name`` and the character position of an unbalanced brace.
        """
        parts: list[tuple[bool, str]] = []
        buf: list[str] = []
        # The structure is read with full-width braces as ASCII ones (one character each, so
        # positions hold); names and literal text come from what was typed.
        shape = text.translate(_FULL_WIDTH_BRACES)
        i = 0
        while i < len(text):
            c = shape[i]
            if c == "{":
                if shape.startswith("{{", i):
                    buf.append(text[i])
                    i += 2
                    continue
                end = shape.find("}", i + 1)
                nested = shape.find("{", i + 1)
                if end == -1 or (nested != -1 and nested < end):
                    raise InputError(
                        field_name,
                        tr("unclosed '{brace}' at character {position}").format(
                            brace=text[i], position=i + 1
                        ),
                    )
                name = text[i + 1 : end]
                if not name.strip():
                    raise InputError(
                        field_name,
                        tr("empty placeholder '{{}}' at character {position}").format(
                            position=i + 1
                        ),
                    )
                if buf:
                    parts.append((False, "".join(buf)))
                    buf = []
                parts.append((True, name))
                i = end + 1
            elif c == "}":
                if shape.startswith("}}", i):
                    buf.append(text[i])
                    i += 2
                    continue
                raise InputError(
                    field_name,
                    tr(
                        "'}}' at character {position} has no matching '{{' (write '}}}}' for a brace)"
                    ).format(position=i + 1),
                )
            else:
                buf.append(text[i])
                i += 1
        if buf:
            parts.append((False, "".join(buf)))
        return cls(text, tuple(parts))

    @property
    def placeholders(self) -> list[str]:
        """Placeholder names in order of first appearance, without duplicates."""
        return list(dict.fromkeys(name for is_ph, name in self.parts if is_ph))

    def unknown(self, headers: list[str]) -> list[str]:
        """Placeholders that name no column."""
        known = set(headers)
        return [p for p in self.placeholders if p not in known]

    def render(self, values: dict[str, str]) -> tuple[str, list[str]]:
        """Fill the placeholders from ``values``.

        Returns:
            ``(text, empty)``: the rendered text and the placeholders whose value was empty
            (a name ``values`` lacks is an empty cell: a row's values keep only filled
            cells; check ``unknown`` against the headers first).
        """
        out: list[str] = []
        empty: list[str] = []
        for is_ph, t in self.parts:
            if is_ph:
                v = values.get(t, "")
                if not v.strip():
                    empty.append(t)
                out.append(v)
            else:
                out.append(t)
        return "".join(out), empty


_SYNONYM_GROUPS = (
    # A product's name: Shopify "Title", WooCommerce "Name", Rakuten/BASE "商品名",
    # Yahoo "name", and what people call it in their own sheets.
    ("Title", "Name", "Product Name", "Product", "Product Title", "Item Name", "商品名", "品名"),
    # Its code: Shopify "Variant SKU"/"Handle", WooCommerce "SKU", Rakuten
    # "商品管理番号（商品URL）", Yahoo "code", BASE "商品ID", Japanese sheets' "品番".
    ("SKU", "Variant SKU", "Handle", "code", "商品ID", "品番", "商品番号", "商品コード",
        "商品管理番号（商品URL）", "Item Code", "Product Code", "ID"),
    ("Color", "Colour", "カラー", "色", "Option1 Value"),
    ("Size", "サイズ"),
    ("Price", "Regular price", "Variant Price", "販売価格", "価格", "price"),
    ("Description", "Body (HTML)", "説明", "商品説明", "explanation"),
    ("Vendor", "Brand", "ブランド", "メーカー"),
    ("Type", "Category", "Categories", "Product Type", "カテゴリ", "product-category"),
    ("Image Src", "Images", "Image", "画像", "画像1", "商品画像URL"),
)  # fmt: skip
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(s.casefold() for s in group) for group in _SYNONYM_GROUPS
)
"""Column names that mean the same thing in different shops' exports (Shopify, WooCommerce,
Rakuten, Yahoo! Shopping, BASE) and people's own sheets, compared case-insensitively."""


_CODE_COLUMNS = tuple(c.casefold() for c in _SYNONYM_GROUPS[1])


def product_code(values: Mapping[str, str]) -> str | None:
    """The product code in a sheet row's ``values``: the first filled of its code columns, in
    the order of ``_SYNONYM_GROUPS`` (``SKU``, ``Variant SKU``, ``Handle``, ``code``,
    ``商品コード``…), compared case-insensitively. ``None`` when there is none, or when it is
    not usable as a file's name as it stands (``safe_component`` would change it: ``../x``),
    since a marketplace matches the name to the code exactly (Yahoo! Shopping's image 1)."""
    by_name = {k.casefold(): v for k, v in values.items()}
    for name in _CODE_COLUMNS:
        code = (by_name.get(name) or "").strip()
        if code:
            return code if safe_component(code) == code else None
    return None


def closest_columns(name: str, headers: list[str], n: int = 2) -> list[str]:
    """Up to ``n`` columns of ``headers`` a mistyped or other-shop placeholder ``name`` most
    likely means: the same word in another shop's export first (``Title`` → ``Name``), then
    the closest spellings (``difflib``, case-insensitive)."""
    key = name.strip().casefold()
    out: dict[str, None] = {}
    for group in SYNONYMS:
        if key in group:
            out.update(dict.fromkeys(h for h in headers if h.casefold() in group))
    folded = {h.casefold(): h for h in reversed(headers)}
    for match in difflib.get_close_matches(key, list(folded), n=n, cutoff=0.6):
        out.setdefault(folded[match])
    return [h for h in out if h != name][:n]


def describe_unknown(field_name: str, unknown: list[str], headers: list[str]) -> str:
    """A readable error for unknown placeholders, with the closest columns as suggestions
    (``closest_columns``)."""
    bits = []
    for name in unknown:
        close = closest_columns(name, headers)
        if len(close) > 1:
            hint = tr(" (did you mean {columns}?)").format(
                columns=", ".join("{" + c + "}" for c in close)
            )
        elif close:
            hint = tr(" (did you mean {{{column}}}?)").format(column=close[0])
        else:
            hint = ""
        bits.append(f"{{{name}}}{hint}")
    if len(unknown) > 1:
        return tr("{field}: unknown columns {names}").format(
            field=field_name, names=", ".join(bits)
        )
    return tr("{field}: unknown column {names}").format(field=field_name, names=bits[0])


def split_ext(name: str) -> tuple[str, str]:
    """``"a.b.png"`` → ``("a.b", ".png")``, as ``PurePath.stem/.suffix`` do, without the cost of
    building a path object (this runs once per row, on 100,000-row sheets)."""
    i = name.rfind(".")
    if i <= 0 or i == len(name) - 1:
        return name, ""
    return name[:i], name[i:]


def _truncate_utf8(s: str, limit: int) -> str:
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", "ignore")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional controls and marks (U+202A–U+202E, U+2066–U+2069,
    U+200E, U+200F, U+061C), which make a name display as another (U+202E + ``gnp.exe``
    shows as ``exe.png``)."""
    return text.translate(_BIDI_CONTROLS)


def safe_component(name: str) -> str:
    """One path component made safe on Windows, macOS and Linux.

    NFC-normalised; bidirectional controls removed (``strip_bidi``); separators, control and
    reserved characters become ``_``; leading/trailing dots and spaces are removed (so ``..``
    cannot survive); Windows device names such as ``CON`` or ``com1.txt`` get a leading ``_``;
    at most 200 UTF-8 bytes. CJK letters are kept.
    Returns ``""`` when nothing is left.
    """
    s = strip_bidi(unicodedata.normalize("NFC", name))
    s = _UNSAFE.sub("_", s)
    s = s.strip(" .")
    if not s:
        return ""
    stem = s.split(".", 1)[0].rstrip(" ")
    if stem.upper() in _WINDOWS_RESERVED:
        s = "_" + s
    return _truncate_utf8(s, _MAX_NAME_BYTES).rstrip(" .")


def safe_relative_path(raw: str, output_format: str, where: Where = "output_path") -> str:
    """Turn a rendered or configured file name into a safe path inside the output folder.

    ``/`` in the template makes subfolders; every component goes through ``safe_component``.
    The extension is made to match ``output_format`` (added when missing, replaced when it names
    another image format).

    Raises:
        InputError: for absolute paths, drive letters, ``..`` components or an empty name, with
            ``where`` naming the field or row.
    """
    if _PLAIN_PATH.fullmatch(raw):
        safe = raw.split("/")
        if not any(c.split(".", 1)[0].upper() in _WINDOWS_RESERVED for c in safe):
            return _with_extension(safe, output_format)
    # Bidi controls go first, so U+202E + ".." is seen as the ".." it displays as.
    text = strip_bidi(raw).replace("\\", "/").strip()
    if text.startswith("/") or _DRIVE.match(text):
        raise InputError(
            said(where),
            tr(
                "{path!r} is an absolute path; output paths are relative to the output folder"
            ).format(path=raw),
        )
    comps = [c for c in text.split("/") if c not in ("", ".")]
    if any(c.strip() == ".." for c in comps):
        raise InputError(
            said(where),
            tr("{path!r} points outside the output folder ('..' is not allowed)").format(path=raw),
        )
    safe = [safe_component(c) for c in comps]
    safe = [c for c in safe if c]
    if not safe:
        raise InputError(said(where), tr("{path!r} leaves no usable file name").format(path=raw))
    return _with_extension(safe, output_format)


def _with_extension(safe: list[str], output_format: str) -> str:
    """The safe components joined, the last one's extension made to match ``output_format``."""
    stem, suffix = split_ext(safe[-1])
    ext = FORMAT_EXT[output_format]
    if suffix.lower() in _EXT_FORMAT:
        leaf_name = stem + (suffix if _EXT_FORMAT[suffix.lower()] == output_format else ext)
    else:
        leaf_name = safe[-1] + ext
    safe[-1] = leaf_name
    return "/".join(safe)


def safe_entry_name(rel: str, fallback: str = "file") -> str:
    """A ``/``-separated name read back from disk or the store (a ZIP entry, an image's
    ``{file}`` in an object key or a CMS message) without bidi controls (``strip_bidi``),
    separators or control characters inside a component (``_``), and without empty, ``.`` or
    ``..`` components. Nothing else changes: a name ``safe_relative_path`` made comes back
    as it is (two files cannot become one). Returns ``fallback`` when nothing is left."""
    comps = (_UNSAFE.sub("_", strip_bidi(c)) for c in rel.replace("\\", "/").split("/"))
    return "/".join(c for c in comps if c.strip(" .")) or fallback


def format_from_path(path: str) -> str | None:
    """The output format an extension names (``.jpg`` → ``jpeg``), or ``None``."""
    return _EXT_FORMAT.get(split_ext(path.rsplit("/", 1)[-1])[1].lower())


class UniqueNamer:
    """Makes relative paths unique within a batch, case-insensitively (as on Windows/macOS).

    ``taken`` holds every file the batch will write, including each sample's ``-N`` name, so
    ``a.png`` with 3 samples and a later ``a-2.png`` cannot collide. ``folders`` holds every
    folder those files need, so one row's file can never be another row's folder.
    """

    def __init__(self) -> None:
        self.taken: dict[str, Where] = {}  # casefolded file → where it was claimed
        self.folders: dict[str, Where] = {}  # casefolded folder → where it was first needed

    def claim(self, rel: str, sample_count: int, where: Where = "output_path") -> str:
        """Return ``rel`` or ``stem-2.ext``, ``stem-3.ext``… so that no sample file collides.

        Raises:
            InputError: a file of ``rel`` would be a folder another row needs, or a folder
                ``rel`` needs is another row's file (``a.png`` and ``a.png/b.png``).
        """
        if sample_count == 1 and "/" not in rel:  # the common case, once per row: no folders
            key = rel.casefold()
            if key not in self.taken and key not in self.folders:
                self.taken[key] = where
                return rel
        folder, _, leaf = rel.rpartition("/")
        prefix = folder + "/" if folder else ""
        parts = folder.split("/") if folder else []
        needed = ["/".join(parts[: i + 1]).casefold() for i in range(len(parts))]
        for f in needed:
            if f in self.taken:
                raise InputError(
                    said(where),
                    tr(
                        "{path!r} needs a folder {folder!r}, but {other} writes a file there"
                    ).format(path=rel, folder=f, other=said(self.taken[f])),
                )
        stem, suffix = split_ext(leaf)
        n = 1
        while True:
            base = stem if n == 1 else f"{stem}-{n}"
            if sample_count == 1:
                files = [f"{prefix}{base}{suffix}"]
            else:
                files = [f"{prefix}{base}-{i}{suffix}" for i in range(1, sample_count + 1)]
            folded = [f.casefold() for f in files]
            clash = next((f for f in folded if f in self.folders), None)
            if clash is not None:
                raise InputError(
                    said(where),
                    tr("{path!r} would write a file {file!r} where {other} needs a folder").format(
                        path=rel, file=clash, other=said(self.folders[clash])
                    ),
                )
            if not any(f in self.taken for f in folded):
                self.taken.update(dict.fromkeys(folded, where))
                for f in needed:
                    self.folders.setdefault(f, where)
                return f"{prefix}{base}{suffix}"
            n += 1
