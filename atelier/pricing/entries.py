"""The vocabulary of prices: a price entry, a token price, a question (``PriceQuery``: what a
job asks to be priced) and its answer (``Price``). Nothing here looks anything up: the table
(``atelier.pricing.table``) answers, the estimate (``atelier.pricing.estimate``) sums answers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Literal

from pydantic import BaseModel, Field

from atelier.core.i18n import tr
from atelier.core.models import JobSpec, parse_size
from atelier.providers import base
from atelier.providers.catalogue import STALE_DAYS, as_of_date


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


def is_stale(as_of: str, on: dt.date | None = None) -> bool:
    """Whether a price read on ``as_of`` is older than ``STALE_DAYS`` (120) on ``on`` (default:
    today): the estimate and the list then say "check the provider's page"."""
    try:
        read = as_of_date(as_of)
    except ValueError:
        return True  # an undated user figure: check it
    return ((on or base.today()) - read).days > STALE_DAYS


class PriceEntry(BaseModel):
    """A price for one provider/model/quality/size, as the table looks it up (the catalogue's
    prices flattened, and the user's ``prices.json`` entries).

    ``size`` matches ``"*"``, an exact ``WxH``, or a tier ``512``/``1K``/``2K``/``4K`` (see
    ``size_tier``). ``unit`` is ``image`` (USD per image) or ``megapixel`` (USD per megapixel
    of output, as fal bills FLUX schnell/dev). ``usd_per_image`` ``None``: the output price is
    unknown (not confirmed), so every image it prices is unknown, never $0.
    """

    provider: str
    model: str
    quality: str = "*"
    size: str = "*"
    usd_per_image: float | None = Field(ge=0)
    unit: Literal["image", "megapixel"] = "image"
    as_of: str
    source: str
    source_kind: str = "user"
    """``provider page``, ``third party``, ``user`` or ``atelier`` (``atelier.providers.catalogue``)."""
    note: str = ""
    usd_per_reference: float = Field(default=0.0, ge=0)
    """USD charged per input reference image of each image made (Seedream 5.5's charge)."""
    usd_per_input_megapixel: float | None = Field(default=None, ge=0)
    """USD per megapixel (1024² pixels) of the reference images (BFL's FLUX.2 edits)."""
    usd_per_extra_megapixel: float | None = Field(default=None, ge=0)
    """``usd_per_image`` covers the first megapixel, each further one costs this (FLUX.2)."""
    batch_usd: float | None = Field(default=None, ge=0)
    """The provider's published batch (economy) price per image, where there is one."""

    def matches_size(self, size: str) -> bool:
        """Whether this entry prices an image of ``size`` (``WxH`` or ``auto``)."""
        if self.size in ("*", size):
            return True
        if self.size == "512":
            return size_tier(size) == "1K" and max(parse_size(size)) <= 512
        return self.size in ("1K", "2K", "4K") and size_tier(size) == self.size

    def for_size(self, size: str) -> float | None:
        """USD for one image of ``size`` (``None``: unknown)."""
        usd = self.usd_per_image
        if usd is None:
            return None
        if self.unit == "megapixel":
            return usd * megapixels(size)
        if self.usd_per_extra_megapixel:
            # A megapixel here is 1024² (a 1024x1024 image is "1 MP" at BFL's "from" price).
            w, h = parse_size(size)
            usd += max(0.0, w * h / 1024**2 - 1.0) * self.usd_per_extra_megapixel
        return usd

    def citation(self) -> str:
        """Where the figure comes from, as the estimate shows it: the source (a URL reads the
        same in every language; Atelier's own notes are translated), and for a third party's
        copy, that it is one."""
        text = tr(self.source)
        if self.source_kind == "third party":
            text = tr("{source}, as copied by a third party").format(source=text)
        return text

    def batch_for_size(self, size: str) -> float | None:
        """The published batch price of one image of ``size`` (``None``: none published)."""
        if self.batch_usd is None:
            return None
        return self.batch_usd * (megapixels(size) if self.unit == "megapixel" else 1.0)


class TokenPrice(BaseModel):
    """USD per 1M tokens, used to bill from a response's ``usage`` (``None`` = unknown)."""

    provider: str
    model: str
    text_in: float | None
    image_in: float | None
    image_out: float | None
    as_of: str
    source: str
    source_kind: str = "user"


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
    reference_megapixels: float | None = None
    """The references' megapixels (1024² pixels each) where measured; ``None``: each counts as
    a typical 1024x1024 image (``TYPICAL_REFERENCE_MP``), as an estimate prices them."""

    @property
    def input_megapixels(self) -> float:
        """The references' megapixels: measured, or ``TYPICAL_REFERENCE_MP`` each."""
        if self.reference_megapixels is not None:
            return self.reference_megapixels
        return self.references * TYPICAL_REFERENCE_MP

    @classmethod
    def of(
        cls,
        provider: str,
        model: str,
        spec: JobSpec,
        images: int | None = None,
        measure: bool = False,
    ) -> PriceQuery:
        """The query for ``spec`` on ``provider``/``model`` (its ``sample_count`` images unless
        ``images`` says how many; a mask is not a reference). ``measure``: read the
        references' sizes from their files (what a run is billed for; an estimate of many rows
        counts them as typical instead)."""
        refs = spec.reference_images
        return cls(
            provider,
            model,
            spec.quality,
            spec.size,
            spec.sample_count if images is None else images,
            len(refs),
            reference_megapixels(refs) if measure and refs else None,
        )


TYPICAL_REFERENCE_MP = 1.0
"""A reference image whose size is not read (an estimate, a missing file) counts as 1024x1024."""


def reference_megapixels(paths: list[str]) -> float | None:
    """The megapixels (1024² pixels) of the images at ``paths``, read from their headers;
    ``None`` when one cannot be read (its charge then counts it as typical)."""
    return _megapixels(paths)


def bytes_megapixels(images: tuple[bytes, ...]) -> float | None:
    """The megapixels (1024² pixels) of encoded ``images`` (the references a job sends, read
    from paths or addresses), from their headers; ``None`` when one cannot be read."""
    return _megapixels(io.BytesIO(data) for data in images)


def _megapixels(sources: Iterable[str | BinaryIO]) -> float | None:
    total = 0.0
    for source in sources:
        size = _image_size(source)
        if size is None:
            return None
        total += size[0] * size[1] / 1024**2
    return total


def _image_size(source: str | BinaryIO) -> tuple[int, int] | None:
    # Pillow reads the header only (about 0.1 ms); here, not at the top: planning imports this.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


@dataclass(frozen=True)
class Price:
    """The table's answer to a ``PriceQuery``: the entry that prices it, or ``None`` (unknown,
    never $0)."""

    query: PriceQuery
    entry: PriceEntry | None

    @property
    def known(self) -> bool:
        """Whether the table has a price for the query."""
        return self.per_image is not None

    @property
    def batch_usd(self) -> float | None:
        """USD for the query's images at the provider's published batch price (the reference
        images' charge added in full); ``None``: no batch price is published for it."""
        e = self.entry
        each = None if e is None else e.batch_for_size(self.query.size)
        if e is None or each is None:
            return None
        each += self._references_usd(e)
        return each * self.query.images

    def _references_usd(self, e: PriceEntry) -> float:
        """The references' charge for one image: per reference and per input megapixel."""
        usd = e.usd_per_reference * self.query.references
        if e.usd_per_input_megapixel and self.query.references:
            usd += e.usd_per_input_megapixel * self.query.input_megapixels
        return usd

    @property
    def per_image(self) -> float | None:
        """USD for one image (per-megapixel entries scaled by the size, the reference images'
        charge added); ``None`` when unknown."""
        e = self.entry
        usd = None if e is None else e.for_size(self.query.size)
        if e is None or usd is None:
            return None
        return usd + self._references_usd(e)

    @property
    def usd(self) -> float | None:
        """USD for the query's ``images`` images; ``None`` when unknown."""
        each = self.per_image
        return None if each is None else each * self.query.images
