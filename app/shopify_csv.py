"""``atelier export BATCH --shopify-csv FILE``: the batch's own Shopify product export with the
delivered public URLs in ``Image Src`` (a product's first row) and ``Variant Image`` (each
variant's row), ready for Shopify's product CSV import.

Shopify's product CSV (help.shopify.com, "Using CSV files to import and export products"):
rows sharing a ``Handle`` are one product; ``Image Src`` is a public URL Shopify downloads;
``Variant Image`` a variant's photo; the file must be UTF-8. Every other column and row (the
shop's own image-only rows too) is written back as it was read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.errors import InputError
from app.i18n import tr
from app.outputs import atomic_write
from app.store import Store
from app.tabular import read_table


def job_urls(store: Store, batch_id: int) -> dict[int, str]:
    """``{row index: public URL}``: each job's shown first image's delivered storage URL, for
    every row the job stands for (one image per product fills all its variant rows)."""
    shown = {img.job_id: img for img in store.images(batch_id) if img.sample_index == 0}
    urls = store.delivered_urls(batch_id, [i.id for i in shown.values()])
    out: dict[int, str] = {}
    for job in store.jobs(batch_id):
        img = shown.get(job.id)
        if img is not None and img.id in urls:
            for row in job.spec.source_rows():
                out[row] = urls[img.id][0]
    return out


def export_shopify_csv(store: Store, batch_id: int, dest: Path) -> int:
    """Write the Shopify import file; returns how many rows got a URL.

    Raises:
        InputError: the batch did not come from a Shopify export (no ``Handle`` / ``Image
            Src``), its file is gone, or none of its images has a public URL yet (deliver to
            S3 with a public URL first).
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
    urls = job_urls(store, batch_id)
    if not urls:
        raise InputError(
            tr("batch {id}").format(id=batch_id),
            tr("no image has a public URL yet: deliver it to S3 (--deliver) first"),
        )
    h, src = table.headers.index("Handle"), table.headers.index("Image Src")
    vimg = table.headers.index("Variant Image") if "Variant Image" in table.headers else None
    first_row: dict[str, int] = {}
    for i, row in enumerate(table.rows):
        first_row.setdefault(row[h], i)
    rows = [list(r) for r in table.rows]
    changed = 0
    for i, url in sorted(urls.items()):
        if not 0 <= i < len(rows):
            continue
        product_row = rows[first_row[rows[i][h]]]
        if product_row[src] in ("", url) or first_row[rows[i][h]] == i:
            product_row[src] = url
        if vimg is not None:
            rows[i][vimg] = url
        changed += 1
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.headers)
    w.writerows(rows)
    atomic_write(dest, buf.getvalue().encode("utf-8"))
    return changed
