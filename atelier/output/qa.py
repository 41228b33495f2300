"""Quality checks on every image as it is saved (issue 31, "Catch bad images when they arrive").

Each image a provider returns is judged on a copy of at most ``SAMPLE_SIDE`` px (a JPEG is
decoded at 1/2…1/8 scale by ``Image.draft``; a PNG is decoded and reduced by box averaging):

* ``blank``: fully transparent, or near-uniform and nearly white (mean ≥ ``WHITE_MEAN``).
* ``black``: near-uniform and nearly black (mean ≤ ``BLACK_MEAN``).
* ``uniform``: near-uniform of any other colour: the largest per-channel standard deviation
  of the downscaled copy is below ``UNIFORM_STD``.
* ``wrong_size`` / ``wrong_aspect``: the pixel size the provider returned differs from the
  requested one by more than its documented rounding (``SizeRule``, ``size_rule``).
* ``duplicate``: its perceptual hash (``imagehash.phash``, 64 bits) is within
  ``DUPLICATE_DISTANCE`` bits of another image of the same batch (``HashIndex``).

Thresholds, as measured on 2026-12-07 (``tests/output/test_qa.py::test_thresholds_separate``
asserts the separations; synthetic but representative images from ``tests/fakes/crafted.py``;
the value is the largest per-channel standard deviation of the ≤ 32 px copy, 0–255):

=====================================================  ===================
image                                                  measured std-dev
=====================================================  ===================
flat colour, PNG or JPEG quality 75                    0.0
flat colour + Gaussian grain σ 1–10 (a "grey" failure) 0.5 (the
                                                       downscale averages
                                                       the grain away)
draft provider image (gradient and text), 20 prompts   ≥ 12.3
small product, 3 % of a white frame, 20 seeds          ≥ 21.0
product, 20 % of a white frame, 20 seeds               ≥ 50.0
photo-like render, 20 seeds                            ≥ 45.5
=====================================================  ===================

``UNIFORM_STD = 4.0`` sits between the groups with a factor of 3 on each side.

Near-duplicates (``phash`` Hamming distance of 64 bits): the same image re-encoded as JPEG
quality 60, halved, or with blended grain: 0–2 bits (60 copies); 30 different photo-like and
product images against each other (435 pairs): minimum 10, 5th percentile 22, median 30.
``DUPLICATE_DISTANCE = 4`` (the "≤ 4 of 64" often used with ``phash``; Krawetz, "Looks Like
It", hackerfactor.com 2011, is the algorithm ``imagehash`` cites) keeps a margin on both sides.
Near-uniform images all hash alike, so they are neither compared nor indexed (they carry their
own flag). Draft images are not compared either: the draft provider lays every image out the
same way (gradient and text; 2–6 bits apart across prompts), by design.

Cost, measured in one process on the shared 2-core machine: 0.11 ms for a flat 64 px PNG (told
by its extrema; its ``std`` is then the upper bound half its range), 0.25 ms for a photo-like
64 px PNG, 1.4 ms for a 1024² JPEG (decoded at a fraction of its scale), 19 ms for a noisy
1024² PNG (Pillow decodes a PNG whole; the saving path decodes it once, for these checks and
the thumbnail), against seconds per request at any paid provider; ``HashIndex.nearest`` over
10,000 hashes: 0.015 ms; the first hashed image of a process imports ``numpy``, ``imagehash``
and ``scipy.fftpack`` (about 0.25 s). ``bench/engine_overhead.py`` before and after, one
interleaved run of 4 rounds × 2,000 images each side (2026-12-07): its own flat images
0.98 best / 0.94 median of the old rate; photo-like images (every image hashed and compared,
a worst case at 64 px and zero latency) 0.85 best / 0.75 median.

Qt-free; blocking (call it in the saving thread). ``numpy`` and ``imagehash`` are imported at
the first check, not with the module: they cost 0.25–1.5 s at start-up, and the window and
``atelier --help`` start without checking anything.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field
from typing import Any, cast

from PIL import Image

from atelier.core.i18n import N_, tr

SAMPLE_SIDE = 32
"""The side (px) of the copy the checks measure: ``imagehash.phash`` works on 32×32 anyway."""
UNIFORM_STD = 4.0
WHITE_MEAN = 240.0
BLACK_MEAN = 16.0
DUPLICATE_DISTANCE = 4
RATIO_SLACK = 0.03
"""Aspect slack (log of the ratio) for providers that take an aspect ratio and pick their own
pixels, rounded to multiples of 64 (Gemini's 1K 16:9 is 1344×768: 1.75 against 1.78, 0.016)."""
SMALL_AREA = 0.5
"""An aspect-ratio provider's image below this share of the requested area is ``wrong_size``:
its size tiers (1K/2K/4K) are 4× apart in area, so below half is a lower tier than asked."""

FLAGS = ("blank", "black", "uniform", "wrong_size", "wrong_aspect", "duplicate")
"""Every QA flag, in the order they are shown."""

_LABELS = {
    "blank": N_("blank"),
    "black": N_("black"),
    "uniform": N_("near-uniform"),
    "wrong_size": N_("wrong size"),
    "wrong_aspect": N_("wrong aspect"),
    "duplicate": N_("near-duplicate"),
}


def flag_label(flag: str) -> str:
    """The flag's name for people, in the current language (an unknown code as it is)."""
    return tr(_LABELS[flag]) if flag in _LABELS else flag


def describe(flags: tuple[str, ...] | list[str], detail: dict[str, Any] | None = None) -> str:
    """One line for a tooltip or a report: ``"Quality check: blank, wrong size (got 512×512,
    asked 1024×1024)"``; empty when ``flags`` is."""
    if not flags:
        return ""
    d = detail or {}
    parts = []
    for f in flags:
        text = flag_label(f)
        if f in ("wrong_size", "wrong_aspect") and d.get("got") and d.get("asked"):
            text += tr(" (got {got}, asked {asked})").format(
                got="×".join(map(str, d["got"])), asked="×".join(map(str, d["asked"]))
            )
        parts.append(text)
    return tr("Quality check: {flags}").format(flags=", ".join(parts))


@dataclass(frozen=True)
class SizeRule:
    """How far a model's pixels may be from the requested size (its documented rounding).

    Attributes:
        multiple: each side is rounded to a multiple of this (1: exact sizes).
        ratios: the aspect ratios it takes instead of pixels (``"16:9"``…); empty: it takes pixels.
    """

    multiple: int = 1
    ratios: tuple[str, ...] = ()


def size_rule(provider: str, model: str, multiple: int | None) -> SizeRule:
    """The rounding of ``provider``'s ``model``: its ``ModelInfo.custom_size_multiple`` (each
    adapter documents it from the provider's API reference), and for the models that take an
    aspect ratio instead of pixels, their list of ratios (the adapters' constants, from the
    same references: Gemini ``imageConfig.aspectRatio``, Stability ``aspect_ratio``, Replicate
    ``aspect_ratio``, FLUX1.1 pro ultra at BFL and fal)."""
    from atelier.providers import bfl, fal, gemini, replicate, stability

    ratios: tuple[str, ...] = ()
    if provider == "gemini":
        ratios = gemini.ASPECT_RATIOS
    elif provider == "stability":
        ratios = stability.ASPECT_RATIOS
    elif provider == "replicate":
        ratios = replicate.ASPECT_RATIOS
    elif provider == "bfl" and "ultra" in model:
        ratios = bfl.RATIOS
    elif provider == "fal" and "ultra" in model:
        ratios = fal.ULTRA_RATIOS
    return SizeRule(multiple or 1, ratios)


def _log_ratio(w: float, h: float) -> float:
    return math.log(w / h)


def size_flags(got: tuple[int, int], asked: tuple[int, int], rule: SizeRule) -> list[str]:
    """``wrong_size`` / ``wrong_aspect`` for an image of ``got`` pixels asked as ``asked``."""
    gw, gh = got
    aw, ah = asked
    flags: list[str] = []
    if rule.ratios:
        best = min(
            (_log_ratio(*(int(v) for v in r.split(":"))) for r in rule.ratios),
            key=lambda lr: abs(lr - _log_ratio(aw, ah)),
        )
        if abs(_log_ratio(gw, gh) - best) > RATIO_SLACK:
            flags.append("wrong_aspect")
        if gw * gh < SMALL_AREA * aw * ah:
            flags.append("wrong_size")
        return flags
    m = rule.multiple
    # Rounding each side to a multiple of m moves it by less than m.
    if abs(gw - aw) >= m or abs(gh - ah) >= m:
        flags.append("wrong_size")
        slack = math.log((aw + m) / max(1, ah - m)) - _log_ratio(aw, ah) if m > 1 else 0.005
        if abs(_log_ratio(gw, gh) - _log_ratio(aw, ah)) > max(slack, 0.005):
            flags.append("wrong_aspect")
    return flags


@dataclass(frozen=True)
class Inspection:
    """What the checks found in one image.

    Attributes:
        flags: the QA flags raised (``FLAGS`` order); empty: it passed.
        phash: its 64-bit perceptual hash, ``None`` when near-uniform (not compared).
        detail: the measured values (``std``, ``mean``, ``got``/``asked`` sizes, ``duplicate_of``).
    """

    flags: tuple[str, ...]
    phash: int | None
    detail: dict[str, Any] = field(default_factory=dict)


def decode(data: bytes, side: int = SAMPLE_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """The image file ``data`` decoded (a JPEG at the smallest scale of at least ``side`` px,
    ``Image.draft``) and its full size. ``atelier.engine.job_saving`` decodes once for the
    thumbnail and these checks.

    Raises:
        OSError, ValueError, Image.DecompressionBombError: not a decodable image.
    """
    img: Image.Image = Image.open(io.BytesIO(data))
    full = img.size
    img.draft("RGB", (side, side))
    img.load()
    return img, full


def _small(img: Image.Image) -> Image.Image:
    """A copy of at most ``SAMPLE_SIDE`` px (box-averaged), in a mode ``reduce`` takes."""
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        transparent = "transparency" in img.info or img.mode in ("PA", "RGBa", "La")
        img = img.convert("RGBA" if transparent else "RGB")
    if max(img.size) > SAMPLE_SIDE:
        factor = max(1, max(img.size) // SAMPLE_SIDE)
        img = img.reduce(factor) if factor > 1 else img
        if max(img.size) > SAMPLE_SIDE:
            img = img.resize(
                (max(1, img.width * SAMPLE_SIDE // max(img.size)),
                 max(1, img.height * SAMPLE_SIDE // max(img.size))),
                Image.Resampling.BILINEAR,
            )  # fmt: skip
    return img


def _spread(rgb: Image.Image) -> tuple[float, float]:
    """``(largest per-channel standard deviation, mean)`` of an RGB image, 0–255. A flat image
    is told by its extrema alone (its deviation is at most half its range: that bound is
    returned), without numpy; any other is measured."""
    ext = cast(tuple[tuple[int, int], ...], rgb.getextrema())
    widest = max(hi - lo for lo, hi in ext)
    if widest < UNIFORM_STD:
        return widest / 2, sum((lo + hi) / 2 for lo, hi in ext) / 3
    import numpy as np

    # Sums in integers: twice as fast as ndarray.std on float32 for a copy this small.
    px = np.asarray(rgb).reshape(-1, 3).astype(np.int64)
    n = px.shape[0]
    sums = px.sum(axis=0)
    var = (px * px).sum(axis=0) / n - (sums / n) ** 2
    return float(np.sqrt(np.maximum(var, 0.0)).max()), float(sums.sum() / (3 * n))


def inspect(data: bytes, asked: tuple[int, int] | None, rule: SizeRule = SizeRule()) -> Inspection:
    """Judge the image file ``data`` (as the provider returned it) asked at ``asked`` pixels
    (``None``: ``auto``, size not checked). Duplicates are judged by ``with_duplicate``.

    Raises:
        OSError, ValueError: the bytes are not a decodable image.
    """
    img, full = decode(data)
    return inspect_image(img, full, asked, rule)


def inspect_image(
    img: Image.Image, full: tuple[int, int], asked: tuple[int, int] | None, rule: SizeRule
) -> Inspection:
    """``inspect`` of an image already decoded (at any scale) whose file is ``full`` px."""
    img = _small(img)
    flags: list[str] = []
    transparent = False
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        alpha = rgba.getchannel("A")
        transparent = alpha.getextrema()[1] == 0
        # Judge what a viewer shows: the image over white.
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = img if img.mode == "RGB" else img.convert("RGB")
    std, mean = _spread(rgb)
    detail: dict[str, Any] = {"std": round(std, 2), "mean": round(mean, 1)}
    uniform = transparent or std < UNIFORM_STD
    if uniform:
        if transparent or mean >= WHITE_MEAN:
            flags.append("blank")
        elif mean <= BLACK_MEAN:
            flags.append("black")
        else:
            flags.append("uniform")
    if asked is not None:
        found = size_flags(full, asked, rule)
        if found:
            detail.update(got=list(full), asked=list(asked))
            flags += found
    phash = None
    if not uniform:
        import imagehash
        import numpy as np

        bits = imagehash.phash(rgb).hash.flatten()  # ImageHash's own bit order (its str())
        phash = int.from_bytes(np.packbits(bits).tobytes(), "big")
    return Inspection(tuple(flags), phash, detail)


class HashIndex:
    """The perceptual hashes of a batch's images, to find near-duplicates as they arrive.

    Keyed by ``(job_id, sample_index)``: a new version or a re-make of a sample replaces its
    earlier hash instead of matching it. Thread-safe (images are saved in worker threads).
    """

    def __init__(self, items: dict[tuple[int, int], tuple[int, int]] | None = None) -> None:
        """``items``: ``{(job_id, sample): (image_id, hash)}`` already in the store."""
        import numpy as np

        self._np = np
        self._lock = threading.Lock()
        self._slot: dict[tuple[int, int], int] = {}
        self._ids = np.zeros(64, dtype=np.int64)
        self._hashes = np.zeros(64, dtype=np.uint64)
        self._live = np.zeros(64, dtype=bool)
        self._n = 0
        for key, (image_id, h) in (items or {}).items():
            self.add(key, image_id, h)

    def __len__(self) -> int:
        return int(self._live[: self._n].sum())

    def add(self, key: tuple[int, int], image_id: int, h: int) -> None:
        """Index (or re-index) sample ``key``'s image."""
        with self._lock:
            self._add(key, image_id, h)

    def _add(self, key: tuple[int, int], image_id: int, h: int) -> None:
        np = self._np
        old = self._slot.get(key)
        if old is not None:
            self._live[old] = False
        if self._n == len(self._ids):
            grow = len(self._ids)
            self._ids = np.concatenate([self._ids, np.zeros(grow, dtype=np.int64)])
            self._hashes = np.concatenate([self._hashes, np.zeros(grow, dtype=np.uint64)])
            self._live = np.concatenate([self._live, np.zeros(grow, dtype=bool)])
        i = self._n
        self._ids[i], self._hashes[i], self._live[i] = image_id, np.uint64(h), True
        self._slot[key] = i
        self._n += 1

    def forget(self, key: tuple[int, int]) -> None:
        """Drop sample ``key``'s hash (its image was not kept)."""
        with self._lock:
            old = self._slot.pop(key, None)
            if old is not None:
                self._live[old] = False

    def nearest(self, key: tuple[int, int], h: int) -> tuple[int, int] | None:
        """``(image_id, distance)`` of the closest other sample's image within
        ``DUPLICATE_DISTANCE`` bits, else ``None``."""
        with self._lock:
            n = self._n
            if not n:
                return None
            np = self._np
            dist = np.bitwise_count(self._hashes[:n] ^ np.uint64(h)).astype(np.int64)
            dist[~self._live[:n]] = 65
            own = self._slot.get(key)
            if own is not None:
                dist[own] = 65
            i = int(np.argmin(dist))
            d = int(dist[i])
            return (int(self._ids[i]), d) if d <= DUPLICATE_DISTANCE else None


def with_duplicate(found: Inspection, index: HashIndex, key: tuple[int, int]) -> Inspection:
    """``found`` with ``duplicate`` added when another sample of the batch is near it."""
    if found.phash is None:
        return found
    near = index.nearest(key, found.phash)
    if near is None:
        return found
    detail = {**found.detail, "duplicate_of": near[0], "distance": near[1]}
    return Inspection((*found.flags, "duplicate"), found.phash, detail)
