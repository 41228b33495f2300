"""The catalogue as a user reads it: one line per price (``atelier prices``, the Settings
page's table). Importing a file is ``atelier.pricing.imports``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from atelier.core.i18n import tr
from atelier.pricing.entries import PriceEntry, TokenPrice, is_stale
from atelier.pricing.table import PriceTable
from atelier.providers import base, catalogue
from atelier.providers.registry import PROVIDERS


@dataclass(frozen=True)
class PriceLine:
    """One line of the price list.

    Attributes:
        provider, model: what it prices (``*``: every model of the provider).
        quality, size: which images (``*``: any; size ``1K``…: a tier).
        price: ``"$0.04 per image"``, ``"$5 / $8 / $30 per 1M tokens (text in / image in /
            image out)"``, ``"batch API: 50 % of the list price"`` or ``"unknown"``.
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
    if e.usd_per_input_megapixel:
        text += tr(", + ${usd:g} per reference megapixel").format(usd=e.usd_per_input_megapixel)
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


def _replaced_models() -> dict[tuple[str, str], str]:
    """The note of each shipped model the user's catalogue replaces, naming the date of the
    shipped figures it hides (a later release may correct them: the user's entry still wins)."""
    shipped = catalogue.builtin()
    out = {}
    for m in catalogue.current().model:
        was = shipped.find(m.provider, m.id)
        if was is None or was == m:
            continue
        dates = [catalogue.as_of_date(p.as_of) for p in was.price]
        dates += [catalogue.as_of_date(was.tokens.as_of)] if was.tokens else []
        when = max(dates).isoformat() if dates else "—"
        out[(m.provider, m.id)] = tr(
            "your own entry, in place of Atelier's (whose figures are as of {date})"
        ).format(date=when)
    return out


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
    for d in catalogue.current().batch_discount:
        text = tr("batch API: {percent:g} % of the list price").format(percent=d.factor * 100)
        rows.append((d.provider, "*", "*", "*", text, None, d.as_of, d.source, d.source_kind, ""))
    for provider, cls in PROVIDERS.items():
        for m in cls.capabilities.models:
            rows.append((provider, m.id, "*", "*", tr("unknown"), None, "", "", "", ""))
    replaced = _replaced_models()
    for provider, model, quality, size, price, usd, as_of, source, kind, note in rows:
        if as_of == "" and (provider, model) in priced:
            continue  # a model "with no price" that has one
        priced.add((provider, model))
        shut, lifecycle = _lifecycle(provider, model, day)
        if shut and not include_shut_down:
            continue
        mine = replaced.get((provider, model), "")
        notes = "; ".join(x for x in (lifecycle, tr(note) if note else "", mine) if x)
        stale = bool(as_of) and kind != "atelier" and is_stale(as_of, day)
        out.append(
            PriceLine(provider, model, quality, size, price, usd, as_of, source, kind, stale, notes)
        )
    return out


def lines_json(lines: list[PriceLine]) -> str:
    """The list as JSON (``atelier prices --format json``): one object per line."""
    return json.dumps([asdict(x) for x in lines], ensure_ascii=False, indent=2)
