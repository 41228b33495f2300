"""The window's side of money: the one spend question before every paid action, the spend cap
it sets (in the store and in the run), what a batch is expected to have spent once the run
the user confirmed ends, the list prices each answer's cost is compared with (the overrun
line), and raising the cap that stopped a batch. The question is asked on the GUI thread; its
answer (``Agreed``) is written by the caller's store op (``store_cap``) and shown once written
(``agreed``). The figures are ``atelier.pricing.spend``'s and
``atelier.pricing.estimate``'s; this wires them to the window."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from atelier.core.i18n import tr
from atelier.core.status import JobStatus
from atelier.engine import controller
from atelier.pricing.estimate import Estimate
from atelier.pricing.spend import OverrunWatch, job_list_prices
from atelier.studio.actions.shell import Shell
from atelier.studio.bridge import JobUpdate
from atelier.studio.pages.progress import ProgressPage
from atelier.studio.widgets.banner import Banner
from atelier.studio.widgets.spend_dialog import SpendAnswer, SpendQuestion


class SpendWindow(Shell, Protocol):
    """What spending uses of the window besides the ``Shell``: the progress page (spend
    against the estimate, the overrun line), the banner, the spend question and Resume."""

    progress: ProgressPage
    banner: Banner

    def ask_spend(self, parent: QWidget, question: SpendQuestion) -> SpendAnswer | None:
        """The spend question (a seam tests replace on the window); ``None``: no."""
        ...

    def resume_batch(self, batch_id: int, agreed: Agreed | None = None) -> object:
        """Resume stored ``batch_id`` (``agreed``: the spend question was just answered)."""
        ...


@dataclass(frozen=True)
class Agreed:
    """A yes to the spend question for more of a stored batch, before it is written.

    Attributes:
        batch_id: the batch.
        cap_usd: its spend cap from now on (USD, the batch's whole spend; ``None``: no cap).
        estimate: what the user agreed to pay; ``None``: nothing to store or expect (a run
            that pays nothing, or a batch that goes on under the cap it has).
        spent_before: what the batch is expected to have spent before this run (USD).
    """

    batch_id: int
    cap_usd: float | None = None
    estimate: Estimate | None = None
    spent_before: float = 0.0


class SpendActions(QObject):
    """Spending for ``win``'s batches. The question itself is ``win.ask_spend`` (a seam tests
    replace on the window).

    Attributes:
        expected: batch id → what it is expected to have spent (USD) once the run the user
            last confirmed ends (``None``: unknown); the progress page shows spend against it.
        overrun: the open batch's list prices and what its answers cost so far.
    """

    def __init__(self, win: SpendWindow) -> None:
        super().__init__(win.window())
        self.win = win
        self.expected: dict[int, float | None] = {}
        self.overrun = OverrunWatch()

    def confirm_spend(
        self,
        action: str,
        est: Estimate,
        cap_usd: float | None = None,
        spent_usd: float = 0.0,
        qa_retry: int = 0,
    ) -> SpendAnswer | None:
        """The one gate of every window action that spends (Start, Regenerate, Make more,
        Retry, Resume, raising a cap). A run that pays nothing (the draft provider, every image
        reused) goes on without a question under ``cap_usd``; a paid one asks (``ask_spend``)
        with the amount (USD), images, providers and models and a spend cap for this run,
        ``cap_usd`` if the user set one, else the estimate and its margin. ``spent_usd``: what
        the batch spent before (shown); ``qa_retry``: re-makes of flagged images, whose worst
        case the question states (bounded by the cap). Returns the answer (its cap is USD for this run, on
        top of ``spent_usd``), or ``None`` when the user said no."""
        if est.is_free:
            return SpendAnswer(cap_usd)
        cap = cap_usd if cap_usd is not None else est.suggested_cap_usd
        return self.win.ask_spend(
            self.win.window(), SpendQuestion(action, est, cap, spent_usd, qa_retry)
        )

    def cap_on_top(self, batch_id: int, yes: SpendAnswer, resumed: bool) -> float:
        """The store-op thread (``StoreOps.call``): what ``batch_id`` has spent (USD) before
        this run; a batch that
        continues gets the cap the user chose on top of it (the engine counts the batch's
        whole spend against its cap)."""
        if not resumed:
            return 0.0
        spent = self.win.store.known_spend_usd(batch_id)
        if yes.cap_usd is not None and spent:
            self._store_cap(batch_id, spent + yes.cap_usd)
        return spent

    def store_cap(self, yes: Agreed) -> None:
        """A store op's part (the store-op thread): the cap the user agreed to, in the store
        and in the batch's run in progress."""
        if yes.estimate is not None:
            self._store_cap(yes.batch_id, yes.cap_usd)

    def agreed(self, yes: Agreed) -> None:
        """GUI thread, once ``store_cap`` ran: the progress page shows spend against what
        the batch is expected to have spent after the run just agreed to."""
        if yes.estimate is not None:
            self.expect(yes.batch_id, yes.estimate, yes.spent_before)

    def _store_cap(self, batch_id: int, cap_usd: float | None) -> None:
        """Any thread but the GUI's: the batch's spend cap (USD) in the store and in its run
        in progress."""
        w = self.win
        rs = w.store.run_settings(batch_id)
        rs = rs.model_copy(update={"budget_usd": cap_usd})
        w.store.set_run_settings(batch_id, rs)
        w.host.call(w.engine.set_budget, batch_id, cap_usd)

    def spend_more(self, batch_id: int, action: str, est: Estimate) -> Agreed | None:
        """Ask before more of ``batch_id`` is made (``est``: what it costs); on a yes the
        batch's cap grows by the cap chosen (from its running cap, or from what it has spent
        when it is not running; a running batch without a cap keeps none). Returns the yes,
        for the caller's store op to write (``store_cap``) and show (``agreed``); ``None``:
        the user said no."""
        w = self.win
        spent = w.store.known_spend_usd(batch_id)
        yes = self.confirm_spend(action, est, spent_usd=spent)
        if yes is None:
            w.statusBar().showMessage(tr("Nothing was spent."), 5000)
            return None
        if est.is_free:
            return Agreed(batch_id)
        running = w.host.is_running(batch_id)
        old = w.store.run_settings(batch_id).budget_usd
        if yes.cap_usd is None or (running and old is None):
            cap = None
        else:
            cap = (old if running and old is not None else spent) + yes.cap_usd
        before = self.expected.get(batch_id) if running else None
        return Agreed(batch_id, cap, est, before if before is not None else spent)

    def expect(self, batch_id: int, est: Estimate, spent_before: float) -> None:
        """The batch is expected to have spent ``spent_before`` + ``est`` (USD) after the run
        just confirmed; the progress page shows spend against it."""
        usd = est.to_pay_usd
        self.expected[batch_id] = None if usd is None else round(spent_before + usd, 6)
        if batch_id == self.win.batch_id:
            self.show_expected(batch_id)

    def show_expected(self, batch_id: int) -> None:
        """The progress page's spend against the expected figure and the batch's cap."""
        w = self.win
        b = w.store.batch(batch_id)
        cap = b.run_settings().budget_usd
        w.progress.set_estimate(self.expected.get(batch_id, b.estimated_cost), cap)

    def watch_prices(self, batch_id: int, job_ids: list[int] | None = None) -> None:
        """Learn the list price of these jobs (all: ``None``) off the GUI thread, so the cost
        of each answer is compared with it (``OverrunWatch``)."""
        w = self.win

        async def learn() -> None:
            listed = await asyncio.to_thread(job_list_prices, w.store, w.prices, batch_id, job_ids)
            if batch_id == w.batch_id:
                self.overrun.add_prices(listed)

        w.spawn(learn())

    def check_overrun(self, updates: dict[int, JobUpdate]) -> None:
        """Compare what each job that just finished paid with its list price; the first time
        the run costs more than its estimate's margin allows, say so with the figures."""
        w = self.win
        model = w.progress.jobs_model
        for jid, u in updates.items():
            ev = u.change
            if ev is None or ev.status != JobStatus.COMPLETED or ev.cost is None:
                continue
            before = model.cost_of(jid) or 0.0
            # Images made again after a quality flag were asked for (--qa-retry): they are
            # spend, not a provider billing above its list price.
            over = self.overrun.finished(jid, ev.cost - before - ev.qa_remade_usd)
            if over is not None:
                w.progress.show_overrun(over.text())
                w.banner.show_message(over.text(), "warning")

    def raise_cap(self, batch_id: int) -> None:
        """The budget cap stopped ``batch_id``: ask for a new cap for what is left (the spend
        question, prefilled from its estimate and margin) and resume under it."""
        w = self.win
        if w.host.is_running(batch_id):
            return
        yes = self.spend_more(batch_id, tr("Raise the cap and resume"), self._left(batch_id))
        if yes is not None:
            w.resume_batch(batch_id, yes)

    def resume_agreed(self, batch_id: int) -> Agreed | None:
        """Whether stored batch ``batch_id`` may resume (``None``: no): with a spend cap it
        goes on under that cap; a paid one without asks first (``spend_more``, priced on what
        is left)."""
        settings = self.win.store.run_settings(batch_id)
        if settings.budget_usd is not None:
            return Agreed(batch_id)
        return self.spend_more(batch_id, tr("Resume"), self._left(batch_id))

    def _left(self, batch_id: int) -> Estimate:
        """What the jobs of ``batch_id`` not made yet (pending, failed, cancelled) cost."""
        w = self.win
        left = w.store.job_ids(batch_id, (JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED))
        return controller.price_jobs(w.store, w.prices, batch_id, left)
