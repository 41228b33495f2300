"""Encoding a provider's image for disk: the bytes are checked (a truncated or undecodable
image is refused), fitted to the requested size, converted to the requested format, and the
job's metadata embedded (PNG ``iTXt`` chunks ``atelier`` and ``parameters``; EXIF
``UserComment`` and ``ImageDescription`` for JPEG and WebP). ``atelier.output.images`` writes the result.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import IFD

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr

_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def _png_itxt(keyword: str, text: str) -> bytes:
    data = keyword.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )


def _png_with_text(png: bytes, chunks: dict[str, str]) -> bytes:
    """Insert ``iTXt`` chunks just before ``IEND``, without re-encoding the pixels."""
    iend = png.rfind(b"IEND")
    if iend < 4:
        raise ValueError("no IEND chunk")
    at = iend - 4
    extra = b"".join(_png_itxt(k, v) for k, v in chunks.items())
    return png[:at] + extra + png[at:]


def _parameters_text(meta: dict[str, Any]) -> str:
    lines = [str(meta.get("prompt", ""))]
    if meta.get("negative_prompt"):
        lines.append(f"Negative prompt: {meta['negative_prompt']}")
    keys = ("provider", "model", "size", "quality", "seed")
    lines.append(", ".join(f"{k.capitalize()}: {meta[k]}" for k in keys if meta.get(k) is not None))
    return "\n".join(lines)


def encode_image(
    data: bytes, output_format: str, meta: dict[str, Any], size: tuple[int, int] | None = None
) -> tuple[bytes, Image.Image | None]:
    """Validate ``data``, fit it to ``size`` (when given and different), convert it to
    ``output_format`` and embed ``meta``.

    Providers that work in aspect ratios (Gemini, Stability, BFL) return their own pixel sizes;
    fitting (centre crop to the requested ratio, then Lanczos resize) gives the designer the
    size they asked for.

    A PNG that already has the requested size is checked chunk by chunk (every CRC, up to IEND)
    without decoding its pixels: 0.03 ms instead of 5 ms for 1024², and a cut-off file is still
    refused.

    Returns:
        ``(file_bytes, decoded_image or None)``; ``None`` when the pixels were not decoded.
    Raises:
        ProviderError: ``server_error`` when the bytes are not a complete image (a retry of the
            request may succeed).
    """
    want = _PIL_FORMAT[output_format]
    meta_json = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        if want == "PNG" and img.format == "PNG" and (size is None or img.size == size):
            img.verify()
            return _png_with_text(
                data, {"atelier": meta_json, "parameters": _parameters_text(meta)}
            ), None
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ProviderError(
            ErrorClass.SERVER_ERROR,
            tr("The provider sent an image that cannot be decoded ({reason}).").format(reason=e),
        ) from e
    src = (img.format or "").upper()
    if size is not None and img.size != size:
        img = ImageOps.fit(img, size, Image.Resampling.LANCZOS)
        src = "RESIZED"  # forces a re-encode below
    if want == "PNG":
        if src == "PNG":
            out = data
        else:
            buf = io.BytesIO()
            img.save(buf, "PNG", compress_level=6)
            out = buf.getvalue()
        return _png_with_text(
            out, {"atelier": meta_json, "parameters": _parameters_text(meta)}
        ), img
    return _encode_exif_format(img, want, src, meta, meta_json), img


def _encode_exif_format(
    img: Image.Image, want: str, src: str, meta: dict[str, Any], meta_json: str
) -> bytes:
    """JPEG or WebP bytes of ``img`` with the metadata in EXIF: ``UserComment`` (UTF-16, the
    whole JSON) and an ASCII-safe ``ImageDescription`` (the prompt). A JPEG that stays a JPEG
    keeps its quantisation tables (no second loss)."""
    exif = Image.Exif()
    exif[0x0131] = "Atelier"
    exif[0x010E] = json.dumps(meta.get("prompt", ""), ensure_ascii=True)
    exif.get_ifd(IFD.Exif)[0x9286] = b"UNICODE\x00" + meta_json.encode("utf-16-be")
    buf = io.BytesIO()
    if want == "JPEG":
        if src == "JPEG":
            img.save(buf, "JPEG", quality="keep", exif=exif)
        else:
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            rgb.save(buf, "JPEG", quality=92, exif=exif)
    else:
        img.save(buf, "WEBP", quality=92, lossless=src == "PNG", exif=exif)
    return buf.getvalue()
