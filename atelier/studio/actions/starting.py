"""Starting a batch from the spreadsheet: the batch as the two first pages edit it, and Start
(plan and check, the question about the user's own files in the output folder, the spend
question, store, open and run). The pages are read on the GUI thread; planning and storing run
in worker threads on plain values (``atelier.engine.controller``)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from atelier.core.errors import AtelierError, InputError
from atelier.core.i18n import tr
from atelier.engine import controller
from atelier.sheet.plan import SheetBatch
from atelier.studio.actions.questions import KEEP, OVERWRITE
from atelier.studio.models.gallery import load_views
from atelier.studio.pages.batch_form import BatchForm
from atelier.studio.tasks import ask_outside_task

if TYPE_CHECKING:
    from atelier.studio.main_window import MainWindow


class StartActions(QObject):
    """Start for ``win``. The question about the user's files is ``win.ask_about_user_files``
    and the money one ``win.spending.confirm_spend`` (seams tests replace on the window);
    ``win._starting`` is set while a start is being prepared."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win

    def sheet_batch(self) -> SheetBatch | None:
        """The spreadsheet batch as edited (``None``: no table, no prompt yet, or variations
        that cannot be read, which the sheet page shows)."""
        sheet, batch = self.win.sheet, self.win.batch
        table = sheet.table
        if table is None or not sheet.prompt().strip():
            return None
        try:
            sheet.variations()
        except InputError:
            return None
        return SheetBatch(
            table,
            sheet.prompt(),
            sheet.filename_edit.text(),
            sheet.negative(),
            batch.defaults(),
            sheet.columns(),
            sheet.variations(),
            per=batch.per(),
            rows=sheet.planned_rows(),
        )

    def start(self) -> None:
        """Plan, check, store and start the batch in the editor. The pages are read here, on
        the GUI thread; planning and storing run in a worker thread on those plain values
        (seconds for 100,000 rows); errors reach the error funnel."""
        w = self.win
        if w._starting or (w.batch_id is not None and w.host.is_running(w.batch_id)):
            w.report_error(tr("A batch is already running: pause or cancel it first."), "warning")
            return
        try:
            args = self.sheet_batch()
            form = w.batch.form()
        except AtelierError as e:
            w.report_error(tr("Not started. {reason}").format(reason=e))
            return
        if args is None:
            w.report_error(
                tr(
                    "Open a spreadsheet (File → Open, or drop a CSV/Excel file on the window) "
                    "and write a prompt template first."
                )
            )
            return
        w._starting = True
        w._update_actions()
        w.statusBar().showMessage(tr("Preparing the batch…"))
        w.spawn(self._start(args, form))

    async def _start(self, args: SheetBatch, form: BatchForm) -> None:
        w, spending = self.win, self.win.spending
        try:
            # Worker threads, on plain values: no widget is read there.
            draft = await asyncio.to_thread(controller.sheet_draft, args, **form.run_args())
            mine = await asyncio.to_thread(controller.user_files, draft)
            # Questions are asked from Qt's loop, not inside this task (ask_outside_task).
            answer = await ask_outside_task(w.ask_about_user_files, w, mine) if mine else KEEP
            if answer is None:
                w.statusBar().showMessage(tr("Not started: the output folder was left alone."))
                return
            if answer == OVERWRITE:
                draft = replace(
                    draft, settings=draft.settings.model_copy(update={"overwrite": True})
                )
            est = await asyncio.to_thread(controller.price, draft, w.prices, w.store)
            yes = await ask_outside_task(
                spending.confirm_spend, tr("Start"), est, form.budget_usd, 0.0, form.qa_retry
            )
            if yes is None:
                w.statusBar().showMessage(tr("Not started: nothing was spent."))
                return
            draft = replace(
                draft, settings=draft.settings.model_copy(update={"budget_usd": yes.cap_usd})
            )
            stored = await asyncio.to_thread(controller.store_batch, w.store, draft, w.prices)
            # An identical earlier batch continues: the cap is on top of what it spent.
            spent = await asyncio.to_thread(
                spending.cap_on_top, stored.batch_id, yes, stored.resumed
            )
        except (AtelierError, ValueError) as e:
            w.report_error(tr("The batch was not started. {reason}").format(reason=e))
            return
        finally:
            w._starting = False
            w._update_actions()
        w.settings.last_template = w.sheet.template()
        with contextlib.suppress(OSError):
            w.settings.save()
        spending.expect(stored.batch_id, est, spent)
        # 10,000 rows read and turned into table rows and tiles off the GUI thread.
        loaded = await asyncio.to_thread(load_views, w.store, stored.batch_id)
        w.open_batch(stored.batch_id, loaded)
        spending.watch_prices(stored.batch_id)
        w.run_batch(stored.batch_id)
