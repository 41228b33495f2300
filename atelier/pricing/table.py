"""Prices with their date and source, looked up for a job; actual cost from a response's usage.

The built-in prices are the catalogue's (``atelier/providers/catalogue.toml``: every price with
``as_of``, ``source`` and whether it was read on the provider's page or a third party's copy),
with the prices of the models a user imported (``ATELIER_HOME/catalogue.json``).
A price that is not in the table is *unknown* (``None``), never $0: the estimate then says how
many images have no price. Users add or override entries in ``ATELIER_HOME/prices.json`` (a
list of objects with the ``PriceEntry`` fields; ``atelier prices import`` writes it).
``PriceTable.price_of`` is the one door to ask a price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from atelier.core import paths
from atelier.core.errors import InputError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import JobSpec, problems_error, validation_problems
from atelier.pricing.entries import Price, PriceEntry, PriceQuery, TokenPrice
from atelier.pricing.estimate import Estimate, estimate_jobs
from atelier.providers import catalogue
from atelier.providers.catalogue import Catalogue, ImagePrice
from atelier.providers.registry import resolve_target


def _entry(provider: str, model: str, p: ImagePrice) -> PriceEntry:
    """One catalogue price (a model's, or a whole provider's with ``model="*"``) as a table
    entry."""
    return PriceEntry(
        provider=provider,
        model=model,
        quality=p.quality,
        size=p.size,
        usd_per_image=p.usd,
        unit=p.unit,
        as_of=p.as_of,
        source=p.source,
        source_kind=p.source_kind,
        note=p.note,
        usd_per_reference=p.usd_per_reference,
        usd_per_input_megapixel=p.usd_per_input_megapixel,
        usd_per_extra_megapixel=p.usd_per_extra_megapixel,
        batch_usd=p.batch_usd,
    )


def _entries(cat: Catalogue) -> list[PriceEntry]:
    """The catalogue's image prices flattened into table entries, in its order."""
    out = [_entry(p.provider, p.model, p) for p in cat.provider_price]
    for m in cat.model:
        out += [_entry(m.provider, m.id, p) for p in m.price]
    return out


def _token_prices(cat: Catalogue) -> list[TokenPrice]:
    return [
        TokenPrice(
            provider=m.provider,
            model=m.id,
            text_in=m.tokens.text_in,
            image_in=m.tokens.image_in,
            image_out=m.tokens.image_out,
            as_of=m.tokens.as_of,
            source=m.tokens.source,
            source_kind=m.tokens.source_kind,
        )
        for m in cat.model
        if m.tokens is not None
    ]


def builtin_prices() -> list[PriceEntry]:
    """The shipped catalogue's image prices (``atelier/providers/catalogue.toml``)."""
    return _entries(catalogue.builtin())


def builtin_token_prices() -> list[TokenPrice]:
    """The shipped catalogue's token prices."""
    return _token_prices(catalogue.builtin())


def current_prices() -> tuple[list[PriceEntry], list[TokenPrice]]:
    """The image and token prices of the catalogue in force (the shipped one with the user's
    imported models, ``atelier.providers.catalogue.current``)."""
    cat = catalogue.current()
    return _entries(cat), _token_prices(cat)


PRICES_FILE = "prices.json"
"""The user's own prices in ``ATELIER_HOME`` (``atelier prices import`` writes it)."""


def user_prices_path() -> Path:
    """``ATELIER_HOME/prices.json``.

    Raises:
        HomeError: the Atelier folder cannot be created.
    """
    return paths.home() / PRICES_FILE


def read_overrides(path: Path) -> list[PriceEntry]:
    """The user's price entries in ``path`` (``ATELIER_HOME/prices.json``: a JSON list of
    ``PriceEntry`` objects), in the file's order.

    Raises:
        InputError: naming the file (and the entry and field) when it is unreadable, not a
            list, or an entry is malformed.
    """
    raw = read_json(path, N_("price file"))
    if not isinstance(raw, list):
        raise InputError(str(path), tr("the price file is not a JSON list of prices"))
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(PriceEntry.model_validate(item))
        except ValidationError as e:
            raise problems_error(f"{path}: [{i}].", validation_problems(e)) from e
    return out


_STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")


class PriceTable:
    """Looks prices up; user overrides take precedence over built-ins."""

    def __init__(
        self, entries: list[PriceEntry] | None = None, token_prices: list[TokenPrice] | None = None
    ) -> None:
        if entries is None or token_prices is None:
            found, tokens = current_prices()
            entries = found if entries is None else entries
            token_prices = tokens if token_prices is None else token_prices
        self.entries = list(entries)
        self.token_prices = list(token_prices)
        self._found: dict[tuple[str, str, str, str], PriceEntry | None] = {}
        """Lookups already answered: a 100,000-row batch asks the same few questions."""

    @classmethod
    def load(cls, overrides: Path | None) -> PriceTable:
        """Built-ins plus the entries of ``overrides`` (``read_overrides``; the last entry of
        the file wins, so it comes first), if the file exists.

        Raises:
            InputError: naming the file and entry when an override is malformed.
        """
        table = cls()
        if overrides is not None and overrides.exists():
            table.entries[:0] = reversed(read_overrides(overrides))
        return table

    def reload(self, overrides: Path | None) -> None:
        """Take the prices in force now (after ``atelier prices import`` or the Settings
        page's Import), in place, so every holder of this table (the window's estimate, the
        engine's costs) sees them.

        Raises:
            InputError: as ``load``; the table is then unchanged.
        """
        fresh = PriceTable.load(overrides)
        # Each attribute swapped whole, the cache last (``lookup``): a thread pricing a job
        # meanwhile gets the old answer or the new one, and no old answer is kept.
        self.entries, self.token_prices, self._found = fresh.entries, fresh.token_prices, {}

    def lookup(self, provider: str, model: str, quality: str, size: str) -> PriceEntry | None:
        """The first entry matching exactly or by ``"*"`` (see ``find``), remembered."""
        key = (provider, model, quality, size)
        # The cache taken once: a ``reload`` on another thread swaps it whole, and an answer
        # found among the old entries then lands in the old cache, never the new one.
        cache = self._found
        if key in cache:
            return cache[key]
        found = cache[key] = self.find(provider, model, quality, size)
        return found

    def find(self, provider: str, model: str, quality: str, size: str) -> PriceEntry | None:
        """The first entry matching exactly or by ``"*"`` (sizes also by tier); ``None`` when
        unknown. ``quality="auto"`` has no fixed price (the provider picks), so it is unknown
        unless an entry says ``"auto"`` or ``"*"``. Size ``auto`` (none given: the provider
        chooses) without an entry of its own is priced as the dearest of the standard sizes
        (1024x1024, 1536x1024, 1024x1536), so the estimate never falls short."""
        for e in self.entries:
            if (
                e.provider == provider
                and e.model in (model, "*")
                and e.quality in (quality, "*")
                and e.matches_size(size)
            ):
                return e
        if size == "auto":
            found = [self.lookup(provider, model, quality, s) for s in _STANDARD_SIZES]
            priced = [e for e in found if e is not None and e.usd_per_image is not None]
            return max(priced, key=lambda e: e.usd_per_image or 0.0) if priced else None
        return None

    def price_of(self, query: PriceQuery) -> Price:
        """The one door to ask a price: ``query`` answered with the entry that prices it (or
        none: unknown)."""
        return Price(query, self.lookup(query.provider, query.model, query.quality, query.size))

    def estimate(self, queries: Iterable[PriceQuery]) -> Estimate:
        """The estimate of ``queries`` (mixed providers and models); see
        ``atelier.pricing.estimate.estimate_jobs``. Images made from reference images on a
        model billed for its input tokens add a line to ``sources`` saying the references'
        input is not in the figure (no provider publishes how many tokens an input image
        counts for on OpenAI's models): it is billed from ``usage`` and counted after the run."""
        asked = list(queries)
        est = estimate_jobs(self.price_of, asked)
        notes = self._reference_notes(asked)
        return replace(est, sources=est.sources + tuple(notes)) if notes else est

    def _reference_notes(self, queries: list[PriceQuery]) -> list[str]:
        images: dict[tuple[str, str], int] = {}
        for q in queries:
            e = self.lookup(q.provider, q.model, q.quality, q.size)
            charged = e is not None and (e.usd_per_reference or e.usd_per_input_megapixel)
            if q.references and not charged:
                images[(q.provider, q.model)] = images.get((q.provider, q.model), 0) + q.images
        out = []
        for (provider, model), n in images.items():
            tp = self._tokens_of(provider, model)
            if tp is None:
                continue
            if tp.image_in:
                out.append(
                    tr(
                        "{model}: {n} image(s) made from reference images: the references' input tokens (${rate:g} per 1M, {as_of}, {source}) are not in this figure; the provider bills them from usage, and Atelier counts them after the run"
                    ).format(model=model, n=n, rate=tp.image_in, as_of=tp.as_of, source=tp.source)
                )
            else:  # Gemini: an input image counts 1,120 tokens, at a rate not in the catalogue
                out.append(
                    tr(
                        "{model}: {n} image(s) made from reference images: the provider bills the references' input tokens at a rate Atelier's catalogue does not have, so they are in neither this figure nor the spent figure (add the rate with atelier prices import)"
                    ).format(model=model, n=n)
                )
        return out

    def _tokens_of(self, provider: str, model: str) -> TokenPrice | None:
        return next(
            (t for t in self.token_prices if t.provider == provider and t.model == model), None
        )

    def estimate_specs(self, specs: Iterable[JobSpec], provider: str, model: str) -> Estimate:
        """The estimate of ``specs``, each at its own provider and model or else at
        ``provider``/``model``: images × price per image (with its references' charge).

        Jobs alike (the same provider, model, quality, size and number of references) are
        priced as one query: a 100,000-row sheet has a handful of them (measured by
        ``bench/plan_rows.py``: the estimate's share of planning 100,000 rows fell from 0.9 s)."""
        images: dict[tuple[str | None, str | None, str, str, int], int] = {}
        for s in specs:
            key = (s.provider, s.model, s.quality, s.size, len(s.reference_images))
            images[key] = images.get(key, 0) + s.sample_count
        return self.estimate(
            PriceQuery(*resolve_target(provider, model, p, m), quality, size, n, refs)
            for (p, m, quality, size, refs), n in images.items()
        )

    def cost_from_usage(self, provider: str, model: str, usage: dict[str, object]) -> float | None:
        """USD billed for one response from its ``usage`` block (OpenAI Images format).

        Returns ``None`` when the model's token prices (or the usage fields) are unknown.
        """
        tp = self._tokens_of(provider, model)
        if tp is None:
            return None
        try:
            out_tokens = int(usage.get("output_tokens", 0))  # type: ignore[call-overload]
            details = usage.get("input_tokens_details") or {}
            if isinstance(details, dict) and details:
                text_in = int(details.get("text_tokens", 0))
                image_in = int(details.get("image_tokens", 0))
            else:
                text_in = int(usage.get("input_tokens", 0))  # type: ignore[call-overload]
                image_in = 0
        except (TypeError, ValueError):
            return None
        total = 0.0
        for tokens, price in (
            (text_in, tp.text_in),
            (image_in, tp.image_in),
            (out_tokens, tp.image_out),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price / 1_000_000
        return round(total, 6)
