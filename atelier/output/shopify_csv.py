"""``atelier export BATCH --shopify-csv FILE``: the batch's own Shopify product export with the
delivered public URLs in ``Image Src`` (a product's first row) and ``Variant Image`` (each
variant's row), ready for Shopify's product CSV import.

Shopify's product CSV (help.shopify.com, "Using CSV files to import and export products"):
rows sharing a ``Handle`` are one product; ``Image Src`` is a public URL Shopify downloads;
``Variant Image`` a variant's photo; the file must be UTF-8. Every other column and row (the
shop's own image-only rows too) is written back as it was read, except that a cell a
spreadsheet would run as a formula is neutralised (``atelier.output.export.to_csv``). A URL goes to
the row the image was made from, found again by its identity (``match_rows``), so a sheet
edited since the run cannot put it on another product.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atelier.core.errors import InputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr
from atelier.output.export import to_csv
from atelier.sheet import shopify
from atelier.sheet.tabular import Table, read_table
from atelier.store import Store

# The columns that tell a product's variants apart; ``shopify.prepare`` never changes them
# (fill-down skips them), except ``Default Title``, which it blanks.
IDENTITY_COLUMNS = ("Variant SKU", "Option1 Value", "Option2 Value", "Option3 Value")


@dataclass(frozen=True)
class RowUrl:
    """The delivered URL of one spreadsheet row of the batch, with the row as the batch read it
    (``row_index`` 0-based in the sheet as it was then; ``values`` its non-empty cells)."""

    row_index: int
    values: Mapping[str, str]
    url: str
    covers: int = 1
    """How many rows the job stands for (``JobSpec.source_rows``): more than one when one
    image is made per product or per option, and then its other rows take the URL too."""


@dataclass
class ShopifyExport:
    """What ``export_shopify_csv`` wrote: ``rows`` got a URL; ``missing`` names each row of
    the batch that has a URL but is no longer in the sheet (a sentence per row)."""

    rows: int = 0
    missing: list[str] = field(default_factory=list)


def row_urls(store: Store, batch_id: int) -> list[RowUrl]:
    """Each job's row (``row_index``) with its delivered storage URL (of the job's shown first
    image), in row order; ``covers`` counts the rows the job stands for. A row that made several
    jobs (variations) gives the URL of the first that has one."""
    shown = {img.job_id: img for img in store.images(batch_id) if img.sample_index == 0}
    urls = store.delivered_urls(batch_id, [i.id for i in shown.values()])
    out: dict[int, RowUrl] = {}
    for job in store.jobs(batch_id):
        img = shown.get(job.id)
        i = job.spec.row_index
        if img is not None and img.id in urls and i is not None and i not in out:
            out[i] = RowUrl(i, job.spec.row_values, urls[img.id][0], len(job.spec.source_rows()))
    return [out[i] for i in sorted(out)]


def _identity(values: Mapping[str, str], columns: list[str]) -> tuple[str, ...]:
    def cell(c: str) -> str:
        v = values.get(c, "").strip()
        return "" if v == shopify.DEFAULT_TITLE else v

    return (cell("Handle"), *(cell(c) for c in columns))


def _same_row(values: Mapping[str, str], headers: list[str], *rows: list[str]) -> bool:
    """Whether the stored ``values`` are one of ``rows`` (the sheet's row as read, and as the
    batch prepared it: filled down, ``Default Title`` blanked), cell by cell."""
    return any(all(values.get(h, "") == row[i] for i, h in enumerate(headers)) for row in rows)


def match_rows(table: Table, found: list[RowUrl]) -> tuple[dict[int, str], list[RowUrl]]:
    """Find each of ``found`` in ``table`` (the sheet read again, perhaps edited since the
    run) by the row's identity, never by its index: ``Handle`` and the variant columns
    (``IDENTITY_COLUMNS`` present in the sheet) must be equal. Within one identity a row whose
    cells all equal the stored ones is taken first; the rest pair in order (the position within
    the handle) only when as many rows as stored ones are left, so an inserted, removed or
    duplicated row never takes another row's URL.

    Returns:
        ``{row index in table: URL}`` and the stored rows not found.
    """
    prepared = copy.deepcopy(table)
    shopify.prepare(prepared)
    columns = [c for c in IDENTITY_COLUMNS if c in table.headers]
    candidates: dict[tuple[str, ...], list[int]] = {}
    for r in range(len(table.rows)):
        if r not in prepared.excluded:  # image-only rows made no job
            candidates.setdefault(_identity(prepared.row_dict(r), columns), []).append(r)
    wanted: dict[tuple[str, ...], list[RowUrl]] = {}
    for f in found:
        wanted.setdefault(_identity(f.values, columns), []).append(f)
    matched: dict[int, str] = {}
    missing: list[RowUrl] = []
    for key, stored in wanted.items():
        free = list(candidates.get(key, []))
        left: list[RowUrl] = []
        for f in stored:
            same = [
                r
                for r in free
                if _same_row(f.values, table.headers, table.rows[r], prepared.rows[r])
            ]
            if same:
                matched[same[0]] = f.url
                free.remove(same[0])
            else:
                left.append(f)
        if len(left) == len(free):
            matched.update((r, f.url) for r, f in zip(free, left, strict=True))
        else:
            missing += left
    _fill_groups(table, prepared, columns, found, matched)
    return matched, sorted(missing, key=lambda f: f.row_index)


def _fill_groups(
    table: Table,
    prepared: Table,
    columns: list[str],
    found: list[RowUrl],
    matched: dict[int, str],
) -> None:
    """Give the other rows of a job that stands for several (one image per product, or per
    colour) its URL: a row left without one takes the URL of the job of its ``Handle`` whose
    row agrees with it on the most variant columns (per colour: the same colour), and none when
    two such jobs tie, so a URL is never guessed."""
    groups: dict[str, list[RowUrl]] = {}
    for f in found:
        if f.covers > 1:
            groups.setdefault(_identity(f.values, [])[0], []).append(f)
    if not groups:
        return
    for r in range(len(table.rows)):
        if r in matched or r in prepared.excluded:
            continue
        row = prepared.row_dict(r)
        handle = _identity(row, [])[0]
        if handle not in groups:
            continue
        mine = _identity(row, columns)[1:]
        scores = sorted(
            (
                (
                    sum(
                        a == b for a, b in zip(mine, _identity(f.values, columns)[1:], strict=True)
                    ),
                    f.url,
                )
                for f in groups[handle]
            ),
            reverse=True,
        )
        if len(scores) == 1 or scores[0][0] > scores[1][0]:
            matched[r] = scores[0][1]


def export_shopify_csv(store: Store, batch_id: int, dest: Path) -> ShopifyExport:
    """Write the Shopify import file: each row of the batch found again in its spreadsheet (by
    ``match_rows``: an edited sheet cannot misplace a URL) gets its URL; every cell a
    spreadsheet would run as a formula is neutralised as in manifest.csv (``to_csv``).

    Raises:
        InputError: the batch did not come from a Shopify export (no ``Handle`` / ``Image
            Src``), its file is gone, or none of its images has a public URL yet (deliver to
            S3 with a public URL first).
        OutputError: ``dest`` cannot be written.
    """
    batch = store.batch(batch_id)
    source = Path(batch.source)
    if not source.is_file():
        raise InputError(str(source), tr("the batch's spreadsheet is gone; the export needs it"))
    table = read_table(source)
    for col in ("Handle", "Image Src"):
        if col not in table.headers:
            raise InputError(
                str(source),
                tr("not a Shopify product export: no {column!r} column").format(column=col),
            )
    found = row_urls(store, batch_id)
    if not found:
        raise InputError(
            tr("batch {id}").format(id=batch_id),
            tr("no image has a public URL yet: deliver it to S3 (--deliver) first"),
        )
    urls, missing = match_rows(table, found)
    h, src = table.headers.index("Handle"), table.headers.index("Image Src")
    vimg = table.headers.index("Variant Image") if "Variant Image" in table.headers else None
    first_row: dict[str, int] = {}
    for i, row in enumerate(table.rows):
        first_row.setdefault(row[h], i)
    rows = [list(r) for r in table.rows]
    for i, url in sorted(urls.items()):
        product_row = rows[first_row[rows[i][h]]]
        if product_row[src] in ("", url) or first_row[rows[i][h]] == i:
            product_row[src] = url
        if vimg is not None:
            rows[i][vimg] = url
    # ``to_csv`` neutralises every formula cell (one rule with manifest.csv) and ends lines
    # with CRLF, so a cell holding a lone CR is quoted and stays one cell.
    text = to_csv(rows, table.headers)
    atomic_write(dest, text.encode("utf-8"))
    notes = [
        tr(
            "row {row} of the batch (Handle {handle!r}) is no longer in {file}: its URL is not written"
        ).format(row=f.row_index + 1, handle=f.values.get("Handle", ""), file=source.name)
        for f in missing
    ]
    return ShopifyExport(len(urls), notes)
