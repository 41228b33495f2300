"""The catalogue: every hosted model Atelier knows, with what it accepts, when it was released,
deprecated and shut down, and what it costs, as dated data (``catalogue.toml`` beside this
module, read with ``tomllib`` and validated here).

Facts that change monthly (models, prices, retirement dates) live in the data file, never in
code: each price carries ``as_of`` (when it was read), ``source`` (the page's URL) and
``source_kind`` (read on the provider's own page, or only in a third party's copy). A figure
not confirmed anywhere is left out, so its price shows as unknown, never $0.

The providers build their ``ModelInfo`` records from it (``model_infos``); the price table
(``atelier.pricing.table``) reads its prices. It sits with the providers because a model's
capabilities are the providers' facts, and pricing is above them.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from atelier.core.errors import InputError
from atelier.core.i18n import N_, tr
from atelier.core.models import problems_error, validation_problems
from atelier.providers.base import ModelInfo

SourceKind = Literal["provider page", "third party", "user", "atelier"]
"""Where a figure was read: the provider's own page (or a verbatim transcription of it), only a
third party's copy, the user's own record (an invoice, an imported file), or Atelier's own
fact (a local server costs nothing per image)."""

STALE_DAYS = 120
"""A price read longer ago than this is shown with "check the provider's page"."""

#: Atelier's own notes the data file may use as a ``source`` (kind ``atelier``): translated when
#: shown, so they are marked for extraction here.
OWN_NOTES = (
    N_("offline placeholder rendered locally"),
    N_("self-hosted: no per-image charge (your own GPU)"),
    N_("self-hosted: no per-image charge"),
    N_("deprecated by OpenAI"),
    N_("transparent background in preview"),
)

_DATE = r"^\d{4}-\d{2}(-\d{2})?$"


def as_of_date(as_of: str) -> dt.date:
    """``2026-08`` or ``2026-08-15`` as a date (a month counts from its first day)."""
    return dt.date.fromisoformat(as_of if len(as_of) > 7 else f"{as_of}-01")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(_Strict):
    """A dated figure with its source."""

    as_of: str = Field(pattern=_DATE)
    """When the figure was read: ``YYYY-MM`` or ``YYYY-MM-DD``."""
    source: str = Field(min_length=1)
    """The page's URL (or, for kind ``atelier``/``user``, a short note)."""
    source_kind: SourceKind
    note: str = ""
    """What else the reader of the source should know (``approximate``, the token count)."""


class ImagePrice(Cited):
    """USD per image (``unit = "image"``) or per megapixel of output (``"megapixel"``) at one
    quality and size (``*``: any; ``512``/``1K``/``2K``/``4K``: a tier by the longer side).
    ``usd`` absent: the output price is not confirmed (unknown), while the other charges of
    the entry are."""

    quality: str = "*"
    size: str = "*"
    usd: float | None = Field(default=None, ge=0)
    unit: Literal["image", "megapixel"] = "image"
    usd_per_extra_megapixel: float | None = Field(default=None, ge=0)
    """With ``unit = "image"``: ``usd`` covers the first megapixel, each further one costs
    this (BFL's FLUX.2)."""
    batch_usd: float | None = Field(default=None, ge=0)
    """The provider's batch (economy) price, where it publishes one."""
    usd_per_reference: float = Field(default=0.0, ge=0)
    """Charged per input reference image, on top of ``usd`` (BytePlus Seedream 5.5)."""


class ProviderPrice(ImagePrice):
    """A price for a whole provider (``model = "*"``: a local server, the offline draft)."""

    provider: str
    model: str = "*"


class TokenRates(Cited):
    """USD per 1M tokens, for billing from a response's ``usage`` (``None``: unknown)."""

    text_in: float | None = Field(default=None, ge=0)
    image_in: float | None = Field(default=None, ge=0)
    image_out: float | None = Field(default=None, ge=0)


class ModelCaps(_Strict):
    """What a model accepts (the fields of ``atelier.providers.base.ModelInfo``)."""

    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    formats: tuple[str, ...] = ("png", "jpeg", "webp")
    transparent_background: bool = True
    max_samples_per_request: int = Field(default=10, ge=1)
    custom_size_multiple: int | None = Field(default=None, ge=1)
    max_width: int = 4096
    max_height: int = 4096
    min_side: int = 64
    edits: bool = False
    masks: bool = False
    generates: bool = True
    max_references: int | None = Field(default=None, ge=0)
    max_pixels: int | None = Field(default=None, ge=1)
    """Width × height at most (gpt-image-2 and 2.5: 3840x2160, openai-python 3.63.0's ``size``
    docs); ``None``: only ``max_width``/``max_height`` bound a custom size."""
    max_aspect: float | None = Field(default=None, ge=1)
    """The longer side at most this many times the shorter (gpt-image-2 and 2.5: 3)."""
    """The most input reference images one request takes, where the provider says."""


class CatalogueModel(_Strict):
    """One model: its provider and id, what it accepts, its dates and its prices."""

    provider: str
    id: str
    label: str
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    successor: str | None = None
    """The model to use instead once this one is deprecated or shut down."""
    lifecycle_source: str = ""
    """Where the dates were read (URL), with its kind in brackets when a third party's."""
    note: str = ""
    capabilities: ModelCaps
    price: tuple[ImagePrice, ...] = ()
    tokens: TokenRates | None = None

    @model_validator(mode="after")
    def _dates(self) -> CatalogueModel:
        if self.shutdown and not self.successor:
            raise ValueError("a model with a shutdown date needs a successor")
        if self.deprecated and self.shutdown and self.shutdown < self.deprecated:
            raise ValueError("shutdown is before deprecated")
        return self


class Catalogue(_Strict):
    """The whole file: its date, the models (each provider's default first) and the
    provider-wide prices."""

    as_of: dt.date
    model: tuple[CatalogueModel, ...]
    provider_price: tuple[ProviderPrice, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        seen: set[tuple[str, str]] = set()
        ids = {m.id for m in self.model}
        for m in self.model:
            if (m.provider, m.id) in seen:
                raise ValueError(f"{m.provider}/{m.id} is listed twice")
            seen.add((m.provider, m.id))
            if m.successor and m.successor not in ids:
                raise ValueError(f"{m.provider}/{m.id}: successor {m.successor!r} is not listed")
        return self

    def find(self, provider: str, model_id: str) -> CatalogueModel | None:
        """The entry of ``provider``/``model_id``, or ``None``."""
        return next((m for m in self.model if m.provider == provider and m.id == model_id), None)


def parse(raw: dict[str, Any], name: str) -> Catalogue:
    """Validate a decoded catalogue.

    Raises:
        InputError: naming ``name`` and the field (``model[3].price[0].usd``).
    """
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as e:
        raise problems_error(f"{name}: ", validation_problems(e)) from e


def read_toml(text: str, name: str) -> dict[str, Any]:
    """``text`` decoded as TOML.

    Raises:
        InputError: naming ``name`` and the line of the syntax error.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(name, tr("not valid TOML: {error}").format(error=e)) from e


@cache
def builtin() -> Catalogue:
    """The catalogue shipped in the package (read once)."""
    text = resources.files("atelier.providers").joinpath("catalogue.toml").read_text("utf-8")
    return parse(read_toml(text, "catalogue.toml"), "catalogue.toml")


def model_infos(provider: str) -> tuple[ModelInfo, ...]:
    """The ``ModelInfo`` records of ``provider``'s models in the catalogue, in its order (the
    default first), shut-down ones included (``Capabilities.offered`` leaves them out)."""
    out = []
    for m in builtin().model:
        if m.provider != provider:
            continue
        c = m.capabilities
        out.append(
            ModelInfo(
                m.id,
                m.label,
                c.sizes,
                c.qualities,
                formats=c.formats,
                transparent_background=c.transparent_background,
                max_samples_per_request=c.max_samples_per_request,
                custom_size_multiple=c.custom_size_multiple,
                max_width=c.max_width,
                max_height=c.max_height,
                note=m.note,
                edits=c.edits,
                masks=c.masks,
                generates=c.generates,
                min_side=c.min_side,
                released=m.released,
                deprecated=m.deprecated,
                shutdown=m.shutdown,
                successor=m.successor,
                max_references=c.max_references,
                max_pixels=c.max_pixels,
                max_aspect=c.max_aspect,
            )
        )
    return tuple(out)
