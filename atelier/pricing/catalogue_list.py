"""The catalogue as a user reads and updates it: one line per price (``atelier prices``, the
Settings page's table) and the import of a price file into ``ATELIER_HOME/prices.json``
(``atelier prices import FILE``).

An import accepts today's ``prices.json`` format (a JSON list of ``PriceEntry`` objects) and a
TOML file of ``[[price]]`` tables with the same fields. Every entry is validated (a known
provider and model, a dated ``as_of``, a ``source`` and its kind) before anything is written;
a bad file changes nothing. An imported entry replaces the user's earlier one for the same
provider, model, quality and size, and wins over the built-in price.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from atelier.core.errors import InputError
from atelier.core.files import read_bytes, read_json
from atelier.core.i18n import tr
from atelier.core.models import problems_error, validation_problems
from atelier.pricing.entries import PriceEntry, TokenPrice, is_stale
from atelier.pricing.table import PriceTable
from atelier.providers import base
from atelier.providers.catalogue import SourceKind, read_toml
from atelier.providers.registry import PROVIDERS


@dataclass(frozen=True)
class PriceLine:
    """One line of the price list.

    Attributes:
        provider, model: what it prices (``*``: every model of the provider).
        quality, size: which images (``*``: any; size ``1K``…: a tier).
        price: ``"$0.04 per image"``, ``"$5 / $8 / $30 per 1M tokens (text in / image in /
            image out)"`` or ``"unknown"``.
        usd: the figure (USD per image, per megapixel or per 1M output tokens), ``None``
            when unknown.
        as_of, source, source_kind: when and where it was read.
        stale: older than 120 days: check the provider's page.
        note: the model's lifecycle note and the price's own note.
    """

    provider: str
    model: str
    quality: str
    size: str
    price: str
    usd: float | None
    as_of: str
    source: str
    source_kind: str
    stale: bool
    note: str


def _image_price(e: PriceEntry) -> str:
    if e.usd_per_image is None:
        text = tr("unknown")
    elif e.unit == "megapixel":
        text = tr("${usd:g} per megapixel").format(usd=e.usd_per_image)
    else:
        text = tr("${usd:g} per image").format(usd=e.usd_per_image)
    if e.usd_per_extra_megapixel:
        text += tr(", + ${usd:g} per further megapixel").format(usd=e.usd_per_extra_megapixel)
    if e.usd_per_reference:
        text += tr(", + ${usd:g} per reference image").format(usd=e.usd_per_reference)
    if e.batch_usd is not None:
        text += tr(" (batch ${usd:g})").format(usd=e.batch_usd)
    return text


def _token_price(t: TokenPrice) -> str:
    def f(v: float | None) -> str:
        return "?" if v is None else f"${v:g}"

    return tr("{text} / {image} / {out} per 1M tokens (text in / image in / image out)").format(
        text=f(t.text_in), image=f(t.image_in), out=f(t.image_out)
    )


def _lifecycle(provider: str, model: str, on: dt.date) -> tuple[bool, str]:
    """``(shut down, note)`` of a model (``*`` and unknown models: neither)."""
    cls = PROVIDERS.get(provider)
    info = cls.capabilities.model(model) if cls is not None and model != "*" else None
    if info is None:
        return False, ""
    return info.is_shut_down(on), info.lifecycle_note(on)


def price_lines(
    table: PriceTable, *, include_shut_down: bool = False, on: dt.date | None = None
) -> list[PriceLine]:
    """Every price of ``table`` (the user's first, as they win), its token prices, then the
    catalogue's models with no price at all; a model its provider shut down is left out
    unless ``include_shut_down``."""
    day = on or base.today()
    out: list[PriceLine] = []
    priced: set[tuple[str, str]] = set()
    rows: list[tuple[str, str, str, str, str, float | None, str, str, str, str]] = []
    for e in table.entries:
        what = (e.provider, e.model, e.quality, e.size, _image_price(e), e.usd_per_image)
        rows.append((*what, e.as_of, e.source, e.source_kind, e.note))
    for t in table.token_prices:
        what = (t.provider, t.model, "*", "*", _token_price(t), t.image_out)
        rows.append((*what, t.as_of, t.source, t.source_kind, ""))
    for provider, cls in PROVIDERS.items():
        for m in cls.capabilities.models:
            rows.append((provider, m.id, "*", "*", tr("unknown"), None, "", "", "", ""))
    for provider, model, quality, size, price, usd, as_of, source, kind, note in rows:
        if as_of == "" and (provider, model) in priced:
            continue  # a model "with no price" that has one
        priced.add((provider, model))
        shut, lifecycle = _lifecycle(provider, model, day)
        if shut and not include_shut_down:
            continue
        notes = "; ".join(x for x in (lifecycle, tr(note) if note else "") if x)
        stale = bool(as_of) and kind != "atelier" and is_stale(as_of, day)
        out.append(
            PriceLine(provider, model, quality, size, price, usd, as_of, source, kind, stale, notes)
        )
    return out


def lines_json(lines: list[PriceLine]) -> str:
    """The list as JSON (``atelier prices --format json``): one object per line."""
    return json.dumps([asdict(x) for x in lines], ensure_ascii=False, indent=2)


class ImportedPrice(PriceEntry):
    """A price a user imports: a ``PriceEntry`` with a dated ``as_of`` and a source kind (its
    provider and model are checked against the registry after)."""

    as_of: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    source: str = Field(min_length=1)
    source_kind: SourceKind = "user"


def _unknown(e: PriceEntry) -> tuple[str, str] | None:
    """``(field, why)`` when ``e`` names a provider or model Atelier does not know."""
    cls = PROVIDERS.get(e.provider)
    if cls is None:
        known = ", ".join(PROVIDERS)
        why = tr("unknown provider {provider!r} (known: {known})")
        return "provider", why.format(provider=e.provider, known=known)
    if e.model != "*" and cls.capabilities.model(e.model) is None:
        why = tr("{provider} has no model {model!r}")
        return "model", why.format(provider=e.provider, model=e.model)
    return None


def _raw_entries(path: Path) -> list[Any]:
    """The entries of ``path``: a JSON list, or a TOML file's ``[[price]]`` tables."""
    if path.suffix.lower() == ".toml":
        text = read_bytes(path, tr("price file")).decode("utf-8-sig", errors="replace")
        raw = read_toml(text, str(path))
        if set(raw) != {"price"} or not isinstance(raw["price"], list):
            raise InputError(str(path), tr("a price file holds [[price]] tables and nothing else"))
        return list(raw["price"])
    raw = read_json(path, tr("price file"))
    if not isinstance(raw, list):
        raise InputError(str(path), tr("a JSON price file is a list of price objects"))
    return raw


def read_price_file(path: Path) -> list[PriceEntry]:
    """The validated entries of a price file.

    Raises:
        InputError: naming the file and the field (``prices.json: [2].as_of: …``).
    """
    entries: list[PriceEntry] = []
    bad: list[tuple[str, str]] = []
    for i, item in enumerate(_raw_entries(path)):
        try:
            entry = PriceEntry(**ImportedPrice.model_validate(item).model_dump())
        except ValidationError as e:
            bad += [(f"[{i}].{field}", msg) for field, msg in validation_problems(e)]
            continue
        unknown = _unknown(entry)
        if unknown:
            bad.append((f"[{i}].{unknown[0]}", unknown[1]))
        entries.append(entry)
    if bad:
        raise problems_error(f"{path}: ", bad)
    if not entries:
        raise InputError(str(path), tr("holds no price"))
    return entries


def _key(e: PriceEntry) -> tuple[str, str, str, str]:
    return e.provider, e.model, e.quality, e.size


def import_prices(path: Path, target: Path) -> tuple[int, int]:
    """Add the entries of ``path`` to the user's price file ``target``
    (``ATELIER_HOME/prices.json``), replacing the user's earlier entry for the same provider,
    model, quality and size. Written whole (a temporary file renamed), only after every entry
    of both files validated. Returns ``(added, replaced)``.

    Raises:
        InputError: ``path`` or ``target`` is unreadable or invalid (nothing is written), or
            ``target`` cannot be written.
    """
    new = read_price_file(path)
    old = PriceTable.load(target).entries[: _user_count(target)] if target.exists() else []
    fresh = {_key(e) for e in new}
    kept = [e for e in old if _key(e) not in fresh]
    replaced = len(old) - len(kept)
    # PriceTable.load puts the last entry first: written in order, the newest wins.
    merged = list(reversed(kept)) + new
    doc = [e.model_dump(exclude_defaults=True) | {"usd_per_image": e.usd_per_image} for e in merged]
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as e:
        raise InputError(str(target), tr("cannot write: {reason}").format(reason=e)) from e
    return len(new) - replaced, replaced


def _user_count(target: Path) -> int:
    raw = read_json(target, tr("price file"))
    return len(raw) if isinstance(raw, list) else 0
