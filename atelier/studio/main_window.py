"""The studio window: the menu, the toolbar, the banner and the engine bridge, and the pages
(``atelier.studio.pages``) wired together in ``_connect_signals``. Every step of a batch goes through
``atelier.engine.controller`` (check, store, resume, retry); the window only reads its pages on the GUI
thread, hands plain values to worker threads, writes the store only through store ops off the
GUI thread (``self.ops``, ``atelier.studio.tasks.StoreOps``), and shows what comes back.
Failures go to one error funnel (the banner)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QTabWidget, QVBoxLayout, QWidget

from atelier.core.events import BatchFinished, ImageSaved
from atelier.core.i18n import tr
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.runner import EngineThread
from atelier.engine.service import default_provider
from atelier.pricing.spend import OverrunWatch
from atelier.pricing.table import PriceTable
from atelier.providers.registry import capabilities_of
from atelier.sheet.plan import SheetBatch
from atelier.store import Store
from atelier.studio.actions.channels import ChannelActions
from atelier.studio.actions.deliveries import DeliveryActions
from atelier.studio.actions.interrupted import InterruptedBatches
from atelier.studio.actions.library import connect_library
from atelier.studio.actions.menus import build_actions
from atelier.studio.actions.review import ReviewActions
from atelier.studio.actions.spending import Agreed, SpendActions
from atelier.studio.actions.starting import StartActions
from atelier.studio.batch_loader import BatchLoader
from atelier.studio.bridge import EngineBridge, JobUpdate
from atelier.studio.look.fit import scrolling, window_size
from atelier.studio.models import JobView
from atelier.studio.models.gallery import Tile, load_views
from atelier.studio.pages.batch import BatchPage
from atelier.studio.pages.gallery import GalleryPage
from atelier.studio.pages.history import HistoryPage
from atelier.studio.pages.progress import ProgressPage, failed_hint, finished_text
from atelier.studio.pages.settings import SettingsDialog
from atelier.studio.pages.sheet import SheetPage
from atelier.studio.pages.team import TeamLink, TeamPage
from atelier.studio.tasks import StoreOps, TaskSet
from atelier.studio.widgets.banner import Banner
from atelier.studio.widgets.questions import ask_about_user_files, ask_quit_running
from atelier.studio.widgets.spend_dialog import ask_spend
from atelier.studio.widgets.viewer import show_in_folder
from atelier.team.control import on_queue

SHEET, BATCH, PROGRESS, GALLERY, HISTORY, TEAM = range(6)


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
        starting, spending, review, deliveries, interrupted: what the window does, each in its
            own module (``atelier.studio.actions.starting``, ``atelier.studio.actions.spending``, ``atelier.studio.actions.review``, ``atelier.studio.actions.deliveries``,
            ``atelier.studio.actions.interrupted``).
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
        self.ops = StoreOps(self.tasks)
        self._quit_asked = False
        self.spending = SpendActions(self)
        self.starting = StartActions(self)
        self.setWindowTitle(tr("Atelier"))
        self.setAcceptDrops(True)
        self.resize(window_size(self.screen().availableGeometry().size()))
        self.bridge = EngineBridge(self)
        engine.events.subscribe(self.bridge)
        self.host = EngineThread(engine, elsewhere=on_queue)
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
        self._build_pages()
        self.interrupted = InterruptedBatches(self)
        self.lost_batches = self.interrupted.lost
        self.statusBar().showMessage(
            tr("Open a spreadsheet (File → Open, or drop it on the window) to begin.")
        )
        self._connect_signals()
        self.batch.select_provider(default_provider(settings))
        self.refresh_history()
        self.update_actions()
        self.interrupted.offer_at_start()

    def pages(self) -> tuple[QWidget, ...]:
        """The pages in tab order."""
        return (self.sheet, self.batch, self.progress, self.gallery, self.history, self.team)

    # ---- construction ------------------------------------------------------------------------
    def _build_pages(self) -> None:
        """The banner and the pages in their tabs, the window's central widget."""
        self.banner = Banner()
        self.sheet = SheetPage(self.settings.last_template, spawn=self.spawn)
        self.batch = BatchPage(self.prices, self.sheet_batch, self.spawn, self.store)
        self.progress = ProgressPage(
            [self.acts.retry_selected, self.acts.retry_failed, self.acts.retry_deliveries]
        )
        self.gallery = GalleryPage()
        self.history = HistoryPage()
        self.team = TeamPage()
        self.team_link = TeamLink(self.host, self.settings, self)
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
        self.channels = ChannelActions(self)
        self.bridge.deliveries_changed.connect(self.deliveries.apply)
        self.loader = BatchLoader(self)
        self.loader.loaded.connect(self._whole_batch_read)
        self.bridge.jobs_changed.connect(self._on_jobs_changed)
        self.bridge.images_saved.connect(self._on_images_saved)
        self.bridge.batch_finished.connect(self._on_batch_finished)
        self.bridge.state_changed.connect(
            lambda _b, _s: (self.update_actions(), self._refresh_counts())
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
        """The spreadsheet batch as edited (``StartActions.sheet_batch``)."""
        return self.starting.sheet_batch()

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

    def load_spreadsheet(self, path: Path) -> asyncio.Future[Any] | None:
        """Import ``path`` into the spreadsheet page, off the GUI thread; errors reach the
        banner. Returns the import's task (its result: whether ``path`` was imported)."""
        return self.sheet.open_file(path)

    def _imported(self, path: Path) -> None:
        root = self.settings.output_root or Path(platformdirs.user_pictures_dir()) / "Atelier"
        self.batch.set_output_dir(Path(root) / path.stem, path)
        self.tabs.setCurrentIndex(SHEET)
        self.banner.hide()
        self.statusBar().showMessage(tr("Imported {path}").format(path=path), 5000)

    # ---- running -----------------------------------------------------------------------------
    def start_batch(self) -> None:
        """Plan, check, store and start the batch in the editor (``StartActions.start``)."""
        self.starting.start()

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
        QTimer.singleShot(0, self.update_actions)

    def resume_batch(
        self, batch_id: int, agreed: Agreed | None = None
    ) -> asyncio.Future[Any] | None:
        """Resume a stored batch (``InterruptedBatches.resume``; ``agreed``: the spend
        question was just answered). Returns the store op (``None``: nothing to do)."""
        return self.interrupted.resume(batch_id, agreed)

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
            self.spending.overrun = OverrunWatch()
        self.batch_id = batch_id
        b = self.store.batch(batch_id)
        if loaded is None and in_steps and not self.host.is_running(batch_id):
            loaded = self.loader.first(self.store, batch_id)
        rows, tiles = loaded or load_views(self.store, batch_id)
        self.progress.set_jobs(rows)
        self.gallery.set_tiles(tiles)
        self.deliveries.show_batch(batch_id)
        self.channels.show_batch(batch_id)
        # The rows and tiles of the batch on screen live until another is opened: keep the
        # garbage collector's full passes (which hold the GIL) from walking them again and again.
        gc.freeze()
        self.setWindowTitle(tr("Atelier — batch #{id} {name}").format(id=b.id, name=b.name))
        self.spending.show_expected(batch_id)
        self._refresh_counts()
        self.update_actions()

    def _whole_batch_read(self, batch_id: int, views: tuple[list[JobView], list[Tile]]) -> None:
        if batch_id == self.batch_id:  # still the batch on screen: the rest of it, in place
            self.progress.set_jobs(views[0])
            self.gallery.replace_tiles(views[1])

    @property
    def _starting(self) -> bool:
        """A start is being prepared (``StartActions.busy``)."""
        return self.starting.busy

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
        self.update_actions()

    def cancel_batch(self) -> None:
        if self.batch_id is not None:
            self.host.call(self.engine.cancel, self.batch_id)

    # ---- engine events -----------------------------------------------------------------------
    def _on_jobs_changed(self, updates: dict[int, JobUpdate]) -> None:
        self.spending.check_overrun(updates)
        self.progress.apply(updates)
        self.gallery.apply(updates)
        self._refresh_counts()

    def _on_images_saved(self, images: list[ImageSaved]) -> None:
        self.gallery.add_images(images, self.batch_id, self.progress.jobs_model.prompt_of)
        self.progress.jobs_model.update_qa(ev for ev in images if ev.batch_id == self.batch_id)
        self.channels.images_saved(images)

    def _on_batch_finished(self, ev: BatchFinished) -> None:
        r = ev.report
        # The views already hold the final state (every change arrived as an event); reloading
        # 10,000 jobs and images here stalled the window for most of a second.
        self._refresh_counts()
        msg = finished_text(ev)
        if ev.capped:  # first: nothing more runs until the cap is raised
            self.banner.show_message(
                msg,
                "warning",
                [(tr("Raise the cap…"), lambda: self.spending.raise_cap(ev.batch_id))],
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
        self.channels.batch_finished(ev.batch_id)
        self.refresh_history()
        self.update_actions()
        self.batch_done.emit(ev.batch_id)

    def _refresh_counts(self) -> None:
        self.progress.refresh_counts("paused" if self._paused() else None)

    def update_actions(self) -> None:
        """Enable the toolbar's actions as the run on screen allows."""
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
        dlg = SettingsDialog(self.settings, self, self.prices)
        for changed in (dlg.accepted, dlg.prices_imported):
            changed.connect(lambda: self.batch.select_provider(self.batch.current_provider()))
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
        self.ops.close()  # the write in progress ends before the store closes
        self.gallery.stop()
        self.host.stop()  # running batches stop resumable: offered again at the next start
        if self.bridge in self.engine.events.subscribers:
            self.engine.events.subscribers.remove(self.bridge)
        self.bridge.stop()
        super().closeEvent(event)
