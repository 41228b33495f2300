"""What a run costs against what was estimated: each job's list price (the estimate's price of
its images), and the watch that notices once when the answers cost more than that by more than
the estimate's margin (a provider billing more tokens than its listed price stands for)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from atelier.core.i18n import tr
from atelier.pricing.entries import PriceQuery
from atelier.pricing.estimate import ESTIMATE_MARGIN
from atelier.pricing.table import PriceTable
from atelier.providers.registry import resolve_target
from atelier.store import Store


def job_list_prices(
    store: Store, prices: PriceTable, batch_id: int, job_ids: Iterable[int] | None = None
) -> dict[int, float]:
    """USD one attempt of each job is listed at (price per image × its images, at its own
    provider and model or the batch's), for ``job_ids`` (``None``: every job of the batch).
    Jobs without a known price are left out. Reads the store: call it from a worker thread
    for a big batch."""
    rs = store.run_settings(batch_id)
    wanted = None if job_ids is None else set(job_ids)
    out: dict[int, float] = {}
    # Read by SQLite, priced once per kind of job: 10,000 specs validated here held the
    # interpreter while the window drew the batch just started (bench/window.py).
    known: dict[tuple[str | None, str | None, str, str, int, int], float | None] = {}
    for jid, p, m, quality, size, samples, refs in store.job_price_facts(batch_id):
        if wanted is not None and jid not in wanted:
            continue
        kind = (p, m, quality, size, samples, refs)
        if kind not in known:
            provider, model = resolve_target(rs.provider, rs.model, p, m)
            query = PriceQuery(provider, model, quality, size, samples, refs)
            known[kind] = prices.price_of(query).usd
        usd = known[kind]
        if usd is not None:
            out[jid] = usd
    return out


@dataclass(frozen=True)
class Overrun:
    """Answers that cost more than listed: ``actual_usd`` paid for ``jobs`` jobs whose list
    price is ``listed_usd``."""

    actual_usd: float
    listed_usd: float
    jobs: int

    def text(self) -> str:
        """The sentence the window shows, with the figures."""
        return tr(
            "This run costs more than estimated: {actual} for {jobs} job(s) listed at {listed} "
            "(+{over} %, above the estimate's {margin} % margin). The provider bills more "
            "than its listed price."
        ).format(
            actual=f"${self.actual_usd:.3f}",
            jobs=self.jobs,
            listed=f"${self.listed_usd:.3f}",
            over=round((self.actual_usd / self.listed_usd - 1) * 100),
            margin=round(ESTIMATE_MARGIN * 100),
        )


class OverrunWatch:
    """Sums what finished jobs cost against their list price and says once when the cost
    runs above it by more than ``ESTIMATE_MARGIN``.

    Args:
        listed: job id → list price (USD) of one attempt (``job_list_prices``).
    """

    def __init__(self, listed: dict[int, float] | None = None) -> None:
        self.listed: dict[int, float] = dict(listed or {})
        self.actual_usd = 0.0
        self.listed_usd = 0.0
        self.jobs = 0
        self.said = False

    def add_prices(self, listed: dict[int, float]) -> None:
        """More jobs to watch (a regeneration, a retry), or new prices for the same ones."""
        self.listed.update(listed)

    def finished(self, job_id: int, paid_usd: float) -> Overrun | None:
        """Job ``job_id`` finished after paying ``paid_usd`` (USD, this attempt's cost; 0 for a
        copied image). Returns the overrun the first time the sums pass the margin."""
        listed = self.listed.get(job_id)
        if listed is None or listed <= 0 or paid_usd <= 0:
            return None  # unpriced, free, or copied: nothing to compare
        self.actual_usd += paid_usd
        self.listed_usd += listed
        self.jobs += 1
        # Half a cent of slack: rounding of token prices is not an overrun.
        if self.said or self.actual_usd <= self.listed_usd * (1 + ESTIMATE_MARGIN) + 0.005:
            return None
        self.said = True
        return Overrun(round(self.actual_usd, 6), round(self.listed_usd, 6), self.jobs)


def qa_worst_case_usd(to_pay_usd: float | None, qa_retry: int) -> float | None:
    """The most that re-makes of flagged images can add (USD): every image flagged and made
    again ``qa_retry`` times at its estimated price; ``None`` when a price is unknown."""
    if to_pay_usd is None:
        return None
    return round(to_pay_usd * qa_retry, 6)


def qa_retry_note(to_pay_usd: float | None, qa_retry: int, capped: bool) -> str:
    """What the spend question says of ``--qa-retry`` (empty when it is 0): how many re-makes,
    their worst case, and that the spend cap bounds them (``capped``) or that only the count
    does."""
    if qa_retry <= 0:
        return ""
    worst = qa_worst_case_usd(to_pay_usd, qa_retry)
    text = tr(
        "Images the quality check flags are made again up to {count} time(s) each, each re-make paid: at most {worst} more if every image were flagged."
    ).format(count=qa_retry, worst=tr("unknown") if worst is None else f"${worst:.3f}")
    if capped:
        bound = tr("The spend cap bounds them: a re-make that would pass it is not made.")
        return f"{text} {bound}"
    return text + " " + tr("No spend cap is set: only the count bounds them.")
