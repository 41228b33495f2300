"""What a run spends: the cost of an answer, and the budget cap booked before each request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Generic, Protocol, TypeVar

from atelier.core.i18n import tr
from atelier.core.models import JobSpec, RunSettings
from atelier.pricing.entries import Price, PriceQuery
from atelier.pricing.table import PriceTable
from atelier.providers.base import GenerationResult


class Account(Protocol):
    """What the budget reads and books on a run (the engine's ``Run`` is one): pricing sits
    below the engine, so it names the few fields it needs instead of importing the run."""

    settings: RunSettings
    halt_reason: str | None
    spent_usd: float
    reserved_usd: float


A = TypeVar("A", bound=Account)


class Budget(Generic[A]):
    """Prices answers and books worst-case costs against a run's ``budget_usd`` cap.

    Args:
        prices: the price table (USD per image, token prices for ``usage``).
        halt: called with the run and the reason when the cap stops the run from starting
            more jobs.
    """

    def __init__(self, prices: PriceTable, halt: Callable[[A, str], None]) -> None:
        self.prices = prices
        self._halt = halt

    def cost(
        self,
        provider: str,
        model: str,
        spec: JobSpec,
        result: GenerationResult,
        factor: float = 1.0,
        reference_mp: float | None = None,
    ) -> float | None:
        """USD for ``result``: from its token ``usage`` where the provider returns it and the
        table has token prices, else images × the per-image price; ``None`` when unknown.
        ``factor`` scales the list price (economy: the provider's batch discount);
        ``reference_mp``: the megapixels of the references sent (``_price``)."""
        if result.usage:
            usd = self.prices.cost_from_usage(provider, model, result.usage)
            if usd is not None:
                return round(usd * factor, 6)
        return self.list_cost(provider, model, spec, len(result.images), factor, reference_mp)

    def list_cost(
        self,
        provider: str,
        model: str,
        spec: JobSpec,
        images: int,
        factor: float = 1.0,
        reference_mp: float | None = None,
    ) -> float | None:
        """USD for ``images`` images of ``spec`` at the per-image price × ``factor``
        (``None``: unknown)."""
        usd = self._price(provider, model, spec, images, reference_mp).usd
        return None if usd is None else round(usd * factor, 6)

    def _price(
        self, provider: str, model: str, spec: JobSpec, images: int, reference_mp: float | None
    ) -> Price:
        """The list price of ``images`` images of ``spec``; where the price counts the
        references' megapixels (FLUX.2), ``reference_mp`` (measured by the job from the bytes
        it sends) or else their files' sizes (a reference that cannot be read counts as a
        typical 1024x1024 image)."""
        query = PriceQuery.of(provider, model, spec, images)
        price = self.prices.price_of(query)
        if price.entry is not None and price.entry.usd_per_input_megapixel and query.references:
            measured = (
                replace(query, reference_megapixels=reference_mp)
                if reference_mp is not None
                else PriceQuery.of(provider, model, spec, images, measure=True)
            )
            price = self.prices.price_of(measured)
        return price

    def reserve(
        self,
        run: A,
        provider: str,
        model: str,
        spec: JobSpec,
        images: int,
        factor: float = 1.0,
        reference_mp: float | None = None,
    ) -> float | None:
        """Book the worst-case cost (USD) of one request of ``images`` images at ``factor`` ×
        the list price (``reference_mp``: as ``cost``).

        Returns the amount booked (0 without a cap), or ``None`` (and halts the run) when the
        request could take spend over the cap, or its price is unknown.
        """
        cap = run.settings.budget_usd
        if cap is None:
            return 0.0
        if run.halt_reason:
            return None
        listed = self._price(provider, model, spec, images, reference_mp).usd
        if listed is None:
            self._halt(
                run,
                tr(
                    "Budget cap of ${cap:.2f}: the price of {provider} {model} ({quality}, {size}) is unknown, so no job was started that could exceed it. Add the price in ATELIER_HOME/prices.json or remove the cap."
                ).format(
                    cap=cap, provider=provider, model=model, quality=spec.quality, size=spec.size
                ),
            )
            return None
        need = listed * factor
        if run.spent_usd + run.reserved_usd + need > cap + 1e-9:
            self._halt(
                run,
                tr(
                    "Budget cap of ${cap:.2f} reached: ${spent:.3f} spent; the next job (${need:.3f}) would exceed it. Jobs not started stay pending: raise the cap and resume."
                ).format(cap=cap, spent=run.spent_usd, need=need),
            )
            return None
        run.reserved_usd += need
        return need
