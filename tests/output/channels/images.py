"""Images built to pass or to break a channel's rules, for the channel tests: a photo-like
product (a shaded, noisy body) on white, grey or a photo, with a frame, with text drawn in a
CJK font, transparent, in another format or colour space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # fonts-noto-cjk


def product(
    size: tuple[int, int] = (1024, 1024),
    *,
    bg: tuple[int, int, int] = (255, 255, 255),
    fill: float = 0.9,
    square: bool = False,
    at: tuple[float, float] = (0.5, 0.5),
    seed: int = 0,
) -> Image.Image:
    """A photo-like product (a gradient with noise, round or square) filling ``fill`` of the
    shorter side, centred at ``at`` (shares of the image), on a plain ``bg``."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, bg)
    s = max(2, int(min(w, h) * fill))
    y, x = np.mgrid[0:s, 0:s]
    body = np.stack([120 + 60 * x / s, 60 + 80 * y / s, 140 - 40 * x / s], -1)
    body = np.clip(body + rng.normal(0, 6, (s, s, 3)), 0, 255).astype(np.uint8)
    mask = Image.new("L", (s, s), 0)
    shape = ImageDraw.Draw(mask)
    (shape.rectangle if square else shape.ellipse)((0, 0, s - 1, s - 1), fill=255)
    img.paste(Image.fromarray(body), (int(w * at[0] - s / 2), int(h * at[1] - s / 2)), mask)
    return img


def photo(size: tuple[int, int] = (1024, 1024), seed: int = 1) -> Image.Image:
    """A photo-like scene filling the frame (no plain backdrop anywhere)."""
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([90 + 100 * x / w, 140 - 60 * y / h, 80 + 50 * np.sin(x / 37.0)], -1)
    arr = np.clip(base + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    img.paste(product((w // 2, h // 2), bg=(150, 120, 90), fill=0.8), (w // 4, h // 4))
    return img


def framed(
    img: Image.Image, width: int = 14, colour: tuple[int, int, int] = (20, 20, 20)
) -> Image.Image:
    """``img`` with a frame drawn along its four edges."""
    out = img.copy()
    ImageDraw.Draw(out).rectangle(
        (0, 0, out.width - 1, out.height - 1), outline=colour, width=width
    )
    return out


def font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK JP (face 0 of the collection) at ``size`` px."""
    return ImageFont.truetype(CJK_FONT, size, index=0)


def with_text(
    img: Image.Image, lines: list[tuple[str, tuple[int, int]]], size: int = 80
) -> Image.Image:
    """``img`` with black text lines drawn at the given points (on the white backdrop, as a
    shop's badge text would be: high contrast)."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    for text, xy in lines:
        draw.text(xy, text, font=font(size), fill=(0, 0, 0))
    return out


def badges() -> Image.Image:
    """A product under shop badges in Japanese (送料無料, 半額セール, 今だけ): text over a fifth
    of a 10×10 grid, which fails Rakuten's and every stricter text rule."""
    return with_text(
        product(fill=0.5),
        [
            ("送料無料 ポイント10倍", (30, 20)),
            ("本日限定 半額セール", (30, 140)),
            ("今だけ", (30, 880)),
        ],
        size=90,
    )


def transparent(img: Image.Image) -> Image.Image:
    """``img`` with its white backdrop made transparent (RGBA)."""
    arr = np.array(img.convert("RGBA"))
    arr[(arr[..., :3] >= 250).all(-1), 3] = 0
    return Image.fromarray(arr)


def lab_profile() -> bytes:
    """An ICC profile that is not sRGB (Little CMS's built-in Lab)."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes())


def save(img: Image.Image, path: Path, fmt: str | None = None, **params: object) -> Path:
    """Write ``img`` to ``path`` (the format from the extension unless ``fmt``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **params)
    return path
