"""What a batch will cost before anything is sent: images × price per image, and what cannot be
priced, with the reason and, for quality ``auto``, the range from the cheapest quality to the
dearest (as the reference batch tool's ``--estimate-only`` shows it)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.pricing.entries import Price, PriceEntry, PriceQuery, is_stale
from atelier.providers.catalogue import STALE_DAYS
from atelier.providers.registry import capabilities_of

PriceOf = Callable[[PriceQuery], Price]
"""``PriceTable.price_of``: the one door to ask a price."""

_QUALITIES = ("low", "medium", "high")

ESTIMATE_MARGIN = 0.10
"""How far (a fraction) what a run really costs may run above its estimate before Atelier
says so; also the headroom of the spend cap it suggests. Providers that bill by tokens
(OpenAI's GPT Image models) charge what each answer's tokens come to, which can differ from
the listed per-image price the estimate uses."""


def cap_with_margin(usd: float) -> float:
    """A spend cap (USD) for a run estimated at ``usd``: the estimate and its margin
    (``ESTIMATE_MARGIN``), rounded up to the cent."""
    return math.ceil(round(usd * (1 + ESTIMATE_MARGIN) * 100, 6)) / 100


@dataclass(frozen=True)
class Estimate:
    """A batch estimate in USD. ``total_usd`` is ``None`` when any image has no known price.

    Attributes:
        images: images the batch will make (jobs × sample count).
        priced_usd: the sum over images whose price is known.
        unknown_images: images without a known price.
        sources: the price entries used, as ``"model quality size: $x (as_of, source)"``.
        models: the ``provider / model`` pairs the jobs use.
        unknown_reasons: why each unpriced kind of image has no price, as sentences.
        auto_range: ``(low, high)`` USD for the whole batch when every unpriced image is
            quality ``auto`` on a model priced per quality; ``None`` otherwise.
    """

    images: int
    priced_usd: float
    unknown_images: int
    sources: tuple[str, ...]
    models: tuple[str, ...] = ()
    unknown_reasons: tuple[str, ...] = ()
    auto_range: tuple[float, float] | None = None
    reused_images: int = 0
    """Images copied from identical requests instead of made (``atelier.pricing.reuse``): not in
    ``images`` and not paid."""
    list_usd: float | None = None
    """What the batch would cost with every image made (set when some are reused)."""
    priced_by_provider: tuple[tuple[str, float], ...] = ()
    """``priced_usd`` split by provider (for the economy price of the lanes that have one)."""
    economy_usd: float | None = None
    """What the priced images cost through the providers' batch APIs (``None``: no provider
    of the batch has one)."""
    economy: bool = False
    """The batch runs in economy: ``economy_usd`` is what it pays."""
    by_model: tuple[tuple[str, int, float | None], ...] = ()
    """``("provider / model", images, USD or None when unknown)`` for each pair the images
    to make use, at list price (what the spend question shows of a mixed batch)."""
    batch_by_provider: tuple[tuple[str, float, float], ...] = ()
    """``(provider, USD at the published batch prices, USD at list price of the images
    without one)``: the economy price uses a published batch price where the catalogue has
    one, and the provider's batch factor for the rest."""
    unbatched_by_provider: tuple[tuple[str, float], ...] = ()
    """``(provider, USD at list price)`` of the images its batch API does not take (OpenAI's
    edits, ``Capabilities.batch_references``): sent at once in economy too, at list price."""

    @property
    def is_free(self) -> bool:
        """Nothing is paid: no image to make, or every one priced at $0 (the offline draft,
        a self-hosted server, every image reused)."""
        return not self.images or (not self.unknown_images and self.priced_usd <= 0)

    @property
    def suggested_cap_usd(self) -> float | None:
        """The spend cap suggested for this run (USD): what it is expected to pay and its
        margin (``cap_with_margin``); ``None`` when a price is unknown (a cap would stop the
        run before its first image, since no request of unknown price fits under one)."""
        usd = self.to_pay_usd
        return None if usd is None else cap_with_margin(usd)

    def with_economy(self, factors: dict[str, float], economy: bool) -> Estimate:
        """This estimate with its economy price: each provider's share × its batch price
        factor (``factors``: provider → factor, only providers with a batch API)."""
        if not any(p in factors for p, _ in self.priced_by_provider):
            return replace(self, economy=False)
        published = {p: (b, rest) for p, b, rest in self.batch_by_provider}
        unbatched = dict(self.unbatched_by_provider)
        usd = 0.0
        for p, v in self.priced_by_provider:
            at_list = unbatched.get(p, 0.0)
            if p in factors and p in published:
                b, rest = published[p]
                usd += b + (rest - at_list) * factors[p] + at_list
            else:
                usd += (v - at_list) * factors.get(p, 1.0) + at_list
        return replace(self, economy_usd=round(usd, 6), economy=economy)

    @property
    def to_pay_usd(self) -> float | None:
        """What the run is expected to pay: the economy price in economy, else the total."""
        if self.economy and self.economy_usd is not None and not self.unknown_images:
            return self.economy_usd
        return self.total_usd

    @property
    def total_usd(self) -> float | None:
        """The full estimate in USD, or ``None`` when some price is unknown."""
        return None if self.unknown_images else round(self.priced_usd, 6)

    def describe(self) -> str:
        """``"12 images · $0.408"``, ``"12 images · price unknown ($0.108–$2.400 by quality)"``
        or ``"12 images · ≥ $0.20 + 5 images at an unknown price"``; with reuse
        ``"14 to make, 24 reused · $0.476 instead of $1.292"``; with a batch API
        ``"300 images · $13.200 now · $6.600 economy, within 24 h"``."""
        if self.reused_images:
            made = tr("{made} to make, {reused} reused").format(
                made=self.images, reused=self.reused_images
            )
        else:
            made = tr("{n} images").format(n=self.images)
        span = ""
        if self.auto_range:
            low, high = (_usd(x) for x in self.auto_range)
            span = tr(" ({low}–{high} by quality)").format(low=low, high=high)
        if self.unknown_images == self.images and self.images:
            return tr("{made} · price unknown{span}").format(made=made, span=span)
        if self.unknown_images:
            return tr("{made} · ≥ {priced} + {unknown} images at an unknown price{span}").format(
                made=made, priced=_usd(self.priced_usd), unknown=self.unknown_images, span=span
            )
        full = self.list_usd
        saved = ""
        if full is not None and full > self.priced_usd:
            saved = tr(" instead of {full}").format(full=_usd(full))
        now, eco = _usd(self.priced_usd), self.economy_usd
        if eco is None or eco >= self.priced_usd:
            return tr("{made} · {now}{saved}").format(made=made, now=now, saved=saved)
        if self.economy:
            return tr("{made} · {economy} economy, within 24 h ({now} now){saved}").format(
                made=made, economy=_usd(eco), now=now, saved=saved
            )
        return tr("{made} · {now} now · {economy} economy, within 24 h{saved}").format(
            made=made, now=now, economy=_usd(eco), saved=saved
        )


def _usd(amount: float) -> str:
    """Money as the estimate shows it, always USD: ``$0.408``."""
    return f"${amount:.3f}"


def _label(provider: str, entry: PriceEntry) -> str:
    label = " ".join(x for x in (entry.model, entry.quality, entry.size) if x != "*")
    label = label or tr("any model")
    return label if provider == "openai" else f"{provider} {label}"


def _auto_span(price_of: PriceOf, query: PriceQuery) -> tuple[float, float] | None:
    """USD for one image at the cheapest and the dearest quality, when each is priced."""
    prices = [price_of(replace(query, quality=q)).per_image for q in _QUALITIES]
    values = [p for p in prices if p is not None]
    if len(values) < len(prices):
        return None
    return min(values), max(values)


def _unknown_reason(q: PriceQuery, span: tuple[float, float] | None) -> str:
    """Why ``q`` has no price: no entry, or quality ``auto`` (with its low–high ``span``)."""
    if span is None:
        return tr(
            "{provider} / {model} at quality {quality!r}: no published price in Atelier's table (add one in ATELIER_HOME/prices.json)"
        ).format(provider=q.provider, model=q.model, quality=q.quality)
    return tr(
        "{provider} / {model}: quality 'auto' has no fixed price, the provider chooses the quality of each image (${low:g}–${high:g} per {size} image, low to high); choose low, medium or high for an exact price"
    ).format(provider=q.provider, model=q.model, low=span[0], high=span[1], size=q.size)


def _source_line(label: str, e: PriceEntry) -> str:
    """``"label: $x (as_of, source)"`` for the estimate's list of prices used."""
    unit = "/MP" if e.unit == "megapixel" else ""
    refs = ""
    if e.usd_per_reference:
        refs = tr(" + ${usd:g} per reference image").format(usd=e.usd_per_reference)
    if e.usd_per_input_megapixel:
        refs += tr(" + ${usd:g} per reference megapixel (a reference counted as 1024x1024)").format(
            usd=e.usd_per_input_megapixel
        )
    line = f"{label}: ${e.usd_per_image:g}{unit}{refs} ({e.as_of}, {e.citation()})"
    if e.source_kind != "atelier" and is_stale(e.as_of):
        line += tr(" — older than {days} days: check the provider's page").format(days=STALE_DAYS)
    return line


def estimate_jobs(price_of: PriceOf, queries: Iterable[PriceQuery]) -> Estimate:
    """Estimate ``queries`` (mixed-provider batches), each priced through ``price_of``."""
    priced, unknown, total = 0.0, 0, 0
    low = high = 0.0
    ranged = True
    used: dict[str, str] = {}
    reasons: dict[tuple[str, str, str], str] = {}
    models: dict[str, None] = {}
    by_provider: dict[str, float] = {}
    by_model: dict[str, tuple[int, float | None]] = {}
    batch: dict[str, tuple[float, float]] = {}
    unbatched: dict[str, float] = {}
    takes_references: dict[str, bool] = {}
    for q in queries:
        n = q.images
        total += n
        pair = f"{q.provider} / {q.model}"
        models[pair] = None
        answer = price_of(q)
        e, cost = answer.entry, answer.usd
        had_images, had_usd = by_model.get(pair, (0, 0.0))
        if e is None or cost is None:
            by_model[pair] = (had_images + n, None)
            unknown += n
            span = _auto_span(price_of, q) if q.quality == "auto" else None
            if span is None:
                ranged = False
            else:
                low, high = low + span[0] * n, high + span[1] * n
            reasons.setdefault((q.provider, q.model, q.quality), _unknown_reason(q, span))
            continue
        priced += cost
        by_model[pair] = (had_images + n, None if had_usd is None else had_usd + cost)
        by_provider[q.provider] = by_provider.get(q.provider, 0.0) + cost
        b, rest = batch.get(q.provider, (0.0, 0.0))
        at_batch = answer.batch_usd
        if q.references and not _batch_takes_references(q.provider, takes_references):
            unbatched[q.provider] = unbatched.get(q.provider, 0.0) + cost
            at_batch = None
        batch[q.provider] = (b, rest + cost) if at_batch is None else (b + at_batch, rest)
        label = _label(q.provider, e)
        if label not in used:  # said once per price, not once per job
            used[label] = _source_line(label, e)
    auto_range = (priced + low, priced + high) if unknown and ranged else None
    return Estimate(
        total,
        priced,
        unknown,
        tuple(used.values()),
        tuple(models),
        tuple(reasons.values()),
        auto_range,
        priced_by_provider=tuple(by_provider.items()),
        by_model=tuple((pair, n, usd) for pair, (n, usd) in by_model.items()),
        batch_by_provider=tuple((p, b, rest) for p, (b, rest) in batch.items()),
        unbatched_by_provider=tuple(unbatched.items()),
    )


def _batch_takes_references(provider: str, known: dict[str, bool]) -> bool:
    """``Capabilities.batch_references`` of ``provider`` (``True`` for a provider not in the
    registry: its lane has no batch API, so the factor is 1 anyway), looked up once."""
    if provider not in known:
        try:
            known[provider] = capabilities_of(provider).batch_references
        except InputError:
            known[provider] = True
    return known[provider]
