"""Renditions that meet a channel's rules where a fix exists: transparency flattened onto
white, colours converted to sRGB, frame bands cropped off, the product re-framed on white for
fill, margins, centring and the top-left region, padded (white backdrop) or cropped (photo)
to the channel's aspect, scaled into its size limits, converted to an accepted format,
re-encoded under its file-size limit (JPEG quality stepped down, then the size) and named by
the product code where the channel wants it.

What no fix can meet is said, not hidden: text over the limit, and a non-white backdrop or
photo background where white is required (``Judgement.unfixable``).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from atelier.core.errors import OutputError
from atelier.core.i18n import tr
from atelier.output.channels.check import Judgement, RuleResult, judge, open_image
from atelier.output.channels.facts import Facts
from atelier.output.channels.measure import Layout, analyse, flattened
from atelier.output.channels.profiles import Profile

_SAVE_AS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "tiff": "TIFF",
    "bmp": "BMP",
}
_EXT = {
    "jpeg": ".jpg",
    "png": ".png",
    "gif": ".gif",
    "webp": ".webp",
    "tiff": ".tif",
    "bmp": ".bmp",
}
_ALPHA = {"png", "webp", "tiff", "gif"}
_LAYOUT_KINDS = {"fill", "margins", "top_left_empty", "centred", "background_white"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass
class Rendition:
    """A rendition written for one channel.

    Attributes:
        source: the image it was made from.
        channel: the channel's id.
        path: the file written.
        steps: what was done, in words (in the language in force).
        unfixable: the source's failed rules no fix can meet (when re-checked: those the
            rendition still fails).
        after: the rendition judged against the channel (``None`` when not re-checked).
    """

    source: str
    channel: str
    path: Path
    steps: list[str] = field(default_factory=list)
    unfixable: list[RuleResult] = field(default_factory=list)
    after: Judgement | None = None


def _srgb(img: Image.Image, steps: list[str]) -> Image.Image:
    """``img`` in sRGB: an embedded profile that is not sRGB is converted (or dropped when it
    does not fit the pixels), CMYK made RGB. ``img`` itself is not changed (other channels'
    renditions start from it)."""
    data = img.info.get("icc_profile")
    if data:
        try:
            parsed = ImageCms.ImageCmsProfile(io.BytesIO(data))
            src: ImageCms.ImageCmsProfile | None = parsed
            desc = str(ImageCms.getProfileDescription(parsed)).strip()
        except (OSError, ImageCms.PyCMSError, TypeError):
            src, desc = None, ""
        if src is None or "srgb" not in desc.lower() or img.mode == "CMYK":
            out = None
            if src is not None:
                mode = "RGBA" if "A" in img.getbands() else "RGB"
                source = img if img.mode in ("RGB", "RGBA", "CMYK") else img.convert(mode)
                try:
                    out = ImageCms.profileToProfile(source, src, _SRGB, outputMode=mode)
                except ImageCms.PyCMSError:  # a profile of another colour space (Lab, grey…)
                    out = None
            if out is None:
                out = img.copy()
                steps.append(tr("dropped a colour profile that does not fit the pixels"))
            else:
                steps.append(tr("converted {profile} to sRGB").format(profile=desc))
            out.info.pop("icc_profile", None)
            img = out
    if img.mode == "CMYK":
        img = img.convert("RGB")
        steps.append(tr("converted CMYK to RGB"))
    return img


def _canvas(size: tuple[int, int], fill: float, aspect: float) -> tuple[int, int, int, int]:
    """The canvas ``(width, height, x, y)`` of ``aspect`` (w/h) a box of ``size`` fills to
    ``fill``, and where the box goes (centred)."""
    bw, bh = size
    w = max(bw / fill, bh * aspect / fill)
    cw, ch = max(bw, round(w)), max(bh, round(w / aspect))
    return cw, ch, (cw - bw) // 2, (ch - bh) // 2


def _place(product: Image.Image, fill: float, aspect: float) -> Image.Image:
    """``product`` centred on a white canvas of ``aspect`` (w/h) it fills to ``fill``."""
    cw, ch, x, y = _canvas(product.size, fill, aspect)
    canvas = Image.new("RGB", (cw, ch), (255, 255, 255))
    canvas.paste(product, (x, y))
    return canvas


def _aspect(profile: Profile) -> float | None:
    if profile.render.width and profile.render.height:
        return profile.render.width / profile.render.height
    rules = profile.rules("aspect")
    return rules[0].aspect_value() if rules else None


def _reframe(img: Image.Image, lay: Layout, profile: Profile, steps: list[str]) -> Image.Image:
    """The product cropped to its box and placed on white to meet fill, margins, centring and
    the top-left region (shrunk in 5 % steps until the top-left square is clear)."""
    assert lay.box is not None
    product = img.crop(lay.box)
    fill = 0.9
    for r in profile.rules("fill"):
        fill = min(0.97, max(fill, (r.min or 0) + 0.03))
    for r in profile.rules("margins"):
        fill = min(fill, 1 - 2 * (r.min or 0) - 0.02)
    corner = max((r.min or 0 for r in profile.rules("top_left_empty")), default=0.0)
    aspect = _aspect(profile) or 1.0
    if corner and lay.points is not None and len(lay.points):
        # Where the product's pixels land on each candidate canvas: the first fill whose
        # top-left square (``corner`` of each side) holds none of them.
        ys = lay.points[:, 0] - lay.box[1]
        xs = lay.points[:, 1] - lay.box[0]
        while fill > 0.3:
            cw, ch, x, y = _canvas(product.size, fill, aspect)
            if float(np.maximum((ys + y) / ch, (xs + x) / cw).min()) >= corner + 0.01:
                break
            fill -= 0.05
    steps.append(tr("re-framed the product on white at {share:.0%}").format(share=fill))
    return _place(product, fill, aspect)


def _to_aspect(img: Image.Image, aspect: float, white: bool, steps: list[str]) -> Image.Image:
    w, h = img.size
    if abs(w / h / aspect - 1) <= 0.002:
        return img
    if white:
        cw, ch = (max(w, round(h * aspect)), max(h, round(w / aspect)))
        canvas = Image.new("RGB", (cw, ch), (255, 255, 255))
        canvas.paste(img, ((cw - w) // 2, (ch - h) // 2))
        steps.append(tr("padded with white to {w}×{h}").format(w=cw, h=ch))
        return canvas
    cw, ch = (round(h * aspect), h) if w / h > aspect else (w, round(w / aspect))
    left, top = (w - cw) // 2, (h - ch) // 2
    steps.append(tr("cropped to {w}×{h}").format(w=cw, h=ch))
    return img.crop((left, top, left + cw, top + ch))


def _scale(img: Image.Image, profile: Profile, steps: list[str]) -> Image.Image:
    """``img`` scaled into the size limits (or to the render size the profile names)."""
    w, h = img.size
    if profile.render.width and profile.render.height:
        size = (profile.render.width, profile.render.height)
    else:
        s = 1.0
        for r in profile.rules("min_long_side"):
            s = max(s, (r.min or 0) / max(w, h))
        for r in profile.rules("min_short_side"):
            s = max(s, (r.min or 0) / min(w, h))
        for r in profile.rules("max_size"):
            s = min(s, (r.width or w) / w, (r.height or h) / h)
        for r in profile.rules("megapixels"):
            s = min(s, math.sqrt((r.max or math.inf) * 1e6 / (w * h)))
        rnd = math.ceil if s > 1 else math.floor
        size = (max(1, rnd(w * s)), max(1, rnd(h * s)))
    if size == img.size:
        return img
    steps.append(tr("scaled to {w}×{h}").format(w=size[0], h=size[1]))
    return img.resize(size, Image.Resampling.LANCZOS)


def target_format(source: str | None, profile: Profile) -> str:
    """The format to write: the source's when the channel takes it, else the profile's render
    format when taken, else the first the channel takes."""
    rules = profile.rules("formats")
    allowed = rules[0].formats if rules else list(_SAVE_AS)
    if source is not None and source in allowed:
        return source
    return profile.render.format if profile.render.format in allowed else allowed[0]


def encode(img: Image.Image, fmt: str, profile: Profile, steps: list[str]) -> tuple[bytes, str]:
    """``img`` encoded as ``fmt`` under the channel's file-size limit: JPEG/WebP quality from
    the profile's down in steps of 8 to 44; then a lossless format the channel allows to be
    JPEG becomes JPEG; then the size shrinks by 15 %. Returns the bytes and the format."""
    limit = min((int(r.max or 0) for r in profile.rules("file_size")), default=None)
    rules = profile.rules("formats")
    jpeg_ok = not rules or "jpeg" in rules[0].formats
    data = b""
    for _ in range(8):
        lossy = fmt in ("jpeg", "webp")
        qualities = list(range(profile.render.quality, 43, -8)) if lossy else [0]
        for q in qualities:
            buf = io.BytesIO()
            if fmt == "jpeg":
                (img if img.mode in ("RGB", "L") else img.convert("RGB")).save(
                    buf, "JPEG", quality=q
                )
            elif fmt == "webp":
                img.save(buf, "WEBP", quality=q)
            else:
                img.save(buf, _SAVE_AS[fmt])
            data = buf.getvalue()
            if limit is None or len(data) <= limit:
                if q and q != profile.render.quality:
                    steps.append(tr("JPEG quality {q} to stay under the size limit").format(q=q))
                return data, fmt
        if fmt not in ("jpeg", "webp") and jpeg_ok:
            fmt = "jpeg"
            steps.append(tr("JPEG instead of a lossless format to stay under the size limit"))
            continue
        img = img.resize(
            (max(1, int(img.width * 0.85)), max(1, int(img.height * 0.85))),
            Image.Resampling.LANCZOS,
        )
        steps.append(
            tr("scaled to {w}×{h} to stay under the size limit").format(w=img.width, h=img.height)
        )
    return data, fmt


def render(
    img: Image.Image,
    profile: Profile,
    before: Judgement,
    steps: list[str],
    layout: Layout | None = None,
) -> tuple[bytes, str]:
    """``img`` made to meet ``profile`` where a fix exists, given how it was judged
    (``before``, OCR not needed) and, when known, its ``layout`` (saves measuring again);
    returns the encoded bytes and their format. ``img`` is not changed."""
    failed = {r.kind for r in before.failed()}
    fmt = target_format((img.format or "").lower() or None, profile)
    img = _srgb(img, steps)
    keep_alpha = fmt in _ALPHA and not profile.rules("no_transparency")
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    if has_alpha and not keep_alpha:
        steps.append(tr("flattened transparency onto white"))
    img = img if keep_alpha and has_alpha else flattened(img)
    lay = layout
    if "no_frame" in failed:
        lay = lay or analyse(img)
        b = lay.bands
        box = (
            b.get("left", 0),
            b.get("top", 0),
            img.width - b.get("right", 0),
            img.height - b.get("bottom", 0),
        )
        img = img.crop(box)
        steps.append(tr("cropped off the frame bands"))
        lay = None
        # Inside the frame the layout can be measured now.
        inner = judge(Facts(img, name="", file_size=None, code=None, use_ocr=False), profile, "")
        failed |= {r.kind for r in inner.failed()}
    if failed & _LAYOUT_KINDS:
        lay = lay or analyse(img)
        if lay.white_background and lay.box is not None:
            img = _reframe(flattened(img), lay, profile, steps)
            lay = None
    aspect = _aspect(profile)
    if aspect is not None:
        lay = lay or analyse(img)
        img = _to_aspect(
            flattened(img) if lay.white_background else img, aspect, lay.white_background, steps
        )
    img = _scale(img, profile, steps)
    if fmt != (before_format := (before_fmt(before) or fmt)):
        steps.append(
            tr("converted {src} to {dst}").format(src=before_format.upper(), dst=fmt.upper())
        )
    return encode(img, fmt, profile, steps)


def before_fmt(before: Judgement) -> str | None:
    """The source's format as the judgement measured it (``None`` when no format rule)."""
    for r in before.results:
        if r.kind == "formats" and isinstance(r.value, str):
            return r.value
    return None


def rendition_name(source: Path, fmt: str, profile: Profile, code: str | None) -> str:
    """The rendition's file name: the product code where the channel wants it (and one is
    given), else the source's stem; the extension of the format."""
    stem = code if code and profile.rules("file_name_code") else source.stem
    return stem + _EXT[fmt]


def fix_file(
    path: Path,
    profile: Profile,
    out_dir: Path,
    *,
    code: str | None = None,
    judged: Judgement | None = None,
    recheck: bool = True,
    use_ocr: bool = True,
    today: dt.date | None = None,
) -> Rendition:
    """Write ``path``'s rendition for ``profile`` into ``out_dir``.

    Args:
        judged: the source's judgement when already made (with OCR, its unfixable text rule
            is reported); otherwise it is judged here without OCR.
        recheck: judge the written rendition (with OCR when ``use_ocr``).

    Raises:
        InputError: the source cannot be read.
        OutputError: the rendition cannot be written (naming the file).
    """
    return fix_channels(
        path,
        [profile],
        lambda p: out_dir,
        code=code,
        judged=None if judged is None else [judged],
        recheck=recheck,
        use_ocr=use_ocr,
        today=today,
    )[0]


def fix_channels(
    path: Path,
    profiles: list[Profile],
    out_dir: Callable[[Profile], Path],
    *,
    code: str | None = None,
    judged: list[Judgement] | None = None,
    recheck: bool = True,
    use_ocr: bool = True,
    today: dt.date | None = None,
) -> list[Rendition]:
    """Write ``path``'s rendition for each of ``profiles`` (decoded and measured once), each
    into ``out_dir(profile)`` (export: ``out / profile.id``).

    Args:
        judged: the source's judgements, one per profile, when already made.
        recheck: judge each written rendition (with OCR when ``use_ocr``).

    Raises:
        InputError: the source cannot be read.
        OutputError: a rendition cannot be written (naming the file).
    """
    img, size = open_image(path)
    facts = Facts(img, name=path.name, file_size=size, code=code, use_ocr=False)
    if judged is None:
        judged = [judge(facts, p, str(path), today) for p in profiles]
    out: list[Rendition] = []
    for profile, before in zip(profiles, judged, strict=True):
        steps: list[str] = []
        data, fmt = render(img, profile, before, steps, facts.layout)
        target = out_dir(profile) / rendition_name(path, fmt, profile, code)
        if target.suffix != path.suffix.lower():
            steps.append(tr("named {name}").format(name=target.name))
        _write(target, data)
        done = Rendition(str(path), profile.id, target, steps, before.unfixable())
        if recheck:
            shown = Image.open(io.BytesIO(data))
            shown.load()
            after = Facts(shown, name=target.name, file_size=len(data), code=code, use_ocr=use_ocr)
            done.after = judge(after, profile, str(target), today)
            # A rule the rendition meets after all (text that became a smaller share of a
            # padded frame) is not "no fix can meet".
            met = {r.kind for r in done.after.results if r.status == "passed"}
            done.unfixable = [r for r in done.unfixable if r.kind not in met]
        out.append(done)
    return out


def _write(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as e:
        raise OutputError(
            tr("{path}: cannot be written ({reason})").format(path=target, reason=e.strerror or e)
        ) from e
