"""The studio window: the menu, the toolbar, the banner and the engine bridge, and the pages
(``ui.pages``) wired together in ``_connect_signals``. Every step of a batch goes through
``app.controller`` (check, store, resume, retry); the window only reads its pages on the GUI
thread, hands plain values to worker threads, and shows what comes back. Failures go to one
error funnel (the banner)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QTabWidget, QVBoxLayout, QWidget

from app import controller
from app.batch import SheetBatch
from app.engine import Engine
from app.errors import AtelierError, InputError
from app.estimate import Estimate
from app.events import BatchFinished, ImageSaved
from app.i18n import tr
from app.models import RunSettings
from app.pricing import PriceTable
from app.providers.registry import capabilities_of
from app.runner import EngineThread
from app.service import default_provider
from app.settings import Settings
from app.spend import OverrunWatch, job_list_prices
from app.status import JobStatus
from app.store import BatchRow, Store
from ui.actions import build_actions
from ui.banner import Banner, startup_notices
from ui.batch_loader import BatchLoader
from ui.bridge import EngineBridge, JobUpdate
from ui.deliveries import DeliveryActions
from ui.fit import scrolling, window_size
from ui.gallery_model import Tile, load_views
from ui.library_box import connect_library
from ui.models import JobView
from ui.pages.batch import BatchPage
from ui.pages.batch_form import BatchForm
from ui.pages.gallery import GalleryPage
from ui.pages.history import HistoryPage
from ui.pages.progress import ProgressPage, failed_hint, finished_text
from ui.pages.settings import SettingsDialog
from ui.pages.sheet import SheetPage
from ui.pages.team import TeamLink, TeamPage
from ui.questions import KEEP, OVERWRITE, ask_about_user_files, ask_quit_running
from ui.review import ReviewActions
from ui.spend_dialog import SpendAnswer, SpendQuestion, ask_spend
from ui.tasks import TaskSet
from ui.team_lost import LostBatches
from ui.viewer import show_in_folder

SHEET, BATCH, PROGRESS, GALLERY, HISTORY, TEAM = range(6)

SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""A batch whose source has one of these was made from a spreadsheet (not a batch config)."""


def tab_titles() -> tuple[str, ...]:
    """The pages' tab titles in the language in force ("&&" is one ampersand in Qt)."""
    return (
        tr("1 · Spreadsheet && template"),
        tr("2 · Batch && estimate"),
        tr("3 · Progress"),
        tr("4 · Gallery"),
        tr("History"),
        tr("Team"),
    )


class MainWindow(QMainWindow):
    """Atelier's studio window.

    Signals:
        batch_done(int): a run of this batch id ended (for tests and the status bar).
        run_failed(str): a run ended with an unexpected error (carried from the engine thread).

    Attributes:
        sheet, batch, progress, gallery, history: the pages.
        batch_id: the batch shown in the progress table and gallery.
    """

    batch_done = Signal(int)
    run_failed = Signal(str)
    ask_about_user_files = staticmethod(ask_about_user_files)  # a seam for tests
    ask_spend = staticmethod(ask_spend)  # a seam for tests: (parent, SpendQuestion) → answer
    ask_quit_running = staticmethod(ask_quit_running)  # a seam for tests: (parent, name) → stop

    def __init__(
        self, store: Store, engine: Engine, settings: Settings, prices: PriceTable
    ) -> None:
        super().__init__()
        self.store, self.engine, self.settings, self.prices = store, engine, settings, prices
        self.batch_id: int | None = None
        self.tasks = TaskSet(self.report_error)
        self._starting = False
        self._quit_asked = False
        self._expected: dict[int, float | None] = {}
        """Batch id → what it is expected to have spent (USD) once the run the user last
        confirmed ends: the progress page shows spend against it."""
        self._overrun = OverrunWatch()
        self.setWindowTitle(tr("Atelier"))
        self.setAcceptDrops(True)
        self.resize(window_size(self.screen().availableGeometry().size()))
        self.bridge = EngineBridge(self)
        engine.events.subscribe(self.bridge)
        self.host = EngineThread(engine)
        self.acts = build_actions(
            self,
            {
                "open": self.open_dialog,
                "start": self.start_batch,
                "pause": self.toggle_pause,
                "cancel": self.cancel_batch,
                "retry_selected": lambda: self.review.retry_selected(
                    self.tabs.currentIndex() == GALLERY
                ),
                "retry_failed": lambda: self.review.retry_all_failed(),
                "retry_deliveries": lambda: self.deliveries.retry(),
                "settings": self.open_settings,
                "quit": self.request_quit,
            },
        )
        self.banner = Banner()
        self.sheet = SheetPage(settings.last_template, spawn=self.spawn)
        self.batch = BatchPage(prices, self.sheet_batch, self.spawn, store)
        self.progress = ProgressPage(
            [self.acts.retry_selected, self.acts.retry_failed, self.acts.retry_deliveries]
        )
        self.gallery = GalleryPage()
        self.history = HistoryPage()
        self.team = TeamPage()
        self.team_link = TeamLink(self.host, settings, self)
        self.lost_batches = LostBatches(
            self.host, store, self._run_again, self._offer_lost, self.report_error, self
        )
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for page, title in zip(self.pages(), tab_titles(), strict=True):
            self.tabs.addTab(scrolling(page), title)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(
            tr("Open a spreadsheet (File → Open, or drop it on the window) to begin.")
        )
        self._connect_signals()
        self.batch.select_provider(default_provider(settings))
        self.refresh_history()
        self._update_actions()
        startup_notices(
            self.banner, self.store, self.resume_batch, self.open_batch, self.reopen_sheet_of
        )

    def pages(self) -> tuple[QWidget, ...]:
        """The pages in tab order."""
        return (self.sheet, self.batch, self.progress, self.gallery, self.history, self.team)

    # ---- construction ------------------------------------------------------------------------
    def _connect_signals(self) -> None:
        """Every connection between the pages, the bridge and the window, in one place."""
        status = self.statusBar()
        self.sheet.imported.connect(self._imported)
        self.sheet.next_requested.connect(lambda: self.tabs.setCurrentIndex(BATCH))
        self.sheet.templates_changed.connect(self.batch.schedule_estimate)
        self.sheet.templates_changed.connect(lambda: self.batch.offer_per(self.sheet.table))
        self.sheet.rows_changed.connect(self.batch.schedule_estimate)
        self.sheet.import_failed.connect(
            lambda e: self.report_error(
                tr("Could not import the spreadsheet. {reason}").format(reason=e)
            )
        )
        self.batch.format_changed.connect(self.sheet.set_output_format)
        self.batch.provider_changed.connect(
            lambda name: self.sheet.form.set_provider(capabilities_of(name))
        )
        self.batch.start_requested.connect(self.start_batch)
        self.batch.failed.connect(self.report_error)
        self.batch.message.connect(lambda m: status.showMessage(m, 10_000))
        self.progress.open_image_requested.connect(lambda j: self.review.open_viewer(j))
        self.progress.show_folder_requested.connect(self._show_output_folder)
        self.gallery.retry_requested.connect(lambda: self.review.retry_selected(True))
        self.gallery.show_folder_requested.connect(self._show_output_folder)
        self.gallery.message.connect(lambda m: status.showMessage(m, 5000))
        self.history.open_requested.connect(self._open_from_history)
        self.history.resume_requested.connect(self.resume_batch)
        self.history.refresh_requested.connect(self.refresh_history)
        self.team_link.attach(self.team, self.tabs, TEAM)
        connect_library(self.sheet, self.batch, self.report_error, status)
        self.review = ReviewActions(self)
        self.deliveries = DeliveryActions(self)
        self.loader = BatchLoader(self)
        self.loader.loaded.connect(self._whole_batch_read)
        self.bridge.jobs_changed.connect(self._on_jobs_changed)
        self.bridge.images_saved.connect(self._on_images_saved)
        self.bridge.batch_finished.connect(self._on_batch_finished)
        self.bridge.state_changed.connect(
            lambda _b, _s: (self._update_actions(), self._refresh_counts())
        )
        self.bridge.lane_waiting.connect(self.progress.show_lane_wait)
        self.bridge.economy_waiting.connect(self.progress.show_economy_wait)
        self.run_failed.connect(
            lambda text: self.report_error(
                tr("The batch stopped unexpectedly: {reason}").format(reason=text)
            )
        )

    # ---- helpers -----------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
        """Run ``coro`` on the window's loop; failures reach the error funnel."""
        return self.tasks.spawn(coro)

    def report_error(self, message: str, level: str = "error") -> None:
        """The error funnel."""
        self.banner.show_message(message, level)
        self.statusBar().showMessage(message.split("\n")[0], 10_000)

    def sheet_batch(self) -> SheetBatch | None:
        """The spreadsheet batch as edited (``None``: no table, no prompt yet, or variations
        that cannot be read, which the sheet page shows)."""
        table = self.sheet.table
        if table is None or not self.sheet.prompt().strip():
            return None
        try:
            self.sheet.variations()
        except InputError:
            return None
        return SheetBatch(
            table,
            self.sheet.prompt(),
            self.sheet.filename_edit.text(),
            self.sheet.negative(),
            self.batch.defaults(),
            self.sheet.columns(),
            self.sheet.variations(),
            per=self.batch.per(),
            rows=self.sheet.planned_rows(),
        )

    def update_estimate(self) -> None:
        """The estimate now, on this thread (tests; the pages debounce their own)."""
        self.batch.update_estimate()

    # ---- spreadsheet -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """File → Open."""
        self.sheet.choose_file()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.load_spreadsheet(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    def load_spreadsheet(self, path: Path) -> bool:
        """Import ``path`` into the spreadsheet page; errors reach the banner."""
        return self.sheet.open_file(path)

    def _imported(self, path: Path) -> None:
        root = self.settings.output_root or Path(platformdirs.user_pictures_dir()) / "Atelier"
        self.batch.set_output_dir(Path(root) / path.stem, path)
        self.tabs.setCurrentIndex(SHEET)
        self.banner.hide()
        self.statusBar().showMessage(tr("Imported {path}").format(path=path), 5000)

    # ---- running -----------------------------------------------------------------------------
    def start_batch(self) -> None:
        """Plan, check, store and start the batch in the editor. The pages are read here, on
        the GUI thread; planning and storing run in a worker thread on those plain values
        (seconds for 100,000 rows); errors reach the error funnel."""
        if self._starting or (self.batch_id is not None and self.host.is_running(self.batch_id)):
            self.report_error(
                tr("A batch is already running: pause or cancel it first."), "warning"
            )
            return
        try:
            args = self.sheet_batch()
            form = self.batch.form()
        except AtelierError as e:
            self.report_error(tr("Not started. {reason}").format(reason=e))
            return
        if args is None:
            self.report_error(
                tr(
                    "Open a spreadsheet (File → Open, or drop a CSV/Excel file on the window) "
                    "and write a prompt template first."
                )
            )
            return
        self._starting = True
        self._update_actions()
        self.statusBar().showMessage(tr("Preparing the batch…"))
        self.spawn(self._start(args, form))

    async def _start(self, args: SheetBatch, form: BatchForm) -> None:
        try:
            # Worker threads, on plain values: no widget is read there.
            draft = await asyncio.to_thread(controller.sheet_draft, args, **form.run_args())
            mine = await asyncio.to_thread(controller.user_files, draft)
            answer = self.ask_about_user_files(self, mine) if mine else KEEP
            if answer is None:
                self.statusBar().showMessage(tr("Not started: the output folder was left alone."))
                return
            if answer == OVERWRITE:
                draft = replace(
                    draft, settings=draft.settings.model_copy(update={"overwrite": True})
                )
            est = await asyncio.to_thread(controller.price, draft, self.prices, self.store)
            yes = self.confirm_spend(tr("Start"), est, form.budget_usd)
            if yes is None:
                self.statusBar().showMessage(tr("Not started: nothing was spent."))
                return
            draft = replace(
                draft, settings=draft.settings.model_copy(update={"budget_usd": yes.cap_usd})
            )
            stored = await asyncio.to_thread(controller.store_batch, self.store, draft, self.prices)
            # An identical earlier batch continues: the cap is on top of what it spent.
            spent = await asyncio.to_thread(self._cap_on_top, stored.batch_id, yes, stored.resumed)
        except (AtelierError, ValueError) as e:
            self.report_error(tr("The batch was not started. {reason}").format(reason=e))
            return
        finally:
            self._starting = False
            self._update_actions()
        self.settings.last_template = self.sheet.template()
        with contextlib.suppress(OSError):
            self.settings.save()
        self._expect(stored.batch_id, est, spent)
        # 10,000 rows read and turned into table rows and tiles off the GUI thread.
        loaded = await asyncio.to_thread(load_views, self.store, stored.batch_id)
        self.open_batch(stored.batch_id, loaded)
        self.watch_prices(stored.batch_id)
        self.run_batch(stored.batch_id)

    # ---- spending ----------------------------------------------------------------------------
    def confirm_spend(
        self, action: str, est: Estimate, cap_usd: float | None = None, spent_usd: float = 0.0
    ) -> SpendAnswer | None:
        """The one gate of every window action that spends (Start, Regenerate, Make more,
        Retry, Resume, raising a cap). A run that pays nothing (the draft provider, every image
        reused) goes on without a question under ``cap_usd``; a paid one asks (``ask_spend``)
        with the amount (USD), images, providers and models and a spend cap for this run,
        ``cap_usd`` if the user set one, else the estimate and its margin. ``spent_usd``: what
        the batch spent before (shown). Returns the answer (its cap is USD for this run, on
        top of ``spent_usd``), or ``None`` when the user said no."""
        if est.is_free:
            return SpendAnswer(cap_usd)
        cap = cap_usd if cap_usd is not None else est.suggested_cap_usd
        return self.ask_spend(self, SpendQuestion(action, est, cap, spent_usd))

    def _cap_on_top(self, batch_id: int, yes: SpendAnswer, resumed: bool) -> float:
        """Any thread: what ``batch_id`` has spent (USD) before this run; a batch that
        continues gets the cap the user chose on top of it (the engine counts the batch's
        whole spend against its cap)."""
        if not resumed:
            return 0.0
        spent = self.store.known_spend_usd(batch_id)
        if yes.cap_usd is not None and spent:
            self._store_cap(batch_id, spent + yes.cap_usd)
        return spent

    def _store_cap(self, batch_id: int, cap_usd: float | None) -> None:
        """The batch's spend cap (USD) in the store and in its run in progress."""
        rs = RunSettings.model_validate(self.store.batch(batch_id).settings)
        rs = rs.model_copy(update={"budget_usd": cap_usd})
        self.store.update_batch_settings(batch_id, rs.model_dump(mode="json"))
        self.host.call(self.engine.set_budget, batch_id, cap_usd)

    def spend_more(self, batch_id: int, action: str, est: Estimate) -> bool:
        """Ask before more of ``batch_id`` is made (``est``: what it costs); on a yes the
        batch's cap grows by the cap chosen (from its running cap, or from what it has spent
        when it is not running; a running batch without a cap keeps none). Returns the yes."""
        spent = self.store.known_spend_usd(batch_id)
        yes = self.confirm_spend(action, est, spent_usd=spent)
        if yes is None:
            self.statusBar().showMessage(tr("Nothing was spent."), 5000)
            return False
        if est.is_free:
            return True
        running = self.host.is_running(batch_id)
        old = RunSettings.model_validate(self.store.batch(batch_id).settings).budget_usd
        if yes.cap_usd is None or (running and old is None):
            cap = None
        else:
            cap = (old if running and old is not None else spent) + yes.cap_usd
        self._store_cap(batch_id, cap)
        before = self._expected.get(batch_id) if running else None
        self._expect(batch_id, est, before if before is not None else spent)
        return True

    def _expect(self, batch_id: int, est: Estimate, spent_before: float) -> None:
        """The batch is expected to have spent ``spent_before`` + ``est`` (USD) after the run
        just confirmed; the progress page shows spend against it."""
        usd = est.to_pay_usd
        self._expected[batch_id] = None if usd is None else round(spent_before + usd, 6)
        if batch_id == self.batch_id:
            self._show_expected(batch_id)

    def _show_expected(self, batch_id: int) -> None:
        b = self.store.batch(batch_id)
        cap = RunSettings.model_validate(b.settings).budget_usd
        self.progress.set_estimate(self._expected.get(batch_id, b.estimated_cost), cap)

    def watch_prices(self, batch_id: int, job_ids: list[int] | None = None) -> None:
        """Learn the list price of these jobs (all: ``None``) off the GUI thread, so the cost
        of each answer is compared with it (``OverrunWatch``)."""

        async def learn() -> None:
            listed = await asyncio.to_thread(
                job_list_prices, self.store, self.prices, batch_id, job_ids
            )
            if batch_id == self.batch_id:
                self._overrun.add_prices(listed)

        self.spawn(learn())

    def raise_cap(self, batch_id: int) -> None:
        """The budget cap stopped ``batch_id``: ask for a new cap for what is left (the spend
        question, prefilled from its estimate and margin) and resume under it."""
        if self.host.is_running(batch_id):
            return
        left = self.store.job_ids(
            batch_id, (JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED)
        )
        est = controller.price_jobs(self.store, self.prices, batch_id, left)
        if not self.spend_more(batch_id, tr("Raise the cap and resume"), est):
            return
        self.resume_batch(batch_id, confirmed=True)

    def run_batch(
        self, batch_id: int, show_progress: bool = True, queue_url: str | None = None
    ) -> None:
        """Run a stored batch on the engine thread (showing the progress table); a new one
        goes on ``queue_url`` (``""``: runs here; default: as Settings → Team queue say)."""
        if show_progress:
            self.tabs.setCurrentIndex(PROGRESS)
        self.progress.clear_waits()
        self.statusBar().showMessage(tr("Batch #{id} running.").format(id=batch_id), 5000)
        self.host.queue_url = (
            self.team_link.queue_for_new_batches() if queue_url is None else queue_url
        )
        fut = self.host.run_batch(batch_id)
        # Called on the engine thread: a signal carries a crash of the run back to the GUI thread
        # (a team batch the queue lost is a question, not a crash).
        fut.add_done_callback(
            lambda f: (
                self.run_failed.emit(repr(f.exception()))
                if not f.cancelled()
                and f.exception() is not None
                and not self.lost_batches.caught(f.exception())
                else None
            )
        )
        QTimer.singleShot(0, self._update_actions)

    def _run_again(self, batch_id: int, queue_url: str) -> None:
        """A team batch the queue lost, taken back: on the queue again, or here (``""``)."""
        self.open_batch(batch_id)
        self.run_batch(batch_id, queue_url=queue_url)

    def _offer_lost(self, text: str, choices: list[tuple[str, Callable[[], object]]]) -> None:
        """The team queue lost a batch: the banner offers the choices, the Team page says it."""
        self.banner.show_message(text, "warning", choices)
        self.team.show_message(text, error=True)
        self._update_actions()  # the run has ended (paused)

    def resume_batch(self, batch_id: int, confirmed: bool = False) -> None:
        """Resume a stored batch (``controller.resume_batch`` says what that resets). A paid
        batch without a spend cap asks first (``spend_more``); one with a cap goes on under
        the cap the user agreed to (``confirmed``: the question was just asked)."""
        if self.host.is_running(batch_id):
            return
        settings = RunSettings.model_validate(self.store.batch(batch_id).settings)
        if not confirmed and settings.budget_usd is None:
            left = self.store.job_ids(
                batch_id, (JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED)
            )
            est = controller.price_jobs(self.store, self.prices, batch_id, left)
            if not self.spend_more(batch_id, tr("Resume"), est):
                return
        controller.resume_batch(self.store, batch_id)
        self.open_batch(batch_id)
        self.watch_prices(batch_id)
        self.run_batch(batch_id)

    def reopen_sheet_of(self, b: BatchRow) -> None:
        """An interrupted batch offered at start: its spreadsheet opens again (the template is
        the one last used) and its output folder is the batch page's, so Start continues it."""
        source = Path(b.source) if b.source else None
        if source is None or source.suffix.lower() not in SHEET_SUFFIXES or not source.is_file():
            return
        if self.load_spreadsheet(source):
            self.batch.output_edit.setText(str(b.output_dir))

    def open_batch(
        self,
        batch_id: int,
        loaded: tuple[list[JobView], list[Tile]] | None = None,
        in_steps: bool = False,
    ) -> None:
        """Show a stored batch in the progress table and the gallery (``loaded``: its rows and
        tiles, already made off the GUI thread by ``load_views``; ``in_steps``: a big batch
        that is not running shows its first screen at once, the rest when read)."""
        if batch_id != self.batch_id:
            self._overrun = OverrunWatch()
        self.batch_id = batch_id
        b = self.store.batch(batch_id)
        if loaded is None and in_steps and not self.host.is_running(batch_id):
            loaded = self.loader.first(self.store, batch_id)
        rows, tiles = loaded or load_views(self.store, batch_id)
        self.progress.set_jobs(rows)
        self.gallery.set_tiles(tiles)
        self.deliveries.show_batch(batch_id)
        # The rows and tiles of the batch on screen live until another is opened: keep the
        # garbage collector's full passes (which hold the GIL) from walking them again and again.
        gc.freeze()
        self.setWindowTitle(tr("Atelier — batch #{id} {name}").format(id=b.id, name=b.name))
        self._show_expected(batch_id)
        self._refresh_counts()
        self._update_actions()

    def _whole_batch_read(self, batch_id: int, views: tuple[list[JobView], list[Tile]]) -> None:
        if batch_id == self.batch_id:  # still the batch on screen: the rest of it, in place
            self.progress.set_jobs(views[0])
            self.gallery.replace_tiles(views[1])

    def _running(self) -> bool:
        return self.batch_id is not None and self.host.is_running(self.batch_id)

    def _paused(self) -> bool:
        """Whether the run on screen is paused, as its engine knows it (the store still says
        "paused" for a resumed batch until its run has started)."""
        return self._running() and self.batch_id is not None and self.engine.paused(self.batch_id)

    def toggle_pause(self) -> None:
        if self.batch_id is None or not self._running():
            return
        paused = self._paused()
        self.host.call(self.engine.resume if paused else self.engine.pause, self.batch_id)
        self._update_actions()

    def cancel_batch(self) -> None:
        if self.batch_id is not None:
            self.host.call(self.engine.cancel, self.batch_id)

    # ---- engine events -----------------------------------------------------------------------
    def _on_jobs_changed(self, updates: dict[int, JobUpdate]) -> None:
        self._check_overrun(updates)
        self.progress.apply(updates)
        self.gallery.apply(updates)
        self._refresh_counts()

    def _check_overrun(self, updates: dict[int, JobUpdate]) -> None:
        """Compare what each job that just finished paid with its list price; the first time
        the run costs more than its estimate's margin allows, say so with the figures."""
        model = self.progress.jobs_model
        for jid, u in updates.items():
            ev = u.change
            if ev is None or ev.status != JobStatus.COMPLETED or ev.cost is None:
                continue
            before = model.cost_of(jid) or 0.0
            over = self._overrun.finished(jid, ev.cost - before)
            if over is not None:
                self.progress.show_overrun(over.text())
                self.banner.show_message(over.text(), "warning")

    def _on_images_saved(self, images: list[ImageSaved]) -> None:
        self.gallery.add_images(images, self.batch_id, self.progress.jobs_model.prompt_of)

    def _on_batch_finished(self, ev: BatchFinished) -> None:
        r = ev.report
        # The views already hold the final state (every change arrived as an event); reloading
        # 10,000 jobs and images here stalled the window for most of a second.
        self._refresh_counts()
        msg = finished_text(ev)
        if ev.capped:  # first: nothing more runs until the cap is raised
            self.banner.show_message(
                msg, "warning", [(tr("Raise the cap…"), lambda: self.raise_cap(ev.batch_id))]
            )
        elif r.failed:
            self.banner.show_message(
                f"{msg} {failed_hint()}",
                "warning",
                [
                    (tr("Show failed"), self.progress.show_failed),
                    (tr("Retry all failed"), self.review.retry_all_failed),
                ],
            )
        elif ev.reason:
            self.banner.show_message(
                msg, "warning", [(tr("Resume"), lambda: self.resume_batch(ev.batch_id))]
            )
        self.statusBar().showMessage(msg, 15_000)
        self.progress.clear_waits()
        self.refresh_history()
        self._update_actions()
        self.batch_done.emit(ev.batch_id)

    def _refresh_counts(self) -> None:
        self.progress.refresh_counts("paused" if self._paused() else None)

    def _update_actions(self) -> None:
        running = self._running()
        paused = self._paused()
        can_start = not running and not self._starting
        self.acts.start.setEnabled(can_start)
        self.batch.set_can_start(can_start)
        self.acts.pause.setEnabled(running)
        self.acts.pause.setText(tr("Resume") if paused else tr("Pause"))
        self.acts.cancel.setEnabled(running)
        for act in (self.acts.retry_selected, self.acts.retry_failed, self.acts.retry_deliveries):
            act.setEnabled(self.batch_id is not None)

    # ---- gallery, history, settings ----------------------------------------------------------
    def show_folder(self, folder: Path) -> None:
        """Show every image under ``folder`` in the gallery."""
        self.gallery.show_folder(folder)
        self.tabs.setCurrentIndex(GALLERY)

    def _show_output_folder(self) -> None:
        if self.batch_id is not None:
            show_in_folder(self.store.batch(self.batch_id).output_dir)

    def refresh_history(self) -> None:
        self.history.set_batches(self.store.batches())

    def _open_from_history(self, batch_id: int) -> None:
        self.open_batch(batch_id, in_steps=True)
        self.tabs.setCurrentIndex(GALLERY)

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.settings, self)
        dlg.accepted.connect(lambda: self.batch.select_provider(self.batch.current_provider()))
        dlg.open()
        return dlg

    def request_quit(self) -> None:
        """File → Quit: close the window as the user asked (``closeEvent`` asks first when a
        batch runs)."""
        self._quit_asked = True
        try:
            self.close()
        finally:
            self._quit_asked = False

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop running batches so they can be resumed at the next start. When the user quits
        (the window's close button, File → Quit) while a batch runs, ask first: stop and
        resume later, or keep waiting (the window stays)."""
        by_user = event.spontaneous() or self._quit_asked
        if by_user and self._running() and self.batch_id is not None:
            name = self.store.batch(self.batch_id).name
            if not self.ask_quit_running(self, name):
                event.ignore()
                return
        self.batch.stop()
        self.tasks.cancel_all()
        self.gallery.stop()
        self.host.stop()  # running batches stop resumable: offered again at the next start
        if self.bridge in self.engine.events.subscribers:
            self.engine.events.subscribers.remove(self.bridge)
        super().closeEvent(event)
