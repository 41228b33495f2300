"""Handing images on for sign-off: a ZIP of the chosen images with a ``manifest.csv``, and a
contact sheet (a PDF of captioned thumbnails, made with Pillow).

What is chosen is a ``Selection`` of the images each job shows: by review flag and stars.
Files carry the job's own names in the output folder (``Vendor/SKU.png``), whichever version is
the pick (its version is in the manifest); ``manifest.csv`` lists the row's values in the sheet's
column order.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from atelier.core.errors import InputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr
from atelier.core.models import JobSpec
from atelier.output.export import column_order, escape_cell
from atelier.providers.draft import font_path
from atelier.sheet.templates import safe_entry_name, split_ext
from atelier.store import ImageRow, Store

MANIFEST_COLUMNS = ("file", "job_id", "row", "version", "flag", "stars", "prompt", "model",
                    "seed", "cost_usd", "request_id")  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """Which of a batch's shown images: ``flags`` (``None``: any), at least ``min_stars``, and
    among ``image_ids`` when given (the images a window's view shows)."""

    flags: frozenset[str] | None = None
    min_stars: int = 0
    image_ids: frozenset[int] | None = None

    def keeps(self, im: ImageRow) -> bool:
        """Whether ``im`` is chosen."""
        return (
            (self.flags is None or im.flag in self.flags)
            and im.stars >= self.min_stars
            and (self.image_ids is None or im.id in self.image_ids)
        )


PICKED = Selection(frozenset({"picked"}))


def chosen(store: Store, batch_id: int, selection: Selection) -> list[ImageRow]:
    """The shown images of ``batch_id`` that ``selection`` keeps, in job order."""
    return [im for im in store.images(batch_id) if selection.keeps(im) and im.path.is_file()]


def export_zip(store: Store, batch_id: int, images: list[ImageRow], path: Path) -> int:
    """Write ``images`` to the ZIP ``path`` with a ``manifest.csv`` (the row's values, file,
    version, review, prompt, model, seed, cost in USD, request id); returns the images written.

    Raises:
        InputError: nothing is chosen; OutputError: ``path`` cannot be written.
    """
    if not images:
        raise InputError(str(path), tr("no image matches the selection: nothing to export"))
    out_dir = Path(store.batch(batch_id).output_dir).resolve()
    jobs = {j.id: j for j in store.jobs(batch_id)}
    # Every job of the batch, not only those chosen: a column empty in the chosen rows still
    # has its place in the sheet's order.
    used = {k for im in images for k in jobs[im.job_id].spec.row_values}
    columns = [c for c in column_order(j.spec.row_values for j in jobs.values()) if c in used]
    buf = io.BytesIO()
    manifest = io.StringIO()
    w = csv.writer(manifest)
    w.writerow([escape_cell(c) for c in (*MANIFEST_COLUMNS, *columns)])
    taken: set[str] = {"manifest.csv"}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # PNG/JPEG are compressed already
        for im in images:
            spec = jobs[im.job_id].spec
            name = _name_in_zip(_own_path(im, spec, out_dir), out_dir, taken)
            z.write(im.path, name)
            row = "" if spec.row_index is None else spec.row_index + 1
            values = [name, im.job_id, row, im.version, im.flag, im.stars, im.prompt or spec.prompt,
                      im.model or "", "" if im.seed is None else im.seed,
                      "" if im.cost is None else round(im.cost, 6), im.request_id or ""]  # fmt: skip
            w.writerow(
                [escape_cell(v) for v in (*values, *(spec.row_values.get(c, "") for c in columns))]
            )
        z.writestr("manifest.csv", "\ufeff" + manifest.getvalue())  # Excel reads the BOM as UTF-8
    atomic_write(path, buf.getvalue())
    return len(images)


def named(store: Store, batch_id: int, images: list[ImageRow]) -> list[tuple[ImageRow, str]]:
    """Each of ``images`` with its job's own name relative to the output folder (as in the
    ZIP: ``cup.png`` for the shown ``cup.v2.png``), unique among them."""
    out_dir = Path(store.batch(batch_id).output_dir).resolve()
    jobs = {j.id: j for j in store.jobs(batch_id)}
    taken: set[str] = set()
    return [
        (im, _name_in_zip(_own_path(im, jobs[im.job_id].spec, out_dir), out_dir, taken))
        for im in images
    ]


def _own_path(im: ImageRow, spec: JobSpec, out_dir: Path) -> Path:
    """The job's own file name for ``im`` (``cup.png`` for the pick ``cup.v2.png``): the name the
    designer's sheet gave it, whichever version is shown. An image the job's names do not
    cover (a folder image, a sample index past them) keeps its own path."""
    names = spec.sample_paths()
    if 0 <= im.sample_index < len(names):
        return out_dir / names[im.sample_index]
    return im.path


def _name_in_zip(path: Path, out_dir: Path, taken: set[str]) -> str:
    """The entry name of ``path``: its place in the output folder, made safe as file names are
    (a file written before that rule, or renamed by hand, may hold bidi controls that make a
    name display as another, U+202E + ``gnp.exe`` as ``exe.png``), and unique in the ZIP
    (``taken`` holds the casefolded names so far)."""
    try:
        raw = path.resolve().relative_to(out_dir).as_posix()
    except ValueError:
        raw = path.name
    name = safe_entry_name(raw, fallback="image" + path.suffix)
    stem, ext = split_ext(name)
    n = 1
    while name.casefold() in taken:
        n += 1
        name = f"{stem}-{n}{ext}"
    taken.add(name.casefold())
    return name


THUMB = 360
COLS, ROWS = 3, 4  # per A4 page
PAGE = (1240, 1754)  # A4 at 150 dpi


def contact_sheet(images: list[ImageRow], path: Path, title: str) -> int:
    """A PDF of ``images`` as a captioned grid (``contact_pages``); returns the pages written.

    Raises:
        InputError: nothing is chosen; OutputError: ``path`` cannot be written.
    """
    if not images:
        raise InputError(str(path), tr("no image matches the selection: no contact sheet"))
    pages = contact_pages(images, title)
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=150.0, save_all=True, append_images=pages[1:])
    atomic_write(path, buf.getvalue())
    return len(pages)


def contact_pages(images: list[ImageRow], title: str) -> list[Image.Image]:
    """A4 pages at 150 dpi, 3 × 4 thumbnails each, captioned with the file name, version, flag
    and stars."""
    font = _font(22)
    small = _font(18)
    pages: list[Image.Image] = []
    per_page = COLS * ROWS
    for start in range(0, len(images), per_page):
        page = Image.new("RGB", PAGE, "white")
        draw = ImageDraw.Draw(page)
        end = min(len(images), start + per_page)
        draw.text(
            (60, 40),
            tr("{title} — {start}–{end} of {count}").format(
                title=title, start=start + 1, end=end, count=len(images)
            ),
            fill="black",
            font=font,
        )
        for i, im in enumerate(images[start:end]):
            x = 60 + (i % COLS) * (THUMB + 30)
            y = 110 + (i // COLS) * (THUMB + 40)  # four rows and their captions fit on A4
            with Image.open(im.path) as src:
                src.thumbnail((THUMB, THUMB))
                page.paste(src.convert("RGB"), (x + (THUMB - src.width) // 2, y))
                below = y + src.height + 8
            flag = "" if im.flag == "unflagged" else im.flag
            caption = f"{im.path.name}  v{im.version}  {flag} {'★' * im.stars}"
            draw.text((x, below), caption.strip(), fill="black", font=small)
        pages.append(page)
    return pages


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path()  # a CJK-capable font when installed: captions hold Japanese names
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
