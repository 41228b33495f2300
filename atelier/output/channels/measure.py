"""Layout measurements of an image, without a model: the background from the border strip,
the product's bounding box (pixels that differ from the background), frame bands along the
edges and the top-left region. Computed on a copy at most ``WORK_SIDE`` px on its long side
(box-filtered), so a 4000² photo costs what a 384² one does; positions are given back in the
image's own pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image

WORK_SIDE = 384
WHITE_LEVEL = 250
"""A pixel is white when every channel is at least this (JPEG noise keeps 255 from staying 255)."""
PRODUCT_DIFF = 24
"""A pixel belongs to the product when a channel differs from the background by more than this."""
PLAIN_SHARE = 0.9
"""A border is plain (one backdrop colour) when this share of it is within 12 of its median."""


@dataclass(frozen=True)
class Layout:
    """Where things are in one image (sizes in the image's own pixels).

    Attributes:
        width, height: the image's size.
        border_white: share (0–1) of the border strip whose pixels are white.
        border_plain: the border is one backdrop colour (not a photo's background).
        background: the border's median RGB colour.
        box: the product's bounding box ``(left, top, right, bottom)`` (right/bottom
            exclusive), ``None`` when nothing differs from a plain background or the
            background is a photo (the product cannot be told from it).
        bands: frame bands found along the edges, side → width in px
            (``left``, ``top``, ``right``, ``bottom``).
        top_left_share: share (0–1) of the top-left square's side up to which the square
            holds only background (1.0: even a square of the whole image is empty).
    """

    width: int
    height: int
    border_white: float
    border_plain: bool
    background: tuple[int, int, int]
    box: tuple[int, int, int, int] | None
    bands: dict[str, int] = field(default_factory=dict)
    top_left_share: float = 0.0
    points: NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    """The leftmost product pixel of each row as ``(y, x)`` in the image's pixels, for placing
    the product clear of the top-left square without measuring again."""

    @property
    def white_background(self) -> bool:
        """A plain white backdrop (the case where layout fixes can pad and crop)."""
        return self.border_plain and min(self.background) >= WHITE_LEVEL

    def fill(self) -> float | None:
        """The longer of the box's width and height shares of the image's (0–1)."""
        if self.box is None:
            return None
        left, top, right, bottom = self.box
        return max((right - left) / self.width, (bottom - top) / self.height)

    def margins(self) -> dict[str, float] | None:
        """Free space on each side as a share of that dimension."""
        if self.box is None:
            return None
        left, top, right, bottom = self.box
        return {
            "left": left / self.width,
            "top": top / self.height,
            "right": (self.width - right) / self.width,
            "bottom": (self.height - bottom) / self.height,
        }

    def offset(self) -> float | None:
        """How far the box's centre is from the image's, the larger share of the two axes."""
        if self.box is None:
            return None
        left, top, right, bottom = self.box
        return max(
            abs((left + right) / 2 / self.width - 0.5), abs((top + bottom) / 2 / self.height - 0.5)
        )


def flattened(img: Image.Image) -> Image.Image:
    """``img`` in RGB, transparent pixels composited onto white (how a white page shows them)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _work_array(img: Image.Image) -> tuple[NDArray[np.int16], float]:
    """The image as an ``int16`` H×W×3 array at most ``WORK_SIDE`` on its long side, and the
    scale from it back to the image's pixels."""
    rgb = flattened(img)
    scale = max(rgb.size) / WORK_SIDE
    if scale > 1:
        factor = int(np.ceil(scale))
        small = rgb.reduce(factor) if factor > 1 else rgb
        scale = rgb.width / small.width
    else:
        small, scale = rgb, 1.0
    return np.asarray(small, dtype=np.int16), scale


def _most(x: NDArray[np.int16]) -> NDArray[np.int16]:
    """The largest of the last axis's three channels (``max(axis=-1)`` over 3 values is a slow
    reduction in numpy; two element-wise maxima are not)."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def _least(x: NDArray[np.int16]) -> NDArray[np.int16]:
    """The smallest of the last axis's three channels."""
    return np.minimum(np.minimum(x[..., 0], x[..., 1]), x[..., 2])


def _border(a: NDArray[np.int16]) -> NDArray[np.int16]:
    h, w, _ = a.shape
    s = max(2, round(0.02 * min(h, w)))
    return np.concatenate(
        [
            a[:s].reshape(-1, 3),
            a[-s:].reshape(-1, 3),
            a[:, :s].reshape(-1, 3),
            a[:, -s:].reshape(-1, 3),
        ]
    )


def _bands(a: NDArray[np.int16], scale: float) -> dict[str, int]:
    """Frame bands: from an edge inwards, lines of one non-white colour that stop within 6 %
    of the image and give way to something else (a plain backdrop runs on; a photo's edge is
    not one colour). One side is enough: a banner along the bottom (Japanese shops' 帯) is
    the band Yahoo! Shopping names first, and it used to pass as no frame."""
    views = {
        "top": a,
        "bottom": a[::-1],
        "left": a.transpose(1, 0, 2),
        "right": a.transpose(1, 0, 2)[::-1],
    }
    found: dict[str, int] = {}
    for side, v in views.items():
        depth = max(1, int(0.06 * v.shape[0]))
        lines = v[: depth + 2].astype(np.float32)
        means = lines.mean(axis=1)
        stds = lines.std(axis=1).max(axis=1)
        edge = means[0]
        if stds[0] > 10 or edge.min() >= WHITE_LEVEL:
            continue
        run = 1
        while run < len(means) and stds[run] <= 10 and np.abs(means[run] - edge).max() < 16:
            run += 1
        # Inside a frame the next line is something else along most of its length; a backdrop
        # the product reaches into is still the band's colour along most of it.
        same = (np.abs(v[run] - edge).max(axis=1) < 16).mean() if run < len(means) else 1.0
        if run <= depth and same < 0.5:
            # The next work line may blend the band with what is inside: count it in.
            found[side] = int(np.ceil((run + (scale > 1)) * scale))
    return found


def _top_left_share(ys: NDArray[np.intp], xs: NDArray[np.intp], h: int, w: int) -> float:
    """The largest share s such that the top-left s×s square holds no product, from each
    product row ``ys`` and its leftmost pixel ``xs`` (a square reaches a pixel once
    s ≥ max(y/h, x/w); the row's leftmost pixel is reached first)."""
    if ys.size == 0:
        return 1.0
    return float(np.minimum(1.0, np.maximum(ys / h, xs / w)).min())


def analyse(img: Image.Image) -> Layout:
    """Measure ``img``'s layout (see :class:`Layout`)."""
    a, scale = _work_array(img)
    bands = _bands(a, scale)
    # The backdrop is what lies inside a frame (the frame itself is ``bands``' finding).
    inset = {k: int(np.ceil(v / scale)) + 1 for k, v in bands.items()}
    top, left = inset.get("top", 0), inset.get("left", 0)
    a = a[top : a.shape[0] - inset.get("bottom", 0), left : a.shape[1] - inset.get("right", 0)]
    border = _border(a)
    white = float((_least(border) >= WHITE_LEVEL).mean())
    median = np.median(border, axis=0).astype(np.int16)  # int16 keeps the sums below in int16
    near = _most(np.abs(border - median)) <= 12
    plain = bool(near.mean() >= PLAIN_SHARE)
    bg = (int(median[0]), int(median[1]), int(median[2]))
    box: tuple[int, int, int, int] | None = None
    top_left = 0.0
    if plain:
        mask = _most(np.abs(a - median)) > PRODUCT_DIFF
        # Noise (a speck of JPEG ringing) is not a product: a row or column counts from 2 px.
        rows = np.flatnonzero(mask.sum(axis=1) >= 2)
        cols = np.flatnonzero(mask.sum(axis=0) >= 2)
        if rows.size and cols.size:
            box = (
                max(0, int((cols[0] + left) * scale)),
                max(0, int((rows[0] + top) * scale)),
                min(img.width, int(np.ceil((cols[-1] + 1 + left) * scale))),
                min(img.height, int(np.ceil((rows[-1] + 1 + top) * scale))),
            )
        # Each row's leftmost product pixel: the top-left square reaches those first.
        ys = np.flatnonzero(mask.any(axis=1))
        xs = mask[ys].argmax(axis=1)
        top_left = _top_left_share(ys, xs, *mask.shape)
        points = np.stack([(ys + top) * scale, (xs + left) * scale], axis=1)
        return Layout(img.width, img.height, white, plain, bg, box, bands, top_left, points)
    return Layout(img.width, img.height, white, plain, bg, box, bands, top_left)
