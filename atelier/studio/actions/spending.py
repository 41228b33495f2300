"""The window's side of money: the one spend question before every paid action, the spend cap
it sets (in the store and in the run), what a batch is expected to have spent once the run
the user confirmed ends, the list prices each answer's cost is compared with (the overrun
line), and raising the cap that stopped a batch. The figures are ``atelier.pricing.spend``'s and
``atelier.pricing.estimate``'s; this wires them to the window."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from atelier.core.i18n import tr
from atelier.core.models import RunSettings
from atelier.core.status import JobStatus
from atelier.engine import controller
from atelier.pricing.estimate import Estimate
from atelier.pricing.spend import OverrunWatch, job_list_prices
from atelier.studio.bridge import JobUpdate
from atelier.studio.widgets.spend_dialog import SpendAnswer, SpendQuestion

if TYPE_CHECKING:
    from atelier.studio.main_window import MainWindow


class SpendActions(QObject):
    """Spending for ``win``'s batches. The question itself is ``win.ask_spend`` (a seam tests
    replace on the window).

    Attributes:
        expected: batch id → what it is expected to have spent (USD) once the run the user
            last confirmed ends (``None``: unknown); the progress page shows spend against it.
        overrun: the open batch's list prices and what its answers cost so far.
    """

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
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
        return self.win.ask_spend(self.win, SpendQuestion(action, est, cap, spent_usd, qa_retry))

    def cap_on_top(self, batch_id: int, yes: SpendAnswer, resumed: bool) -> float:
        """Any thread: what ``batch_id`` has spent (USD) before this run; a batch that
        continues gets the cap the user chose on top of it (the engine counts the batch's
        whole spend against its cap)."""
        if not resumed:
            return 0.0
        spent = self.win.store.known_spend_usd(batch_id)
        if yes.cap_usd is not None and spent:
            self._store_cap(batch_id, spent + yes.cap_usd)
        return spent

    def _store_cap(self, batch_id: int, cap_usd: float | None) -> None:
        """The batch's spend cap (USD) in the store and in its run in progress."""
        w = self.win
        rs = RunSettings.model_validate(w.store.batch(batch_id).settings)
        rs = rs.model_copy(update={"budget_usd": cap_usd})
        w.store.update_batch_settings(batch_id, rs.model_dump(mode="json"))
        w.host.call(w.engine.set_budget, batch_id, cap_usd)

    def spend_more(self, batch_id: int, action: str, est: Estimate) -> bool:
        """Ask before more of ``batch_id`` is made (``est``: what it costs); on a yes the
        batch's cap grows by the cap chosen (from its running cap, or from what it has spent
        when it is not running; a running batch without a cap keeps none). Returns the yes."""
        w = self.win
        spent = w.store.known_spend_usd(batch_id)
        yes = self.confirm_spend(action, est, spent_usd=spent)
        if yes is None:
            w.statusBar().showMessage(tr("Nothing was spent."), 5000)
            return False
        if est.is_free:
            return True
        running = w.host.is_running(batch_id)
        old = RunSettings.model_validate(w.store.batch(batch_id).settings).budget_usd
        if yes.cap_usd is None or (running and old is None):
            cap = None
        else:
            cap = (old if running and old is not None else spent) + yes.cap_usd
        self._store_cap(batch_id, cap)
        before = self.expected.get(batch_id) if running else None
        self.expect(batch_id, est, before if before is not None else spent)
        return True

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
        cap = RunSettings.model_validate(b.settings).budget_usd
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
        if not self.spend_more(batch_id, tr("Raise the cap and resume"), self._left(batch_id)):
            return
        w.resume_batch(batch_id, confirmed=True)

    def resume_agreed(self, batch_id: int) -> bool:
        """Whether stored batch ``batch_id`` may resume: with a spend cap it goes on under that
        cap; a paid one without asks first (``spend_more``, priced on what is left)."""
        settings = RunSettings.model_validate(self.win.store.batch(batch_id).settings)
        if settings.budget_usd is not None:
            return True
        return self.spend_more(batch_id, tr("Resume"), self._left(batch_id))

    def _left(self, batch_id: int) -> Estimate:
        """What the jobs of ``batch_id`` not made yet (pending, failed, cancelled) cost."""
        w = self.win
        left = w.store.job_ids(batch_id, (JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED))
        return controller.price_jobs(w.store, w.prices, batch_id, left)
