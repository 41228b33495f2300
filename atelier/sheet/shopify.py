"""Shopify's product CSV export, read as Shopify writes it (Shopify Help Center, "Using CSV
files to import and export products"): one row per variant, the product's own fields (Title,
Vendor, Type…) only on its first row, extra product photos as rows that hold only ``Handle``
and the ``Image …`` columns, and ``Option1 Value`` = ``Default Title`` for a product with a
single variant. ``prepare`` applies all of it, in that order, to an imported ``Table``.
"""

from __future__ import annotations

from atelier.core.i18n import tr
from atelier.sheet.tabular import Table

IMAGE_COLUMNS = frozenset({"Image Src", "Image Position", "Image Alt Text"})
DEFAULT_TITLE = "Default Title"  # Shopify's placeholder option of a single-variant product


def prepare(table: Table, fill_down: bool = True) -> None:
    """Set image-only rows aside (``table.excluded``), fill variant rows from their product's
    first row (``fill_down``) and blank ``Default Title``; each step leaves a note. Does
    nothing to a table that is not a Shopify export."""
    if not table.is_shopify():
        return
    exclude_image_rows(table)
    if fill_down:
        fill_variant_rows(table)
    blank_default_title(table)


def exclude_image_rows(table: Table) -> int:
    """Rows that hold nothing but ``Handle`` and image columns are extra photos of a product,
    not products: they make no job. Returns how many."""
    h = table.headers.index("Handle")
    others = [i for i, name in enumerate(table.headers) if i != h and name not in IMAGE_COLUMNS]
    found = 0
    for r, row in enumerate(table.rows):
        if row[h] and not any(row[i] for i in others):
            table.excluded[r] = tr(
                "Shopify image-only row (an extra photo of {title!r}): not a product"
            ).format(title=row[h])
            found += 1
    if found:
        table.notes.append(
            tr(
                "Shopify export: {found} image-only rows (extra product photos) are not products and make no job"
            ).format(found=found)
        )
    return found


def fill_variant_rows(table: Table) -> int:
    """Fill blank product fields of Shopify variant rows from their product's first row.

    Shopify exports write Title, Vendor, Type, Tags… only on a product's first row; the
    variant rows below share its ``Handle``. Variant columns (``Variant …``, ``Option… Value``)
    are left as they are, and so are image-only rows. Of the image columns only ``Image Src``
    is filled: it is the product's main photo, the reference a designer restages each variant
    from (a variant's own photo is in ``Variant Image``). Returns the cells filled.
    """
    h = table.headers.index("Handle")
    fillable = [
        i
        for i, name in enumerate(table.headers)
        if i != h
        and (name == "Image Src" or not name.startswith(("Variant", "Image", "Cost per item")))
        and not (name.startswith("Option") and name.endswith("Value"))
    ]
    first: dict[str, list[str]] = {}
    filled = 0
    for r, row in enumerate(table.rows):
        handle = row[h]
        if not handle or r in table.excluded:
            continue
        base = first.setdefault(handle, row)
        if base is row:
            continue
        for i in fillable:
            if not row[i] and base[i]:
                row[i] = base[i]
                filled += 1
    if filled:
        table.notes.append(
            tr(
                "Shopify export: filled {filled} blank product cells from each product's first row"
            ).format(filled=filled)
        )
    return filled


def blank_default_title(table: Table) -> int:
    """``Option1 Value`` = ``Default Title`` names no option (the product has one variant): it
    is blanked so it never reaches a prompt. Returns how many cells."""
    if "Option1 Value" not in table.headers:
        return 0
    v = table.headers.index("Option1 Value")
    blanked = 0
    for row in table.rows:
        if row[v] == DEFAULT_TITLE:
            row[v] = ""
            blanked += 1
    if blanked:
        table.notes.append(
            tr(
                "Shopify export: {blanked} single-variant products: their Option1 Value {placeholder!r} (Shopify's placeholder, not an option) was blanked"
            ).format(blanked=blanked, placeholder=DEFAULT_TITLE)
        )
    return blanked
