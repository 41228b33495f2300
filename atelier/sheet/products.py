"""What a product is in a shop's export, and which rows make one image.

A shop export has a row per variant (Shopify, BASE) or a parent row with its variation rows
(WooCommerce). A designer wants one image per product, or per colour, or per row: ``Per`` says
which, and ``group_rows`` turns the rows into the groups that each make one image. What marks
a product in each shop's export is data (``CONVENTIONS``), with the documentation each column
name comes from, detected from the header (``detect``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.sheet.tabular import Table


@dataclass(frozen=True)
class ShopConvention:
    """How one shop's product export marks a product.

    Attributes:
        shop: the shop system's name (``Shopify``).
        product: the column whose value names the product (rows sharing it are one product).
        needs: other columns the export always has (with ``product``, they identify it).
        source: where these column names are documented.
        option_pairs: ``(name column, value column)`` patterns with ``{n}`` for the option's
            number (Shopify's ``Option1 Name`` / ``Option1 Value``).
        option_columns: columns holding one option's value (BASE's ``種類名``).
        parent: the column naming a child row's parent product (WooCommerce's ``Parent``:
            ``id:N`` for the row whose ``ID`` is N, else the parent's ``SKU``).
        kind: the column holding a row's type; ``child_kind`` is the type of a child row.
        parent_keys: the parent's ``ID`` column (for ``id:N``) and ``SKU`` column.
    """

    shop: str
    product: str
    needs: tuple[str, ...]
    source: str
    option_pairs: tuple[tuple[str, str], ...] = ()
    option_columns: tuple[str, ...] = ()
    parent: str | None = None
    kind: str | None = None
    child_kind: str = ""
    parent_keys: tuple[str, str] = ("", "")


CONVENTIONS: tuple[ShopConvention, ...] = (
    ShopConvention(
        "Shopify",
        "Handle",
        ("Variant SKU",),
        "Shopify Help Center, “Using CSV files to import and export products”: rows sharing "
        "a Handle are one product; Option1–3 Name / Value are its variants' options",
        option_pairs=(("Option{n} Name", "Option{n} Value"),),
    ),
    ShopConvention(
        "WooCommerce",
        "ID",
        ("Type", "SKU", "Parent"),
        "WooCommerce docs, “Product CSV Import Schema”: a row of Type variation belongs to the "
        "variable product its Parent names (id:N, or the parent's SKU); Attribute N name / "
        "value(s) are its attributes",
        option_pairs=(("Attribute {n} name", "Attribute {n} value(s)"),),
        parent="Parent",
        kind="Type",
        child_kind="variation",
        parent_keys=("ID", "SKU"),
    ),
    ShopConvention(
        "Rakuten",
        "商品管理番号（商品URL）",
        (),
        "楽天市場 RMS 商品一括編集 item.csv: 商品管理番号（商品URL） identifies the product "
        "(third-party copies of RMS's CSV spec: ec-tsushin.com r_itemcsv_new, "
        "support.crossmall.jp 360040567853; read 2026-12-07; RMS itself needs a login)",
    ),
    ShopConvention(
        "Yahoo! Shopping",
        "code",
        ("name",),
        "Yahoo!ショッピング ストアクリエイターPro 商品データ (data.csv): code is the product code "
        "(Yahoo's own page: developer.yahoo.co.jp/webapi/shopping/upload_format.html, "
        "read 2026-12-07)",
    ),
    ShopConvention(
        "BASE",
        "商品ID",
        ("商品名",),
        "BASE 商品管理 CSV: rows sharing a 商品ID are one product, 種類名 its variation "
        "(unverified: no copy of BASE's CSV spec found on 2026-12-07)",
        option_columns=("種類名",),
    ),
)
"""What a product is in each shop's export (the first one whose columns the header has)."""

OPTION_WORDS = frozenset(
    {"color", "colour", "size", "カラー", "色", "サイズ", "柄", "farbe", "größe", "couleur"}
)
"""Column names that hold an option's value in a plain sheet (offered as "each …")."""


def detect(headers: Sequence[str]) -> ShopConvention | None:
    """The convention whose product column and other columns ``headers`` has, or ``None``.
    Names are compared after NFKC, as exports differ in full- and half-width forms
    (``商品管理番号（商品URL）`` and ``商品管理番号(商品URL)`` are one column)."""
    have = {unicodedata.normalize("NFKC", h) for h in headers}
    for c in CONVENTIONS:
        if _nfkc(c.product) in have and all(_nfkc(n) in have for n in c.needs):
            return c
    return None


def _nfkc(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


PerKind = Literal["row", "product", "option"]


@dataclass(frozen=True)
class Per:
    """How many images a sheet makes: one per ``row``, per ``product``, or per value of an
    ``option`` (``option`` names the option, ``Color``, or a column, ``Option1 Value``)."""

    kind: PerKind = "row"
    option: str = ""

    @classmethod
    def parse(cls, text: str, where: str = "--per") -> Per:
        """``row`` / ``product`` / ``option:NAME``.

        Raises:
            InputError: any other text, naming ``where``.
        """
        t = text.strip()
        if t in ("row", "product"):
            return cls(t)  # type: ignore[arg-type]
        if t.startswith("option:") and t[len("option:") :].strip():
            return cls("option", t[len("option:") :].strip())
        raise InputError(
            where,
            tr("expected row, product or option:NAME (e.g. option:Color), got {text!r}").format(
                text=text
            ),
        )

    def __str__(self) -> str:
        return f"option:{self.option}" if self.kind == "option" else self.kind

    def words(self) -> str:
        """``one image per product`` / ``one image per Color`` / for ``row``, what still
        joins rows (``the same image is made once``)."""
        if self.kind == "product":
            return tr("one image per product")
        if self.kind == "option":
            return tr("one image per {option}").format(option=self.option)
        return tr("the same image is made once")


@dataclass(frozen=True)
class _Options:
    """A table's named options: per ``(name column, value column)`` slot."""

    slots: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, table: Table, conv: ShopConvention | None) -> _Options:
        slots: list[tuple[int, int]] = []
        if conv is not None:
            for name_pat, value_pat in conv.option_pairs:
                for n in range(1, 10):
                    name, value = name_pat.format(n=n), value_pat.format(n=n)
                    if name in table.headers and value in table.headers:
                        slots.append((table.headers.index(name), table.headers.index(value)))
        return cls(tuple(slots))


class Products:
    """A table's products under its shop's convention (``conv`` ``None``: a plain sheet, where
    ``product`` cannot be chosen)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.conv = detect(table.headers)
        self._options = _Options.of(table, self.conv)
        self._keys: list[str] | None = None
        self.parents: set[int] = set()
        """Rows other rows are folded into (WooCommerce's variable products)."""

    def keys(self) -> list[str]:
        """Each row's product key (``#N`` for a row that is a product of its own)."""
        if self._keys is None:
            self._keys = self._compute_keys()
        return self._keys

    def _compute_keys(self) -> list[str]:
        t, c = self.table, self.conv
        n = len(t.rows)
        if c is None:
            return [f"#{i}" for i in range(n)]
        p = [_nfkc(h) for h in t.headers].index(_nfkc(c.product))
        if c.parent is None or c.kind is None:
            return [row[p].strip() or f"#{i}" for i, row in enumerate(t.rows)]
        # WooCommerce: a variation row is folded into the row its Parent names.
        par, kind = t.headers.index(c.parent), t.headers.index(c.kind)
        id_col, sku_col = (t.headers.index(k) if k in t.headers else None for k in c.parent_keys)
        by_id = {r[id_col].strip(): i for i, r in enumerate(t.rows) if id_col is not None}
        by_sku = {r[sku_col].strip(): i for i, r in enumerate(t.rows) if sku_col is not None}
        by_id.pop("", None)
        by_sku.pop("", None)
        keys: list[str] = []
        for i, row in enumerate(t.rows):
            ref = row[par].strip()
            kinds = {k.strip().casefold() for k in row[kind].split(",")}
            if ref and c.child_kind in kinds:
                m = re.fullmatch(r"id:\s*(\S+)", ref)
                found = by_id.get(m.group(1)) if m else by_sku.get(ref, by_id.get(ref))
                if found is not None:
                    self.parents.add(found)
                    keys.append(f"#{found}")
                    continue
                keys.append(f"ref:{ref}")
                continue
            keys.append(f"#{i}")
        return keys

    def option_names(self) -> list[str]:
        """The options a designer can choose "each …" of: named options (Shopify's
        ``Option1 Name`` cells: ``Color``, ``Size``…), option columns of the convention, and
        columns named like an option (``Color``, ``カラー``), in the order first met. An
        option with no value (Shopify's ``Title`` of single-variant products, whose
        ``Default Title`` was blanked) is none."""
        names: dict[str, None] = {}
        for name_i, value_i in self._options.slots:
            for row in self.table.rows:
                v = row[name_i].strip()
                if v and row[value_i].strip():
                    names.setdefault(v)
        for col in self.conv.option_columns if self.conv else ():
            if col in self.table.headers:
                names.setdefault(col)
        for h in self.table.headers:
            if h.casefold() in OPTION_WORDS:
                names.setdefault(h)
        return list(names)

    def option_values(self, option: str) -> list[str]:
        """Each row's value of ``option``: a named option (in whichever slot a row's product
        names it; a blank name cell is its product's first row's), else a column.

        Raises:
            InputError: ``option`` is neither an option nor a column (``--per`` named).
        """
        t = self.table
        want = option.casefold()
        named = [
            (name_i, value_i)
            for name_i, value_i in self._options.slots
            if any(r[name_i].strip().casefold() == want for r in t.rows)
        ]
        if named:
            keys = self.keys()
            first_names: dict[tuple[str, int], str] = {}
            out: list[str] = []
            for i, row in enumerate(t.rows):
                value = ""
                for name_i, value_i in named:
                    name = row[name_i].strip() or first_names.get((keys[i], name_i), "")
                    first_names.setdefault((keys[i], name_i), name)
                    if name.casefold() == want:
                        value = row[value_i].strip()
                        break
                out.append(value)
            return out
        if option in t.headers:
            c = t.headers.index(option)
            return [row[c].strip() for row in t.rows]
        choices = ", ".join([*self.option_names()] or t.headers[:12])
        raise InputError(
            "--per",
            tr("option:{option}: no option or column of that name (options: {choices})").format(
                option=option, choices=choices
            ),
        )


def group_rows(products: Products, rows: Iterable[int], per: Per) -> list[list[int]]:
    """The rows (0-based, in ``rows``' order) as groups that make one image each: every row
    alone (``row``), the rows of one product (``product``), or the rows of one product with
    one value of an option (``option``); a group's first row is the one its prompt is made
    from. Rows a parent product stands for (WooCommerce variations) join their parent under
    ``product``; under ``option`` the parent joins its first variation's group.

    Raises:
        InputError: ``product`` on a sheet that is no shop export, or an unknown option.
    """
    order = list(rows)
    if per.kind == "row":
        return [[i] for i in order]
    if per.kind == "product" and products.conv is None:
        raise InputError(
            "--per",
            tr(
                "product: this sheet is no shop export this program knows ({shops}), so "
                "nothing says which rows are one product; choose option:COLUMN or row"
            ).format(shops=", ".join(f"{c.shop} {c.product}" for c in CONVENTIONS)),
        )
    keys = products.keys()
    values = products.option_values(per.option) if per.kind == "option" else None
    groups: dict[tuple[str, str], list[int]] = {}
    first_of: dict[str, list[int]] = {}  # product key → its first group
    parents: list[int] = []
    for i in order:
        if values is not None and i in products.parents:
            parents.append(i)
            continue
        key = (keys[i] if products.conv else "", values[i] if values is not None else "")
        group = groups.setdefault(key, [])
        group.append(i)
        first_of.setdefault(key[0], group)
    for i in parents:  # under option: the variable product joins its first variation's group
        home = first_of.get(f"#{i}")
        if home is None:
            groups[(f"#{i}", "")] = [i]
        else:
            home.append(i)
    return sorted(groups.values(), key=lambda g: min(g))


@dataclass(frozen=True)
class PerChoice:
    """One entry of the window's "Make one image per" list: the ``per`` it stands for, its
    words, and a tip saying what it groups."""

    per: Per
    label: str
    tip: str


def per_choices(table: Table) -> list[PerChoice]:
    """What a designer can choose for ``table``: product (a shop export), each option, every
    row (always last)."""
    products = Products(table)
    out: list[PerChoice] = []
    if products.conv is not None:
        out.append(
            PerChoice(
                Per("product"),
                tr("product"),
                tr("{shop} export: rows with the same {column} are one product").format(
                    shop=products.conv.shop, column=products.conv.product
                ),
            )
        )
    for name in products.option_names():
        out.append(
            PerChoice(
                Per("option", name),
                tr("each {option}").format(option=name),
                tr("one image per product and {option}").format(option=name)
                if products.conv
                else tr("one image per value of {option}").format(option=name),
            )
        )
    out.append(
        PerChoice(
            Per("row"),
            tr("every row"),
            tr("one image per row; rows that make the same image are one job"),
        )
    )
    return out
