"""Sizes as providers take them: a ``WxH`` request mapped to the aspect ratio a provider
names instead of pixels (Stability, fal's ultra, Replicate, BFL's ultra, Gemini, Ideogram)."""

from __future__ import annotations

import math

from atelier.core.models import parse_size


def nearest_aspect_ratio(size: str, ratios: tuple[str, ...]) -> str:
    """The ratio of ``ratios`` (``"16:9"``…) closest to ``size``, compared on a log scale so that
    2:1 and 1:2 are equally far from 1:1."""
    w, h = parse_size(size)

    def distance(ratio: str) -> float:
        x, y = (int(v) for v in ratio.split(":"))
        return abs(math.log(w / h) - math.log(x / y))

    return min(ratios, key=distance)
