"""``atelier prices import FILE``: a user's prices and models, validated, kept in ``ATELIER_HOME``.

A file holds prices, models, or both:

- today's ``prices.json`` format, a JSON list of ``PriceEntry`` objects, or a TOML file of
  ``[[price]]`` tables with the same fields: kept in ``ATELIER_HOME/prices.json``; an imported
  price replaces the user's earlier one for the same provider, model, quality and size, and wins
  over the catalogue's;
- ``[[model]]`` tables in the shipped catalogue's own shape (``atelier/providers/catalogue.toml``:
  provider, id, label, ``released``/``deprecated``/``shutdown``/``successor``, capabilities,
  ``[[model.price]]`` and ``[model.tokens]``), and ``[[provider_price]]`` tables, in TOML or as a
  JSON object with those keys, and ``[[batch_discount]]`` tables (a batch API's ``factor`` on
  the list price): kept in ``ATELIER_HOME/catalogue.json``. A model the catalogue
  does not list is added (offered, priced and accepted like a shipped one: next month's model
  needs no new release); one it lists is replaced whole (to correct a date or add a quality).

Everything is validated before anything is written (each field, a known provider, a price for a
known or imported model, a successor that exists, the user's earlier files still valid): a bad
file changes nothing and its error names the file and the field (``model[0].price[1].as_of``).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from atelier.core.errors import InputError
from atelier.core.files import read_bytes, read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import problems_error, validation_problems
from atelier.pricing.entries import PriceEntry
from atelier.pricing.table import PRICES_FILE, read_overrides
from atelier.providers import catalogue
from atelier.providers.catalogue import (
    Catalogue,
    CatalogueModels,
    ProviderPrice,
    SourceKind,
    UserCatalogue,
    read_toml,
)
from atelier.providers.registry import PROVIDERS

_KEYS = {"as_of", "price", "model", "provider_price", "batch_discount"}


class ImportedPrice(PriceEntry):
    """A price a user imports: a ``PriceEntry`` with a dated ``as_of`` and a source kind (its
    provider and model are checked against the registry and the catalogue after)."""

    as_of: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    source: str = Field(min_length=1)
    source_kind: SourceKind = "user"


@dataclass(frozen=True)
class Imported:
    """What an import changed: counts of prices and models added and replaced."""

    prices_added: int = 0
    prices_replaced: int = 0
    models_added: int = 0
    models_replaced: int = 0


def _parts(path: Path) -> tuple[list[Any], dict[str, Any]]:
    """``(price entries, catalogue part)`` of ``path``: a JSON list is prices only; a TOML file
    or a JSON object holds ``price``, ``model`` and ``provider_price`` tables.

    Raises:
        InputError: naming ``path`` when it is unreadable or holds anything else.
    """
    if path.suffix.lower() == ".toml":
        text = read_bytes(path, N_("price file")).decode("utf-8-sig", errors="replace")
        raw: Any = read_toml(text, str(path))
    else:
        raw = read_json(path, N_("price file"))
        if isinstance(raw, list):
            return raw, {}
    if not isinstance(raw, dict) or not raw or set(raw) - _KEYS:
        raise InputError(
            str(path),
            tr(
                "a price file is a JSON list of prices, or holds [[price]], [[model]], [[provider_price]] and [[batch_discount]] tables and nothing else"
            ),
        )
    prices = raw.get("price", [])
    if not isinstance(prices, list):
        raise InputError(f"{path}: price", tr("give a list of [[price]] tables"))
    return prices, {k: v for k, v in raw.items() if k in _KEYS - {"as_of", "price"}}


def _takes_catalogue(provider: str) -> bool:
    """Whether ``provider``'s models come from the catalogue (a hosted API), not its own list
    (a local server, the offline draft)."""
    return isinstance(PROVIDERS[provider].capabilities.models, CatalogueModels)


def _provider_problems(user: UserCatalogue) -> list[tuple[str, str]]:
    """``(field, why)`` for each model naming a provider that takes no catalogue models, and
    each batch discount of a provider without a batch API."""
    bad = []
    hosted = [n for n in PROVIDERS if _takes_catalogue(n)]
    for i, m in enumerate(user.model):
        if m.provider not in hosted:
            why = tr("{provider!r} takes no catalogue models (these do: {known})")
            bad.append(
                (f"model[{i}].provider", why.format(provider=m.provider, known=", ".join(hosted)))
            )
    batching = [n for n, c in PROVIDERS.items() if c.capabilities.batch_api]
    for i, d in enumerate(user.batch_discount):
        if d.provider not in batching:
            why = tr("{provider!r} has no batch API (these do: {known})")
            bad.append(
                (
                    f"batch_discount[{i}].provider",
                    why.format(provider=d.provider, known=", ".join(batching)),
                )
            )
    return bad


def _unknown(provider: str, model: str, cat: Catalogue) -> tuple[str, str] | None:
    """``(field, why)`` when a price names a provider Atelier does not know, or a model
    (``*``: all of them) neither the catalogue ``cat`` nor the provider lists."""
    cls = PROVIDERS.get(provider)
    if cls is None:
        known = ", ".join(PROVIDERS)
        why = tr("unknown provider {provider!r} (known: {known})")
        return "provider", why.format(provider=provider, known=known)
    listed = cat.find(provider, model) is not None or (
        not _takes_catalogue(provider) and cls.capabilities.model(model) is not None
    )
    if model != "*" and not listed:
        why = tr("{provider} has no model {model!r}")
        return "model", why.format(provider=provider, model=model)
    return None


def _prices(raw: list[Any], cat: Catalogue, where: str) -> list[PriceEntry]:
    """The validated price entries of ``raw``.

    Raises:
        InputError: naming ``where`` and each bad field (``[2].as_of``).
    """
    entries: list[PriceEntry] = []
    bad: list[tuple[str, str]] = []
    for i, item in enumerate(raw):
        try:
            entry = PriceEntry(**ImportedPrice.model_validate(item).model_dump())
        except ValidationError as e:
            bad += [(f"[{i}].{field}", msg) for field, msg in validation_problems(e)]
            continue
        unknown = _unknown(entry.provider, entry.model, cat)
        if unknown:
            bad.append((f"[{i}].{unknown[0]}", unknown[1]))
        entries.append(entry)
    if bad:
        raise problems_error(where, bad)
    return entries


def _models(
    raw: dict[str, Any], path: Path, target: Path
) -> tuple[UserCatalogue, Catalogue, int, int]:
    """The user's catalogue once ``raw``'s models are laid over the earlier ones in ``target``,
    the catalogue that makes, and how many of ``raw``'s models it adds and replaces (a shipped
    model or the user's earlier one).

    Raises:
        InputError: naming ``path`` (or ``target``) and the field.
    """
    try:
        new = UserCatalogue.model_validate(raw)
    except ValidationError as e:
        raise problems_error(f"{path}: ", validation_problems(e)) from e
    bad = _provider_problems(new)
    if bad:
        raise problems_error(f"{path}: ", bad)
    old = catalogue.read_user(target)
    fresh = {(m.provider, m.id) for m in new.model}
    kept = tuple(m for m in old.model if (m.provider, m.id) not in fresh)
    newer = {_key(p) for p in new.provider_price}
    discounted = {d.provider for d in new.batch_discount}
    user = UserCatalogue(
        model=kept + new.model,
        provider_price=new.provider_price
        + tuple(p for p in old.provider_price if _key(p) not in newer),
        batch_discount=new.batch_discount
        + tuple(d for d in old.batch_discount if d.provider not in discounted),
    )
    cat = catalogue.merged(catalogue.builtin(), user, str(path))
    bad = [
        (f"provider_price[{i}].{found[0]}", found[1])
        for i, p in enumerate(new.provider_price)
        if (found := _unknown(p.provider, p.model, cat)) is not None
    ]
    if bad:
        raise problems_error(f"{path}: ", bad)
    known = {(m.provider, m.id) for m in (*catalogue.builtin().model, *old.model)}
    replaced = len(fresh & known)
    return user, cat, len(fresh) - replaced, replaced


def _key(e: PriceEntry | ProviderPrice) -> tuple[str, str, str, str]:
    """What a later price replaces an earlier one by: provider, model, quality, size."""
    return e.provider, e.model, e.quality, e.size


def _write_all(files: list[tuple[Path, str]]) -> None:
    """Write every ``(path, text)``: all staged as temporary files first, then each renamed
    over its file, so a disk that fails while writing leaves every file as it was.

    Raises:
        InputError: naming the file that could not be written (nothing was changed).
    """
    staged: list[tuple[Path, Path]] = []
    where = files[0][0] if files else Path()
    try:
        for path, text in files:
            where = path
            tmp = path.with_name(f".{path.name}.import-{os.getpid()}.tmp")
            staged.append((tmp, path))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
        for tmp, path in staged:
            where = path
            tmp.replace(path)
    except OSError as e:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):  # not ours to remove if it is not a file
                tmp.unlink(missing_ok=True)
        raise InputError(str(where), tr("cannot write: {reason}").format(reason=e)) from e


def import_file(path: Path, home: Path) -> Imported:
    """Add the prices and models of ``path`` to the user's files in ``home``
    (``prices.json``, ``catalogue.json``; see the module's text). Each file is written whole (a
    temporary file renamed), only after everything in ``path`` and both files validated; the
    catalogue in force is read again after (``catalogue.forget_user``).

    Raises:
        InputError: ``path`` or a file in ``home`` is unreadable or invalid (nothing is
            written), ``path`` holds neither a price nor a model, or a file cannot be written.
    """
    raw_prices, raw_models = _parts(path)
    if not raw_prices and not any(raw_models.values()):
        raise InputError(str(path), tr("holds no price and no model"))
    cat_file, price_file = home / catalogue.USER_FILE, home / PRICES_FILE
    user, cat, models_added, models_replaced = None, catalogue.current(), 0, 0
    if raw_models:
        user, cat, models_added, models_replaced = _models(raw_models, path, cat_file)
    new = _prices(raw_prices, cat, f"{path}: ")
    old = read_overrides(price_file) if new and price_file.exists() else []
    fresh = {_key(e) for e in new}
    kept = [e for e in old if _key(e) not in fresh]
    files: list[tuple[Path, str]] = []
    if user is not None:
        doc = user.model_dump(mode="json", exclude_defaults=True)
        files.append((cat_file, json.dumps(doc, ensure_ascii=False, indent=2) + "\n"))
    if new:
        merged = kept + new  # the file's last entry wins (PriceTable.load)
        rows = [
            e.model_dump(exclude_defaults=True) | {"usd_per_image": e.usd_per_image} for e in merged
        ]
        files.append((price_file, json.dumps(rows, ensure_ascii=False, indent=2) + "\n"))
    _write_all(files)
    catalogue.forget_user()
    replaced = len(old) - len(kept)
    return Imported(len(new) - replaced, replaced, models_added, models_replaced)
