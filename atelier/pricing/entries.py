"""The vocabulary of prices: a price entry, a token price, a question (``PriceQuery``: what a
job asks to be priced) and its answer (``Price``). Nothing here looks anything up: the table
(``atelier.pricing.table``) answers, the estimate (``atelier.pricing.estimate``) sums answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from atelier.core.models import JobSpec, parse_size


def size_tier(size: str) -> str:
    """``"1K"``, ``"2K"`` or ``"4K"`` by the longer side (≤1024, ≤2048, larger), as Gemini's
    ``imageSize`` tiers bill."""
    w, h = parse_size(size)
    side = max(w, h)
    return "1K" if side <= 1024 else "2K" if side <= 2048 else "4K"


def megapixels(size: str) -> float:
    """Width × height / 10⁶ (``auto`` counts as 1024²)."""
    w, h = parse_size(size)
    return w * h / 1_000_000


class PriceEntry(BaseModel):
    """A price for one provider/model/quality/size.

    ``size`` matches ``"*"``, an exact ``WxH``, or a tier ``1K``/``2K``/``4K`` (see
    ``size_tier``). ``unit`` is ``image`` (USD per image) or ``megapixel`` (USD per megapixel
    of output, as fal bills FLUX schnell/dev).
    """

    provider: str
    model: str
    quality: str = "*"
    size: str = "*"
    usd_per_image: float = Field(ge=0)
    unit: Literal["image", "megapixel"] = "image"
    as_of: str
    source: str
    usd_per_reference: float = Field(default=0.0, ge=0)
    """USD charged per input reference image of each image made (Seedream 5.5's charge)."""

    def matches_size(self, size: str) -> bool:
        if self.size in ("*", size):
            return True
        return self.size in ("1K", "2K", "4K") and size_tier(size) == self.size

    def for_size(self, size: str) -> float:
        """USD for one image of ``size``."""
        return self.usd_per_image * (megapixels(size) if self.unit == "megapixel" else 1.0)


class TokenPrice(BaseModel):
    """USD per 1M tokens, used to bill from a response's ``usage`` (``None`` = unknown)."""

    provider: str
    model: str
    text_in: float | None
    image_in: float | None
    image_out: float | None
    as_of: str
    source: str


@dataclass(frozen=True)
class PriceQuery:
    """What is asked to be priced: ``images`` images of one job on ``provider``/``model`` at
    ``quality`` and ``size`` (``WxH`` or ``auto``), with ``references`` input images each.
    The typed record every pricing call takes (no anonymous tuples)."""

    provider: str
    model: str
    quality: str
    size: str
    images: int = 1
    references: int = 0

    @classmethod
    def of(cls, provider: str, model: str, spec: JobSpec, images: int | None = None) -> PriceQuery:
        """The query for ``spec`` on ``provider``/``model`` (its ``sample_count`` images unless
        ``images`` says how many; a mask is not a reference)."""
        return cls(
            provider,
            model,
            spec.quality,
            spec.size,
            spec.sample_count if images is None else images,
            len(spec.reference_images),
        )


@dataclass(frozen=True)
class Price:
    """The table's answer to a ``PriceQuery``: the entry that prices it, or ``None`` (unknown,
    never $0)."""

    query: PriceQuery
    entry: PriceEntry | None

    @property
    def known(self) -> bool:
        """Whether the table has a price for the query."""
        return self.entry is not None

    @property
    def per_image(self) -> float | None:
        """USD for one image (per-megapixel entries scaled by the size, the reference images'
        charge added); ``None`` when unknown."""
        e = self.entry
        if e is None:
            return None
        usd = e.for_size(self.query.size)
        if e.usd_per_reference and self.query.references:
            usd += e.usd_per_reference * self.query.references
        return usd

    @property
    def usd(self) -> float | None:
        """USD for the query's ``images`` images; ``None`` when unknown."""
        each = self.per_image
        return None if each is None else each * self.query.images
