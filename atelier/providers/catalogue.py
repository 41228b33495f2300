"""The catalogue: every hosted model Atelier knows, with what it accepts, when it was released,
deprecated and shut down, and what it costs, as dated data (``catalogue.toml`` beside this
module, read with ``tomllib`` and validated here).

Facts that change monthly (models, prices, retirement dates) live in the data file, never in
code: each price carries ``as_of`` (when it was read), ``source`` (the page's URL) and
``source_kind`` (read on the provider's own page, or only in a third party's copy). A figure
not confirmed anywhere is left out, so its price shows as unknown, never $0.

A user adds next month's model, or corrects a shipped one, without a new release:
``atelier prices import FILE`` validates ``[[model]]`` tables of this same shape and keeps them
in ``ATELIER_HOME/catalogue.json``; ``current()`` is the shipped catalogue with those entries
laid over it (a user's model replaces the shipped one of the same provider and id whole, a new
one follows its provider's shipped models, so each provider's default stays first).

The providers build their ``ModelInfo`` records from it (``model_infos``, through
``CatalogueModels``, so a model imported while the window is open is offered once
``forget_user()`` is called); the price table (``atelier.pricing.table``) reads its prices. It
sits with the providers because a model's capabilities are the providers' facts, and pricing is
above them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from atelier.core import paths
from atelier.core.errors import InputError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import problems_error, validation_problems
from atelier.core.paths import HomeError
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
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
"""A provider's or a model's name: no ``*`` (a wildcard), no blank, no spaces."""


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
    usd: float | None = Field(default=None, ge=0, strict=True)
    unit: Literal["image", "megapixel"] = "image"
    usd_per_extra_megapixel: float | None = Field(default=None, ge=0, strict=True)
    """With ``unit = "image"``: ``usd`` covers the first megapixel, each further one costs
    this (BFL's FLUX.2)."""
    batch_usd: float | None = Field(default=None, ge=0, strict=True)
    """The provider's batch (economy) price, where it publishes one."""
    usd_per_reference: float = Field(default=0.0, ge=0, strict=True)
    """Charged per input reference image, on top of ``usd`` (BytePlus Seedream 5.5)."""
    usd_per_input_megapixel: float | None = Field(default=None, ge=0, strict=True)
    """Charged per megapixel (1024² pixels) of the input reference images, on top of ``usd``
    (BFL's FLUX.2: ``(firstMP + (outputMP-1) * mpPrice) + (inputMP * mpPrice)``)."""


class ProviderPrice(ImagePrice):
    """A price for a whole provider (``model = "*"``: a local server, the offline draft)."""

    provider: str = Field(pattern=_NAME)
    model: str = Field(default="*", pattern=rf"{_NAME}|^\*$")


class BatchDiscount(Cited):
    """What a provider's batch API charges against the list price (``factor`` 0.5: half), for
    the images whose price has no published ``batch_usd``."""

    provider: str = Field(pattern=_NAME)
    factor: float = Field(gt=0, le=1, strict=True)


class TokenRates(Cited):
    """USD per 1M tokens, for billing from a response's ``usage`` (``None``: unknown)."""

    text_in: float | None = Field(default=None, ge=0, strict=True)
    image_in: float | None = Field(default=None, ge=0, strict=True)
    image_out: float | None = Field(default=None, ge=0, strict=True)


class ModelCaps(_Strict):
    """What a model accepts (the fields of ``atelier.providers.base.ModelInfo``)."""

    sizes: tuple[str, ...] = Field(min_length=1)
    qualities: tuple[str, ...] = Field(min_length=1)
    formats: tuple[Literal["png", "jpeg", "webp"], ...] = Field(
        default=("png", "jpeg", "webp"), min_length=1
    )
    transparent_background: bool = Field(default=True, strict=True)
    max_samples_per_request: int = Field(default=10, ge=1, strict=True)
    custom_size_multiple: int | None = Field(default=None, ge=1, strict=True)
    max_width: int = Field(default=4096, ge=1, strict=True)
    max_height: int = Field(default=4096, ge=1, strict=True)
    min_side: int = Field(default=64, ge=1, strict=True)
    edits: bool = Field(default=False, strict=True)
    masks: bool = Field(default=False, strict=True)
    generates: bool = Field(default=True, strict=True)
    max_references: int | None = Field(default=None, ge=0, strict=True)
    """The most input reference images one request takes, where the provider says."""
    max_pixels: int | None = Field(default=None, ge=1, strict=True)
    """Width × height at most (gpt-image-2 and 2.5: 3840x2160, openai-python 3.63.0's ``size``
    docs); ``None``: only ``max_width``/``max_height`` bound a custom size."""
    max_aspect: float | None = Field(default=None, ge=1, strict=True)
    """The longer side at most this many times the shorter (gpt-image-2 and 2.5: 3)."""
    complexities: tuple[Literal["low", "medium", "high"], ...] = ()
    """The ``complexity`` values the model takes (OpenAI gpt-image-2.6)."""


class CatalogueModel(_Strict):
    """One model: its provider and id, what it accepts, its dates and its prices."""

    provider: str = Field(pattern=_NAME)
    id: str = Field(pattern=_NAME)
    """The wire name; never ``*`` (a price of model ``*`` would price every model)."""
    label: str = Field(min_length=1)
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
    """The whole file: its date, the models (each provider's default first), the
    provider-wide prices and the batch APIs' discounts."""

    as_of: dt.date
    model: tuple[CatalogueModel, ...]
    provider_price: tuple[ProviderPrice, ...] = ()
    batch_discount: tuple[BatchDiscount, ...] = ()

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

    def discount(self, provider: str) -> BatchDiscount | None:
        """``provider``'s batch API discount (the first listed wins), or ``None``: unknown."""
        return next((d for d in self.batch_discount if d.provider == provider), None)


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


USER_FILE = "catalogue.json"
"""The user's catalogue entries in ``ATELIER_HOME`` (written by ``atelier prices import``)."""

_log = logging.getLogger(__name__)


class UserCatalogue(_Strict):
    """The user's own entries: models (new, or replacing a shipped one whole), provider-wide
    prices and batch discounts. Same fields as the shipped file; ``as_of`` is optional (each
    price has its own)."""

    as_of: dt.date | None = None
    model: tuple[CatalogueModel, ...] = ()
    provider_price: tuple[ProviderPrice, ...] = ()
    batch_discount: tuple[BatchDiscount, ...] = ()


def merged(shipped: Catalogue, user: UserCatalogue, where: str) -> Catalogue:
    """``shipped`` with ``user``'s entries laid over it: a user model replaces the shipped one
    of the same provider and id in place; a new one comes after its provider's last model (the
    shipped default stays first); user provider prices and discounts come first (the first
    match wins).

    Raises:
        InputError: naming ``where`` (the user's file) and the field when the result is not a
            valid catalogue (a model listed twice in ``user``, a successor named nowhere).
    """
    mine = {(m.provider, m.id): m for m in user.model}
    if len(mine) < len(user.model):
        raise InputError(where, tr("a model is listed twice"))
    models = [mine.pop((m.provider, m.id), m) for m in shipped.model]
    for m in mine.values():
        last = max((i for i, x in enumerate(models) if x.provider == m.provider), default=None)
        models.insert(len(models) if last is None else last + 1, m)
    try:
        return Catalogue.model_validate(
            {
                "as_of": shipped.as_of,
                "model": models,
                "provider_price": user.provider_price + shipped.provider_price,
                "batch_discount": user.batch_discount + shipped.batch_discount,
            }
        )
    except ValidationError as e:
        raise problems_error(f"{where}: ", validation_problems(e)) from e


def user_path() -> Path:
    """``ATELIER_HOME/catalogue.json``.

    Raises:
        HomeError: the Atelier folder cannot be created.
    """
    return paths.home() / USER_FILE


def read_user(path: Path) -> UserCatalogue:
    """The validated user catalogue at ``path`` (empty when there is no file).

    Raises:
        InputError: naming the file and the field when it is unreadable or invalid.
    """
    if not path.exists():
        return UserCatalogue()
    raw = read_json(path, N_("catalogue file"))
    try:
        return UserCatalogue.model_validate(raw)
    except ValidationError as e:
        raise problems_error(f"{path}: ", validation_problems(e)) from e


_current: dict[str, tuple[Catalogue, str | None]] = {}
"""``current()``'s answer per ``ATELIER_HOME`` value: the catalogue and the user file's
problem. Keyed by the variable (a dictionary lookup) because a price or a model is asked for
per job: stating the file on each ask would add 0.2 s to planning 100,000 rows."""


def _load_current() -> tuple[Catalogue, str | None]:
    shipped = builtin()
    try:
        path = user_path()
    except HomeError as e:
        return shipped, str(e)
    try:
        return merged(shipped, read_user(path), str(path)), None
    except InputError as e:  # unreadable, or contradicting the shipped entries
        problem = str(e)
    _log.warning("the user's catalogue is not used: %s", problem)
    return shipped, problem


def _in_force() -> tuple[Catalogue, str | None]:
    key = os.environ.get("ATELIER_HOME", "")
    found = _current.get(key)
    if found is None:  # two threads may both read the file: the same answer, kept once
        found = _current.setdefault(key, _load_current())
    return found


def current() -> Catalogue:
    """The catalogue in force: the shipped one with the user's entries
    (``ATELIER_HOME/catalogue.json``) laid over it. A user file that cannot be read or
    validated (edited by hand since the import checked it) is left untouched and unused; its
    problem is ``user_problem()``. Never raises."""
    return _in_force()[0]


def user_problem() -> str | None:
    """Why the user's catalogue file is not used (file and field), or ``None``."""
    return _in_force()[1]


def batch_factor(provider: str) -> float:
    """What ``provider``'s batch API charges against the list price, from the catalogue in
    force (``[[batch_discount]]``); 1.0 (the list price) when none is recorded, so an economy
    figure is never lower than a source says."""
    found = current().discount(provider)
    return 1.0 if found is None else found.factor


def forget_user() -> None:
    """Read the user's catalogue again at the next ask (after an import wrote it)."""
    _current.clear()
    _infos.clear()


_infos: dict[tuple[str, str], tuple[ModelInfo, ...]] = {}


def model_infos(provider: str, cat: Catalogue | None = None) -> tuple[ModelInfo, ...]:
    """The ``ModelInfo`` records of ``provider``'s models in ``cat`` (default: ``current()``),
    in its order (the default first), shut-down ones included (``Capabilities.offered`` leaves
    them out)."""
    if cat is not None:
        return tuple(_info(m) for m in cat.model if m.provider == provider)
    key = (os.environ.get("ATELIER_HOME", ""), provider)
    found = _infos.get(key)
    if found is None:
        found = _infos[key] = model_infos(provider, current())
    return found


def _info(m: CatalogueModel) -> ModelInfo:
    c = m.capabilities
    return ModelInfo(
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
        complexities=c.complexities,
    )


class CatalogueModels(Sequence[ModelInfo]):
    """A provider's models as ``Capabilities.models``: read from ``current()`` at each use, so
    a user's imported model is offered, priced and accepted like a shipped one."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def _all(self) -> tuple[ModelInfo, ...]:
        return model_infos(self.provider)

    @overload
    def __getitem__(self, i: int) -> ModelInfo: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[ModelInfo, ...]: ...
    def __getitem__(self, i: int | slice) -> ModelInfo | tuple[ModelInfo, ...]:
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self._all())

    def __repr__(self) -> str:
        return f"CatalogueModels({self.provider!r})"
