"""Starting a batch from the spreadsheet: the batch as the two first pages edit it, and Start
(plan and check, the question about the user's own files in the output folder, the spend
question, store, open and run). The pages are read on the GUI thread; planning and storing run
in worker threads on plain values (``atelier.engine.controller``)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from atelier.core.errors import AtelierError, InputError
from atelier.core.i18n import tr
from atelier.core.settings import Settings
from atelier.engine import controller
from atelier.sheet.plan import SheetBatch
from atelier.studio.actions.shell import Runs, Shell
from atelier.studio.actions.spending import SpendActions
from atelier.studio.models import JobView
from atelier.studio.models.gallery import Tile, load_views
from atelier.studio.pages.batch import BatchPage
from atelier.studio.pages.batch_form import BatchForm
from atelier.studio.pages.sheet import SheetPage
from atelier.studio.tasks import ask_outside_task
from atelier.studio.widgets.questions import KEEP, OVERWRITE


class StartWindow(Shell, Runs, Protocol):
    """What Start uses of the window besides the ``Shell``: the two first pages (read on the
    GUI thread), the settings (the template kept for the next start), spending, and the
    question about the user's files."""

    settings: Settings
    sheet: SheetPage
    batch: BatchPage
    spending: SpendActions

    def ask_about_user_files(self, parent: QWidget, paths: list[str]) -> str | None:
        """The question about the user's own files in the output folder (a seam for tests)."""
        ...

    def open_batch(
        self, batch_id: int, loaded: tuple[list[JobView], list[Tile]] | None = None
    ) -> None:
        """Show ``batch_id`` (``loaded``: its rows and tiles, read off the GUI thread)."""
        ...


class StartActions(QObject):
    """Start for ``win``. The question about the user's files is ``win.ask_about_user_files``
    and the money one ``win.spending.confirm_spend`` (seams tests replace on the window).

    Attributes:
        busy: a start is being prepared (planned, asked, stored).
    """

    def __init__(self, win: StartWindow) -> None:
        super().__init__(win.window())
        self.win = win
        self.busy = False

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
        if self.busy or (w.batch_id is not None and w.host.is_running(w.batch_id)):
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
        self.busy = True
        w.update_actions()
        w.statusBar().showMessage(tr("Preparing the batch…"))
        w.spawn(self._start(args, form))

    async def _start(self, args: SheetBatch, form: BatchForm) -> None:
        w, spending = self.win, self.win.spending
        try:
            # Worker threads, on plain values: no widget is read there.
            draft = await asyncio.to_thread(controller.plan_sheet_batch, args, **form.run_args())
            mine = await asyncio.to_thread(controller.user_files, draft)
            # Questions are asked from Qt's loop, not inside this task (ask_outside_task).
            answer = (
                await ask_outside_task(w.ask_about_user_files, w.window(), mine) if mine else KEEP
            )
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
            # Written on the store-op thread (``StoreOps``), as every write of the window.
            stored = await w.ops.call(controller.store_batch, w.store, draft, est)
            # An identical earlier batch continues: the cap is on top of what it spent.
            spent = await w.ops.call(spending.cap_on_top, stored.batch_id, yes, stored.resumed)
        except (AtelierError, ValueError) as e:
            w.report_error(tr("The batch was not started. {reason}").format(reason=e))
            return
        finally:
            self.busy = False
            w.update_actions()
        w.settings.last_template = w.sheet.template()
        with contextlib.suppress(OSError):
            w.settings.save()
        spending.expect(stored.batch_id, est, spent)
        # 10,000 rows read and turned into table rows and tiles off the GUI thread.
        loaded = await asyncio.to_thread(load_views, w.store, stored.batch_id)
        w.open_batch(stored.batch_id, loaded)
        spending.watch_prices(stored.batch_id)
        w.run_batch(stored.batch_id)
