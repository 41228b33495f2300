"""One judge per rule kind: from an image's facts and a rule, the verdict
``(status, measured, required, value, fixable)`` (see ``check.RuleResult``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import PurePath
from typing import Literal

from atelier.core.i18n import N_, tr
from atelier.output.channels import ocr
from atelier.output.channels.facts import Facts
from atelier.output.channels.profiles import Rule

Verdict = tuple[Literal["passed", "failed", "not_checked"], str, str, float | str | None, bool]

_LABELS: dict[str, str] = {
    "background_white": N_("White background"),
    "background_white_or_photo": N_("White or photo background"),
    "fill": N_("Product fills the frame"),
    "centred": N_("Product centred"),
    "margins": N_("Margins"),
    "top_left_empty": N_("Top-left region empty"),
    "text_area": N_("Text area"),
    "no_frame": N_("No frame or bands"),
    "min_long_side": N_("Long side"),
    "min_short_side": N_("Short side"),
    "max_size": N_("Largest size"),
    "megapixels": N_("Megapixels"),
    "aspect": N_("Aspect ratio"),
    "file_size": N_("File size"),
    "formats": N_("File format"),
    "extension_matches": N_("Extension matches the format"),
    "colour_profile": N_("Colour profile"),
    "no_transparency": N_("No transparency"),
    "file_name_code": N_("Named by the product code"),
}

_SIDES = {"left": N_("left"), "top": N_("top"), "right": N_("right"), "bottom": N_("bottom")}

EXT_FORMATS = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".png": "png",
    ".gif": "gif",
    ".webp": "webp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
}


def label(kind: str) -> str:
    """The rule kind in words, in the language in force."""
    return tr(_LABELS[kind])


def _ok(ok: bool) -> Literal["passed", "failed"]:
    return "passed" if ok else "failed"


def _photo_note() -> str:
    return tr("photo background: the product cannot be told from it")


def _background_white(f: Facts, r: Rule) -> Verdict:
    lay, need = f.layout, r.min if r.min is not None else 0.95
    # A white backdrop the product touches (re-framing fixes it) or one inside a frame.
    fixable = lay.white_background or bool(lay.bands)
    return (
        _ok(lay.border_white >= need),
        tr("{share:.0%} of the border white").format(share=lay.border_white),
        tr("at least {share:.0%}").format(share=need),
        round(lay.border_white, 4),
        fixable,
    )


def _background_white_or_photo(f: Facts, r: Rule) -> Verdict:
    lay = f.layout
    if not lay.border_plain:
        return ("passed", tr("photo background"), tr("white or a photo"), "photo", False)
    colour = "#{:02X}{:02X}{:02X}".format(*lay.background)
    ok = min(lay.background) >= 250
    return (
        _ok(ok),
        tr("plain {colour} background").format(colour=colour),
        tr("white or a photo"),
        colour,
        False,
    )


def _fill(f: Facts, r: Rule) -> Verdict:
    fill, need = f.layout.fill(), r.min or 0.0
    if fill is None:
        return ("not_checked", _photo_note(), "", None, False)
    return (
        _ok(fill >= need),
        tr("{share:.0%} of the frame").format(share=fill),
        tr("at least {share:.0%}").format(share=need),
        round(fill, 4),
        f.layout.white_background,
    )


def _centred(f: Facts, r: Rule) -> Verdict:
    off, most = f.layout.offset(), r.max or 0.0
    if off is None:
        return ("not_checked", _photo_note(), "", None, False)
    return (
        _ok(off <= most),
        tr("centre {share:.1%} off").format(share=off),
        tr("at most {share:.1%} off").format(share=most),
        round(off, 4),
        f.layout.white_background,
    )


def _margins(f: Facts, r: Rule) -> Verdict:
    margins, need = f.layout.margins(), r.min or 0.0
    if margins is None:
        return ("not_checked", _photo_note(), "", None, False)
    side = min(margins, key=lambda k: margins[k])
    return (
        _ok(margins[side] >= need),
        tr("smallest {share:.1%} ({side})").format(share=margins[side], side=tr(_SIDES[side])),
        tr("at least {share:.0%} on each side").format(share=need),
        round(margins[side], 4),
        f.layout.white_background,
    )


def _top_left(f: Facts, r: Rule) -> Verdict:
    lay, need = f.layout, r.min or 0.0
    if not lay.border_plain:
        return ("not_checked", _photo_note(), "", None, False)
    return (
        _ok(lay.top_left_share >= need),
        tr("empty up to {share:.0%}").format(share=lay.top_left_share),
        tr("the top-left {share:.0%} empty").format(share=need),
        round(lay.top_left_share, 4),
        lay.white_background,
    )


def _text_area(f: Facts, r: Rule) -> Verdict:
    most = r.max or 0.0
    required = (
        tr("no text")
        if most == 0
        else tr("at most {share:.0%} of a {n}×{n} grid").format(share=most, n=r.grid)
    )
    found = f.text(r.grid)
    if found is None:
        why = (
            tr("OCR not asked for")
            if not f.use_ocr
            else tr("Tesseract (with eng, jpn, chi_sim, chi_tra or kor data) is not installed")
        )
        return ("not_checked", why, required, None, False)
    words = " ".join(found.words)[:60]
    measured = tr("{cells} of {total} cells").format(cells=len(found.cells), total=r.grid * r.grid)
    if words:
        measured += f" ({words})"
    missing = ocr.missing_languages()
    if found.share <= most and missing:  # text in a missing script went unseen: no "passed"
        measured += "; " + tr("Tesseract has no {languages} data").format(
            languages=", ".join(missing)
        )
        return ("not_checked", measured, required, round(found.share, 4), False)
    return (_ok(found.share <= most), measured, required, round(found.share, 4), False)


def _no_frame(f: Facts, r: Rule) -> Verdict:
    bands = f.layout.bands
    if not bands:
        return ("passed", tr("none found"), tr("no frame"), 0, True)
    sides = ", ".join(f"{tr(_SIDES[k])} {v} px" for k, v in bands.items())
    raw = ",".join(f"{k}:{v}" for k, v in bands.items())  # for machines: side:px
    return ("failed", tr("bands: {sides}").format(sides=sides), tr("no frame"), raw, True)


def _px(f: Facts) -> str:
    return f"{f.img.width}×{f.img.height}"


def _min_long(f: Facts, r: Rule) -> Verdict:
    side = max(f.img.size)
    need = int(r.min or 0)
    return (_ok(side >= need), _px(f), tr("at least {px} px").format(px=need), side, True)


def _min_short(f: Facts, r: Rule) -> Verdict:
    side = min(f.img.size)
    need = int(r.min or 0)
    return (_ok(side >= need), _px(f), tr("at least {px} px").format(px=need), side, True)


def _max_size(f: Facts, r: Rule) -> Verdict:
    w, h = f.img.size
    ok = w <= (r.width or w) and h <= (r.height or h)
    return (_ok(ok), _px(f), tr("at most {w}×{h}").format(w=r.width, h=r.height), _px(f), True)


def _megapixels(f: Facts, r: Rule) -> Verdict:
    mp = f.img.width * f.img.height / 1e6
    most = r.max or math.inf
    return (
        _ok(mp <= most),
        f"{mp:.1f} MP",
        tr("at most {mp:g} MP").format(mp=most),
        round(mp, 2),
        True,
    )


def _aspect(f: Facts, r: Rule) -> Verdict:
    got = f.img.width / f.img.height
    want = r.aspect_value()
    ok = abs(got / want - 1) <= r.tolerance
    return (_ok(ok), f"{got:.3f} ({_px(f)})", f"{r.ratio} ({want:.3f})", round(got, 4), True)


def _file_size(f: Facts, r: Rule) -> Verdict:
    most = int(r.max or 0)
    if f.file_size is None:
        return ("not_checked", tr("not a file"), "", None, True)
    return (
        _ok(f.file_size <= most),
        f"{f.file_size:,} B",
        tr("at most {bytes:,} B").format(bytes=most),
        f.file_size,
        True,
    )


def _formats(f: Facts, r: Rule) -> Verdict:
    fmt = f.format or "?"
    return (_ok(fmt in r.formats), fmt.upper(), ", ".join(x.upper() for x in r.formats), fmt, True)


def _extension(f: Facts, r: Rule) -> Verdict:
    ext = PurePath(f.name).suffix.lower()
    named = EXT_FORMATS.get(ext)
    return (
        _ok(named is not None and named == f.format),
        tr("{ext} for {fmt}").format(ext=ext or "—", fmt=(f.format or "?").upper()),
        tr("the extension of the format"),
        ext,
        True,
    )


def _colour_profile(f: Facts, r: Rule) -> Verdict:
    desc = f.icc_description
    cmyk = f.img.mode == "CMYK"
    if desc is None:
        ok, measured = not cmyk, (tr("none (CMYK)") if cmyk else tr("none (read as sRGB)"))
    else:
        ok, measured = ("srgb" in desc.lower() and not cmyk), desc or tr("unreadable profile")
    return (_ok(ok), measured, tr("sRGB or none"), desc or "", True)


def _transparency(f: Facts, r: Rule) -> Verdict:
    has = f.has_transparency
    return (
        _ok(not has),
        tr("transparent pixels") if has else tr("opaque"),
        tr("opaque"),
        "transparent" if has else "opaque",
        True,
    )


def _file_name(f: Facts, r: Rule) -> Verdict:
    stem = PurePath(f.name).stem
    if not f.code:
        return ("not_checked", tr("no product code given"), tr("the product code"), stem, True)
    return (_ok(stem == f.code), stem, f.code, stem, True)


JUDGES: dict[str, Callable[[Facts, Rule], Verdict]] = {
    "background_white": _background_white,
    "background_white_or_photo": _background_white_or_photo,
    "fill": _fill,
    "centred": _centred,
    "margins": _margins,
    "top_left_empty": _top_left,
    "text_area": _text_area,
    "no_frame": _no_frame,
    "min_long_side": _min_long,
    "min_short_side": _min_short,
    "max_size": _max_size,
    "megapixels": _megapixels,
    "aspect": _aspect,
    "file_size": _file_size,
    "formats": _formats,
    "extension_matches": _extension,
    "colour_profile": _colour_profile,
    "no_transparency": _transparency,
    "file_name_code": _file_name,
}
