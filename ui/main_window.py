"""The studio window: spreadsheet + templates, batch settings + estimate, progress, gallery,
history. Every action calls into ``app`` (planning, pricing, store, engine); failures go to
one error funnel (the banner at the top)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.batch import (
    Plan,
    RowColumns,
    SheetBatch,
    check_plan,
    check_templates,
    estimate,
    preview_row,
)
from app.engine import Engine
from app.errors import AtelierError, InputError
from app.events import BatchFinished, ImageSaved
from app.models import JobDefaults, RunSettings
from app.pricing import Estimate, PriceTable
from app.providers.comfyui import find_targets, load_workflow
from app.providers.registry import PROVIDERS, capabilities_of
from app.runner import EngineThread
from app.secrets import keyring_status
from app.service import default_provider, prepare_batch
from app.settings import Settings
from app.store import Store
from app.tabular import CANDIDATE_ENCODINGS, Table, read_table, shopify_fill_down
from ui.bridge import EngineBridge
from ui.dialogs import ImageViewer, SettingsDialog, show_in_folder
from ui.models import (
    GalleryModel,
    HistoryModel,
    JobIdRole,
    JobsModel,
    JobView,
    PathRole,
    SortRole,
    SpreadsheetModel,
    StatusFilterProxy,
    Tile,
)
from ui.thumbnails import ThumbnailLoader
from ui.views import GalleryView, JobsTableView

STATUS_FILTERS = [
    ("All", set()),
    ("Done", {"completed"}),
    ("Failed", {"failed"}),
    ("Running", {"running", "waiting"}),
    ("Pending", {"pending"}),
    ("Cancelled", {"cancelled"}),
]
SPREADSHEET_FILTER = "Spreadsheets (*.csv *.tsv *.txt *.xlsx *.xlsm);;All files (*)"


class Banner(QFrame):
    """The error funnel: one strip at the top for errors, warnings and offers (with buttons)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.hide)
        lay.addWidget(self.close_button)
        self.hide()

    def show_message(
        self, text: str, level: str = "error", actions: list[tuple[str, Any]] | None = None
    ) -> None:
        colors = {
            "error": ("#fce8e6", "#b3261e"),
            "warning": ("#fef7e0", "#8a5a00"),
            "info": ("#e8f0fe", "#174ea6"),
        }
        bg, fg = colors.get(level, colors["info"])
        self.setStyleSheet(
            f"#banner {{ background: {bg}; border-radius: 6px; }} #banner QLabel {{ color: {fg}; }}"
        )
        self.label.setText(text)
        self.level = level
        for b in self.buttons:
            b.deleteLater()
        self.buttons = []
        for label, fn in actions or []:
            b = QPushButton(label)
            b.clicked.connect(fn)
            b.clicked.connect(self.hide)
            self.layout().insertWidget(self.layout().count() - 1, b)  # type: ignore[union-attr]
            self.buttons.append(b)
        self.show()


class MainWindow(QMainWindow):
    """Atelier's studio window.

    Signals:
        batch_done(int): a run of this batch id ended (for tests and the status bar).
    """

    batch_done = Signal(int)
    run_failed = Signal(str)

    def __init__(
        self, store: Store, engine: Engine, settings: Settings, prices: PriceTable
    ) -> None:
        super().__init__()
        self.store, self.engine, self.settings, self.prices = store, engine, settings, prices
        self.table: Table | None = None
        self.batch_id: int | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._starting = False
        self.setWindowTitle("Atelier")
        self.setAcceptDrops(True)
        self.resize(1400, 880)

        self.bridge = EngineBridge(self)
        engine.events.subscribe(self.bridge)
        self.host = EngineThread(engine)
        self.run_failed.connect(
            lambda text: self.report_error(f"The batch stopped unexpectedly: {text}")
        )
        self.thumbs = ThumbnailLoader(self)

        self._build_actions()
        self.banner = Banner()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_spreadsheet_tab(), "1 · Spreadsheet && template")
        self.tabs.addTab(self._build_batch_tab(), "2 · Batch && estimate")
        self.tabs.addTab(self._build_progress_tab(), "3 · Progress")
        self.tabs.addTab(self._build_gallery_tab(), "4 · Gallery")
        self.tabs.addTab(self._build_history_tab(), "History")
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(
            "Open a spreadsheet (File → Open, or drop it on the window) to begin."
        )

        self.bridge.jobs_changed.connect(self._on_jobs_changed)
        self.bridge.images_saved.connect(self._on_images_saved)
        self.bridge.batch_finished.connect(self._on_batch_finished)
        self.bridge.state_changed.connect(
            lambda _b, s: (self._update_actions(), self._refresh_counts())
        )
        self.bridge.lane_waiting.connect(
            lambda p, s: self.lane_label.setText(f"{p}: rate limited, all requests wait {s:.1f} s")
        )
        self.thumbs.loaded.connect(self.gallery_model.set_thumbnail)

        self._estimate_timer = QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(250)
        self._estimate_generation = 0
        self._estimate_timer.timeout.connect(lambda: self.spawn(self._estimate_in_thread()))

        self._populate_providers()
        self.refresh_history()
        self._update_actions()
        self._startup_checks()

    # ---- construction ------------------------------------------------------------------------
    def _build_actions(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(tb)

        def act(text: str, slot: Any, shortcut: QKeySequence | str | None = None) -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcut(shortcut)
            tb.addAction(a)
            return a

        self.act_open = act("Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        tb.addSeparator()
        self.act_start = act("Start", self.start_batch, "Ctrl+Return")
        self.act_pause = act("Pause", self.toggle_pause)
        self.act_cancel = act("Cancel", self.cancel_batch)
        tb.addSeparator()
        self.act_retry_selected = act("Retry selected", self.retry_selected)
        self.act_retry_failed = act("Retry all failed", self.retry_all_failed)
        tb.addSeparator()
        self.act_settings = act(
            "Settings", self.open_settings, QKeySequence.StandardKey.Preferences
        )
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_settings)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        batch_menu = self.menuBar().addMenu("&Batch")
        for a in (
            self.act_start,
            self.act_pause,
            self.act_cancel,
            self.act_retry_selected,
            self.act_retry_failed,
        ):
            batch_menu.addAction(a)

    def _build_spreadsheet_tab(self) -> QWidget:
        w = QWidget()
        outer = QVBoxLayout(w)
        bar = QHBoxLayout()
        open_button = QPushButton("Open spreadsheet…")
        open_button.clicked.connect(self.open_dialog)
        bar.addWidget(open_button)
        self.file_label = QLabel(
            "No spreadsheet yet — CSV (any encoding) or Excel .xlsx; you can also drop a file here."
        )
        bar.addWidget(self.file_label, 1)
        bar.addWidget(QLabel("Encoding"))
        self.encoding_combo = QComboBox()
        self.encoding_combo.addItem("Auto-detect", None)
        for enc in CANDIDATE_ENCODINGS:
            self.encoding_combo.addItem(enc.replace("_", "-").upper(), enc)
        self.encoding_combo.activated.connect(self._reload)
        bar.addWidget(self.encoding_combo)
        bar.addWidget(QLabel("Delimiter"))
        self.delimiter_combo = QComboBox()
        for label, d in (("Auto", None), ("Comma", ","), ("Semicolon", ";"), ("Tab", "\t")):
            self.delimiter_combo.addItem(label, d)
        self.delimiter_combo.activated.connect(self._reload)
        bar.addWidget(self.delimiter_combo)
        self.fill_down = QCheckBox("Fill Shopify variant rows")
        self.fill_down.setToolTip(
            "Shopify exports write Title, Vendor… only on a product's first row; "
            "copy them to its variant rows."
        )
        self.fill_down.setChecked(True)
        self.fill_down.toggled.connect(self._reload)
        bar.addWidget(self.fill_down)
        outer.addLayout(bar)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet("color: #8a5a00")
        outer.addWidget(self.notes_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.sheet_model = SpreadsheetModel(self)
        self.sheet_view = QTableView()
        self.sheet_view.setObjectName("sheet_view")
        self.sheet_view.setModel(self.sheet_model)
        self.sheet_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sheet_view.verticalHeader().setDefaultSectionSize(24)
        self.sheet_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.sheet_view.horizontalHeader().setDefaultSectionSize(140)
        self.sheet_view.setWordWrap(False)
        self.sheet_view.selectionModel().currentRowChanged.connect(lambda *_: self.update_preview())
        split.addWidget(self.sheet_view)

        panel = QWidget()
        pl = QVBoxLayout(panel)
        pl.setContentsMargins(8, 0, 0, 0)
        tpl_box = QGroupBox("Template — write {column name} to use a column")
        form = QFormLayout(tpl_box)
        self.insert_combo = QComboBox()
        self.insert_combo.setPlaceholderText("Insert a column into the prompt…")
        self.insert_combo.activated.connect(self._insert_column)
        form.addRow("Columns", self.insert_combo)
        self.prompt_edit = QPlainTextEdit(self.settings.last_template.get("prompt", ""))
        self.prompt_edit.setObjectName("prompt_edit")
        self.prompt_edit.setPlaceholderText(
            "Studio product photo of {Title} in {Option1 Value}, soft daylight"
        )
        self.prompt_edit.setMaximumHeight(110)
        form.addRow("Prompt", self.prompt_edit)
        self.negative_edit = QLineEdit(self.settings.last_template.get("negative", ""))
        self.negative_edit.setPlaceholderText("optional: text, watermark, blurry")
        form.addRow("Negative prompt", self.negative_edit)
        self.filename_edit = QLineEdit(self.settings.last_template.get("filename", ""))
        self.filename_edit.setObjectName("filename_edit")
        self.filename_edit.setPlaceholderText(
            "{Variant SKU}  (extension added from the output format)"
        )
        form.addRow("File name", self.filename_edit)
        self.reference_combo = QComboBox()
        self.reference_combo.setObjectName("reference_combo")
        self.reference_combo.setToolTip(
            "A column with the path of an image to edit (relative to the spreadsheet)"
        )
        self.provider_col_combo = QComboBox()
        self.provider_col_combo.setObjectName("provider_col_combo")
        self.provider_col_combo.setToolTip(
            "A column naming each row's provider (blank cells: the batch's)"
        )
        for combo in (self.reference_combo, self.provider_col_combo):
            combo.addItem("(none)", None)
            combo.currentIndexChanged.connect(self._templates_changed)
        form.addRow("Reference image", self.reference_combo)
        form.addRow("Provider per row", self.provider_col_combo)
        pl.addWidget(tpl_box)
        self.problems_label = QLabel("")
        self.problems_label.setObjectName("problems_label")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet("color: #b3261e")
        pl.addWidget(self.problems_label)
        prev = QGroupBox("Preview of the selected row")
        vl = QVBoxLayout(prev)
        self.preview_prompt = QLabel("—")
        self.preview_prompt.setObjectName("preview_prompt")
        self.preview_prompt.setWordWrap(True)
        self.preview_prompt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_prompt.setStyleSheet("font-size: 14px")
        self.preview_negative = QLabel("")
        self.preview_negative.setWordWrap(True)
        self.preview_negative.setStyleSheet("color: #5f6368")
        self.preview_file = QLabel("")
        self.preview_file.setObjectName("preview_file")
        self.preview_file.setStyleSheet("font-family: monospace")
        self.preview_empty = QLabel("")
        self.preview_empty.setWordWrap(True)
        self.preview_empty.setStyleSheet("color: #8a5a00")
        for lab in (
            self.preview_prompt,
            self.preview_negative,
            self.preview_file,
            self.preview_empty,
        ):
            vl.addWidget(lab)
        pl.addWidget(prev)
        next_button = QPushButton("Next: batch settings and estimate →")
        next_button.clicked.connect(lambda: self.tabs.setCurrentIndex(1))
        pl.addWidget(next_button)
        pl.addStretch(1)
        split.addWidget(panel)
        split.setSizes([850, 500])
        outer.addWidget(split, 1)
        for edit in (self.negative_edit, self.filename_edit):
            edit.textChanged.connect(self._templates_changed)
        self.prompt_edit.textChanged.connect(self._templates_changed)
        return w

    def _build_batch_tab(self) -> QWidget:
        w = QWidget()
        outer = QHBoxLayout(w)
        box = QGroupBox("Settings for this batch")
        form = QFormLayout(box)
        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("provider_combo")
        self.provider_combo.currentIndexChanged.connect(self._provider_changed)
        form.addRow("Provider", self.provider_combo)
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("model_combo")
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        form.addRow("Model", self.model_combo)
        self.model_note = QLabel("")
        self.model_note.setStyleSheet("color: #8a5a00")
        form.addRow("", self.model_note)
        self.size_combo = QComboBox()
        self.size_combo.setObjectName("size_combo")
        self.size_combo.currentTextChanged.connect(self._schedule_estimate)
        form.addRow("Size", self.size_combo)
        self.quality_combo = QComboBox()
        self.quality_combo.setObjectName("quality_combo")
        self.quality_combo.currentTextChanged.connect(self._schedule_estimate)
        form.addRow("Quality", self.quality_combo)
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("format_combo")
        self.format_combo.currentTextChanged.connect(self._format_changed)
        form.addRow("Output format", self.format_combo)
        self.transparent_check = QCheckBox("Transparent background")
        self.transparent_check.setObjectName("transparent_check")
        self.transparent_check.toggled.connect(self._schedule_estimate)
        form.addRow("", self.transparent_check)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(1, 10)
        self.samples_spin.valueChanged.connect(self._schedule_estimate)
        form.addRow("Images per row", self.samples_spin)
        self.style_combo = QComboBox()
        self.style_combo.setObjectName("style_combo")
        self.style_combo.currentIndexChanged.connect(self._schedule_estimate)
        self.style_label = QLabel("Style preset")
        form.addRow(self.style_label, self.style_combo)
        wf_row = QHBoxLayout()
        self.workflow_edit = QLineEdit()
        self.workflow_edit.setObjectName("workflow_edit")
        self.workflow_edit.setPlaceholderText("a workflow saved with “Save (API Format)”")
        wf_button = QPushButton("Workflow…")
        wf_button.clicked.connect(self._choose_workflow)
        wf_row.addWidget(self.workflow_edit, 1)
        wf_row.addWidget(wf_button)
        self.workflow_widget = QWidget()
        self.workflow_widget.setLayout(wf_row)
        self.workflow_label = QLabel("ComfyUI workflow")
        form.addRow(self.workflow_label, self.workflow_widget)
        seed_row = QHBoxLayout()
        self.seed_check = QCheckBox("Fixed seed")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setEnabled(False)
        self.seed_check.toggled.connect(self.seed_spin.setEnabled)
        seed_row.addWidget(self.seed_check)
        seed_row.addWidget(self.seed_spin, 1)
        self.seed_widget = QWidget()
        self.seed_widget.setLayout(seed_row)
        form.addRow("Seed", self.seed_widget)
        self.concurrency_spin = QSpinBox()
        self.concurrency_spin.setRange(1, 64)
        form.addRow("Requests at once", self.concurrency_spin)
        self.budget_spin = QDoubleSpinBox()
        self.budget_spin.setObjectName("budget_spin")
        self.budget_spin.setRange(0, 100_000)
        self.budget_spin.setDecimals(2)
        self.budget_spin.setPrefix("$ ")
        self.budget_spin.setSpecialValueText("no cap")
        self.budget_spin.setToolTip(
            "Atelier starts no job that could take the spend of this batch over the cap"
        )
        form.addRow("Spend cap", self.budget_spin)
        out_row = QHBoxLayout()
        self.output_edit = QLineEdit()
        self.output_edit.setObjectName("output_edit")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_output)
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        form.addRow("Output folder", out_row)
        outer.addWidget(box, 1)

        right = QVBoxLayout()
        est_box = QGroupBox("Estimate — before anything is spent")
        el = QVBoxLayout(est_box)
        self.estimate_label = QLabel("Open a spreadsheet and write a prompt to see the estimate.")
        self.estimate_label.setObjectName("estimate_label")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setStyleSheet("font-size: 20px; font-weight: 600")
        self.estimate_detail = QLabel("")
        self.estimate_detail.setWordWrap(True)
        self.estimate_detail.setStyleSheet("color: #5f6368")
        self.plan_notes = QPlainTextEdit()
        self.plan_notes.setReadOnly(True)
        self.plan_notes.setPlaceholderText(
            "Rows with empty values, renamed files and other notes appear here."
        )
        el.addWidget(self.estimate_label)
        el.addWidget(self.estimate_detail)
        el.addWidget(self.plan_notes, 1)
        right.addWidget(est_box, 1)
        self.start_button = QPushButton("Start batch")
        self.start_button.setObjectName("start_button")
        self.start_button.setMinimumHeight(44)
        self.start_button.setStyleSheet("font-size: 15px; font-weight: 600")
        self.start_button.clicked.connect(self.start_batch)
        right.addWidget(self.start_button)
        outer.addLayout(right, 1)
        return w

    def _build_progress_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        top = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progress_bar")
        self.progress_bar.setFormat("%v / %m jobs")
        top.addWidget(self.progress_bar, 2)
        self.counts_label = QLabel("No batch running.")
        self.counts_label.setObjectName("counts_label")
        top.addWidget(self.counts_label, 3)
        lay.addLayout(top)
        self.lane_label = QLabel("")
        self.lane_label.setStyleSheet("color: #8a5a00")
        lay.addWidget(self.lane_label)
        filt = QHBoxLayout()
        filt.addWidget(QLabel("Show"))
        self.job_filter = QComboBox()
        self.job_filter.setObjectName("job_filter")
        for label, statuses in STATUS_FILTERS:
            self.job_filter.addItem(label, statuses)
        self.job_filter.currentIndexChanged.connect(
            lambda: self.jobs_status_proxy.set_statuses(set(self.job_filter.currentData()))
        )
        filt.addWidget(self.job_filter)
        self.job_search = QLineEdit()
        self.job_search.setPlaceholderText("Search prompts…")
        self.job_search.textChanged.connect(lambda t: self.jobs_proxy.setFilterFixedString(t))
        filt.addWidget(self.job_search, 1)
        lay.addLayout(filt)
        self.jobs_model = JobsModel(self)
        # Status filter, then prompt search and header-click sorting on top of it.
        self.jobs_status_proxy = StatusFilterProxy(self)
        self.jobs_status_proxy.setSourceModel(self.jobs_model)
        self.jobs_status_proxy.setDynamicSortFilter(False)
        self.jobs_proxy = QSortFilterProxyModel(self)
        self.jobs_proxy.setSourceModel(self.jobs_status_proxy)
        self.jobs_proxy.setFilterKeyColumn(1)
        self.jobs_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.jobs_proxy.setSortRole(SortRole)
        # Re-sorting 10,000 rows on every coalesced update costs the window frames; the table
        # sorts when a header is clicked, and rows keep their place while a batch runs.
        self.jobs_proxy.setDynamicSortFilter(False)
        self.jobs_view = JobsTableView()
        self.jobs_view.setObjectName("jobs_view")
        self.jobs_view.setModel(self.jobs_proxy)
        self.jobs_view.setSortingEnabled(True)
        # Rows come in job order already; an active sort would make every model reset sort
        # 10,000 rows through Python data() calls (0.5 s). A header click still sorts.
        self.jobs_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.jobs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.jobs_view.verticalHeader().hide()
        self.jobs_view.verticalHeader().setDefaultSectionSize(24)
        self.jobs_view.setWordWrap(False)
        hh = self.jobs_view.horizontalHeader()
        for col, width in enumerate((50, 420, 170, 150, 70, 80, 80, 400)):
            hh.resizeSection(col, width)
        hh.setStretchLastSection(True)
        self.jobs_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.jobs_view.customContextMenuRequested.connect(self._jobs_menu)
        self.jobs_view.doubleClicked.connect(self._open_job_image)
        lay.addWidget(self.jobs_view, 1)
        return w

    def _build_gallery_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        self.gallery_filter = QComboBox()
        self.gallery_filter.setObjectName("gallery_filter")
        for label, statuses in STATUS_FILTERS:
            self.gallery_filter.addItem(label, statuses)
        self.gallery_filter.currentIndexChanged.connect(
            lambda: self.gallery_proxy.set_statuses(set(self.gallery_filter.currentData()))
        )
        bar.addWidget(self.gallery_filter)
        bar.addStretch(1)
        browse = QPushButton("Open folder…")
        browse.setToolTip("Browse the images of any folder")
        browse.clicked.connect(self._browse_folder)
        bar.addWidget(browse)
        folder = QPushButton("Show in folder")
        folder.clicked.connect(self._show_output_folder)
        bar.addWidget(folder)
        lay.addLayout(bar)
        self.gallery_model = GalleryModel(self.thumbs.request, self)
        self.gallery_proxy = StatusFilterProxy(self)
        self.gallery_proxy.setSortRole(Qt.ItemDataRole.InitialSortOrderRole)
        self.gallery_proxy.setSourceModel(self.gallery_model)
        self.gallery_view = GalleryView()
        self.gallery_view.setObjectName("gallery_view")
        self.gallery_view.setViewMode(QListView.ViewMode.IconMode)
        self.gallery_view.setIconSize(QSize(180, 180))
        self.gallery_view.setGridSize(QSize(200, 224))
        self.gallery_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery_view.setMovement(QListView.Movement.Static)
        self.gallery_view.setUniformItemSizes(True)
        self.gallery_view.setLayoutMode(QListView.LayoutMode.Batched)
        self.gallery_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.gallery_view.setModel(self.gallery_proxy)
        self.gallery_view.doubleClicked.connect(self._open_gallery_item)
        self.gallery_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery_view.customContextMenuRequested.connect(self._gallery_menu)
        lay.addWidget(self.gallery_view, 1)
        return w

    def _build_history_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        bar = QHBoxLayout()
        open_b = QPushButton("Open batch")
        open_b.clicked.connect(self._open_history_selection)
        resume_b = QPushButton("Resume batch")
        resume_b.clicked.connect(self._resume_history_selection)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_history)
        for b in (open_b, resume_b, refresh):
            bar.addWidget(b)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.history_model = HistoryModel(self)
        self.history_view = QTableView()
        self.history_view.setObjectName("history_view")
        self.history_view.setModel(self.history_model)
        self.history_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_view.verticalHeader().hide()
        self.history_view.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((260, 140, 200, 90, 80, 70)):
            self.history_view.horizontalHeader().resizeSection(col, width)
        self.history_view.doubleClicked.connect(lambda idx: self.open_batch(idx.data(JobIdRole)))
        lay.addWidget(self.history_view, 1)
        return w

    # ---- helpers ------------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
        """Run ``coro`` on the qasync loop; failures reach the error funnel. Returns ``None``
        (and drops ``coro``) when no loop runs any more, as while the window is torn down."""
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop.is_closed():
            coro.close()
            return None
        fut = asyncio.ensure_future(coro)
        self._tasks.add(fut)

        def done(f: asyncio.Future[Any]) -> None:
            self._tasks.discard(f)
            if not f.cancelled() and f.exception() is not None:
                self.report_error(f"Unexpected error: {f.exception()!r}")

        fut.add_done_callback(done)
        return fut

    def report_error(self, message: str, level: str = "error") -> None:
        """The error funnel."""
        self.banner.show_message(message, level)
        self.statusBar().showMessage(message.split("\n")[0], 10_000)

    def _startup_checks(self) -> None:
        problem = keyring_status()
        if problem:
            self.banner.show_message(problem, "warning")
        interrupted = self.store.interrupted_batches()
        if interrupted:
            b = interrupted[0]
            self.banner.show_message(
                f"Batch #{b.id} “{b.name}” was interrupted with {b.unfinished} of {b.total} jobs not done. "
                "Finished images are kept; resuming requests only the rest.",
                "info",
                [
                    ("Resume", lambda: self.resume_batch(b.id)),
                    ("Open", lambda: self.open_batch(b.id)),
                ],
            )

    # ---- spreadsheet and templates ---------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open spreadsheet", str(Path.home()), SPREADSHEET_FILTER
        )
        if path:
            self.load_spreadsheet(Path(path))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.load_spreadsheet(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    def _reload(self) -> None:
        if self.table is not None:
            self.load_spreadsheet(self.table.source, keep_overrides=True)

    def load_spreadsheet(self, path: Path, keep_overrides: bool = False) -> bool:
        """Import ``path`` (encoding and delimiter from the combos when ``keep_overrides``)."""
        if not keep_overrides:
            self.encoding_combo.setCurrentIndex(0)
            self.delimiter_combo.setCurrentIndex(0)
        try:
            table = read_table(
                path, self.encoding_combo.currentData(), self.delimiter_combo.currentData()
            )
        except AtelierError as e:
            self.report_error(f"Could not import the spreadsheet. {e}")
            return False
        if self.fill_down.isChecked():
            shopify_fill_down(table)
        self.table = table
        self.sheet_model.set_table(table)
        enc = table.encoding.replace("_", "-").upper() if table.encoding else "Excel"
        delim = {",": "comma", ";": "semicolon", "\t": "tab"}.get(table.delimiter or "", "")
        self.file_label.setText(
            f"<b>{path.name}</b> · {len(table.rows):,} rows · {len(table.headers)} columns · "
            f"{enc}{' · ' + delim if delim else ''}"
        )
        self.notes_label.setText("\n".join(table.notes))
        self.insert_combo.clear()
        self.insert_combo.addItems(table.headers)
        for combo in (self.reference_combo, self.provider_col_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(none)", None)
            for h in table.headers:
                combo.addItem(h, h)
            combo.blockSignals(False)
        if self.table.rows:
            self.sheet_view.selectionModel().setCurrentIndex(
                self.sheet_model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        if not self.output_edit.text():
            root = Path(
                self.settings.output_root or Path(platformdirs.user_pictures_dir()) / "Atelier"
            )
            self.output_edit.setText(str(root / path.stem))
        self.tabs.setCurrentIndex(0)
        self.banner.hide()
        self.statusBar().showMessage(f"Imported {path}", 5000)
        self._templates_changed()
        return True

    def _insert_column(self, i: int) -> None:
        self.prompt_edit.insertPlainText("{" + self.insert_combo.itemText(i) + "}")
        self.prompt_edit.setFocus()

    def _templates_changed(self) -> None:
        self.update_preview()
        self._schedule_estimate()

    def update_preview(self) -> None:
        """Render the selected row with the current templates."""
        if self.table is None or not self.table.rows:
            return
        prompt = self.prompt_edit.toPlainText()
        row = max(0, self.sheet_view.selectionModel().currentIndex().row())
        problems = check_templates(
            self.table.headers, prompt, self.filename_edit.text(), self.negative_edit.text()
        )
        if not prompt.strip():
            self.problems_label.setText("")
            self.preview_prompt.setText("Write a prompt template on the right.")
            return
        self.problems_label.setText("\n".join(problems))
        if problems:
            return
        p = preview_row(
            self.table,
            row,
            prompt,
            self.filename_edit.text(),
            self.negative_edit.text(),
            self.format_combo.currentText() or "png",
        )
        self.preview_prompt.setText(p.prompt)
        self.preview_negative.setText(f"Negative: {p.negative_prompt}" if p.negative_prompt else "")
        self.preview_file.setText(f"→ {p.file_name}")
        self.preview_empty.setText(
            f"Row {row + 1}: empty " + ", ".join("{" + c + "}" for c in p.empty) if p.empty else ""
        )

    # ---- batch settings --------------------------------------------------------------------
    def _populate_providers(self) -> None:
        self.provider_combo.blockSignals(True)
        for name, cls in PROVIDERS.items():
            self.provider_combo.addItem(cls.capabilities.label, name)
        self.provider_combo.blockSignals(False)
        idx = self.provider_combo.findData(default_provider(self.settings))
        self.provider_combo.setCurrentIndex(max(0, idx))
        self._provider_changed()

    def current_provider(self) -> str:
        return str(self.provider_combo.currentData())

    def _provider_changed(self) -> None:
        caps = capabilities_of(self.current_provider())
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for m in caps.models:
            self.model_combo.addItem(m.label + (f" — {m.note}" if m.note else ""), m.id)
        self.model_combo.blockSignals(False)
        self.concurrency_spin.setValue(caps.default_concurrency)
        self.seed_widget.setEnabled(caps.seed)
        self.seed_widget.setToolTip("" if caps.seed else f"{caps.label} does not accept a seed")
        self.style_combo.clear()
        self.style_combo.addItem("(none)", None)
        for preset in caps.style_presets:
            self.style_combo.addItem(preset, preset)
        for w in (self.style_combo, self.style_label):
            w.setVisible(bool(caps.style_presets))
        for w in (self.workflow_widget, self.workflow_label):
            w.setVisible(caps.name == "comfyui")
        self.negative_edit.setEnabled(caps.negative_prompt)
        self.negative_edit.setToolTip(
            "" if caps.negative_prompt else f"{caps.label} does not take a negative prompt"
        )
        self._model_changed()

    def _model_changed(self) -> None:
        caps = capabilities_of(self.current_provider())
        info = caps.model(str(self.model_combo.currentData())) or caps.models[0]
        size, quality, fmt = (
            self.size_combo.currentText(),
            self.quality_combo.currentText(),
            self.format_combo.currentText(),
        )
        for combo, values, keep, default in (
            (self.size_combo, info.sizes, size, "1024x1024"),
            (self.quality_combo, info.qualities, quality, info.qualities[0]),
            (self.format_combo, info.formats, fmt, "png"),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(values))
            combo.setCurrentText(keep if keep in values else default)
            combo.blockSignals(False)
        self.size_combo.setEditable(info.custom_size_multiple is not None)
        self.samples_spin.setMaximum(10)
        self.model_note.setText(info.note)
        self._format_changed()

    def _format_changed(self) -> None:
        caps = capabilities_of(self.current_provider())
        info = caps.model(str(self.model_combo.currentData())) or caps.models[0]
        allowed = info.transparent_background and self.format_combo.currentText() != "jpeg"
        self.transparent_check.setEnabled(allowed)
        if not allowed:
            self.transparent_check.setChecked(False)
        self.transparent_check.setToolTip(
            "" if allowed else "Needs PNG or WebP and a model that supports it"
        )
        self.update_preview()
        self._schedule_estimate()

    def _choose_workflow(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "ComfyUI workflow (API format)", str(Path.home()), "Workflow (*.json)"
        )
        if path:
            try:
                targets = find_targets(load_workflow(Path(path)))
            except AtelierError as e:
                self.report_error(str(e))
                return
            self.workflow_edit.setText(path)
            self.statusBar().showMessage(
                "Workflow inputs: " + ", ".join(f"{k}→{v}" for k, v in targets.items()), 10_000
            )

    def _choose_output(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, "Output folder", self.output_edit.text() or str(Path.home())
        )
        if d:
            self.output_edit.setText(d)

    def _schedule_estimate(self) -> None:
        self._estimate_timer.start()

    def defaults(self) -> JobDefaults:
        return JobDefaults(
            size=self.size_combo.currentText() or "1024x1024",
            quality=self.quality_combo.currentText() or "auto",
            output_format=self.format_combo.currentText() or "png",  # type: ignore[arg-type]
            transparent_background=self.transparent_check.isChecked(),
            sample_count=self.samples_spin.value(),
            seed=self.seed_spin.value()
            if self.seed_check.isChecked() and self.seed_widget.isEnabled()
            else None,
            style_preset=self.style_combo.currentData()
            if not self.style_combo.isHidden()
            else None,
        )

    def _plan_args(self) -> SheetBatch | None:
        if self.table is None or not self.prompt_edit.toPlainText().strip():
            return None
        negative = self.negative_edit.text() if self.negative_edit.isEnabled() else ""
        columns = RowColumns(
            reference=self.reference_combo.currentData(),
            provider=self.provider_col_combo.currentData(),
        )
        return SheetBatch(
            self.table,
            self.prompt_edit.toPlainText(),
            self.filename_edit.text(),
            negative,
            self.defaults(),
            columns,
        )

    def update_estimate(self) -> None:
        """Plan the batch as it stands and show images × price (unknown stays unknown)."""
        args = self._plan_args()
        if args is None:
            return
        try:
            self._show_estimate(args.plan(), args.table)
        except (AtelierError, ValueError) as e:
            self._show_estimate_error(e)

    async def _estimate_in_thread(self) -> None:
        """The debounced estimate: planning 100,000 rows takes seconds, so it runs off the GUI
        thread; a result made stale by newer edits is dropped."""
        self._estimate_generation += 1
        gen = self._estimate_generation
        args = self._plan_args()
        if args is None:
            return
        self.estimate_label.setText("Estimating…")
        prices, provider = self.prices, self.current_provider()
        model = str(self.model_combo.currentData())

        def plan_and_price() -> tuple[Plan, Estimate]:
            plan = args.plan()
            return plan, estimate(plan, prices, provider, model)

        try:
            plan, est = await asyncio.to_thread(plan_and_price)
        except (AtelierError, ValueError) as e:
            if gen == self._estimate_generation:
                self._show_estimate_error(e)
            return
        if gen == self._estimate_generation:
            self._show_estimate(plan, args.table, est)

    def _show_estimate_error(self, e: Exception) -> None:
        self.estimate_label.setText("Fix the template first")
        self.estimate_detail.setText(str(e))

    def _show_estimate(self, plan: Plan, table: Table, est: Estimate | None = None) -> None:
        if est is None:
            est = estimate(
                plan, self.prices, self.current_provider(), str(self.model_combo.currentData())
            )
        self.estimate_label.setText(est.describe())
        detail = [f"{len(plan.specs):,} jobs from {len(table.rows):,} rows"]
        detail += list(est.sources)
        if est.unknown_images:
            detail.append(
                "No published price for this model, size and quality: the cost is unknown, not free. "
                "Add a price override in ATELIER_HOME/prices.json."
            )
        self.estimate_detail.setText("\n".join(detail))
        notes = plan.skipped + plan.warnings
        more = f"\n… and {len(notes) - 500} more" if len(notes) > 500 else ""
        self.plan_notes.setPlainText("\n".join(notes[:500]) + more)

    # ---- running -----------------------------------------------------------------------------
    def start_batch(self) -> None:
        """Plan, check, store and start the batch in the editor. Planning and storing run in a
        worker thread (seconds for 100,000 rows); errors reach the error funnel."""
        if self._starting or (self.batch_id is not None and self.host.is_running(self.batch_id)):
            self.report_error("A batch is already running: pause or cancel it first.", "warning")
            return
        args = self._plan_args()
        if args is None:
            self.report_error(
                "Open a spreadsheet (File → Open, or drop a CSV/Excel file on the window) "
                "and write a prompt template first."
            )
            return
        self._starting = True
        self._update_actions()
        self.statusBar().showMessage("Preparing the batch…")
        self.spawn(self._start(args, Path(self.output_edit.text().strip() or ".").expanduser()))

    def _prepare(
        self,
        args: SheetBatch,
        provider: str,
        model: str,
        out: Path,
        concurrency: int,
    ) -> int:
        """Blocking part of ``start_batch`` (runs in a worker thread)."""
        table = args.table
        plan = args.plan()
        if not plan.specs:
            raise InputError(
                str(table.source), "no row produced a job: " + "; ".join(plan.skipped[:3])
            )
        check_plan(plan, provider, model, rows=True)
        options: dict[str, dict[str, Any]] = {}
        uses_comfy = provider == "comfyui" or any(s.provider == "comfyui" for s in plan.specs)
        if uses_comfy:
            workflow = self.workflow_edit.text().strip()
            if not workflow:
                raise InputError(
                    "ComfyUI workflow", "choose a workflow saved in API format (“Workflow…”)"
                )
            find_targets(
                load_workflow(Path(workflow))
            )  # a broken workflow is reported before the run
            options["comfyui"] = {"workflow": workflow}
        rs = RunSettings(
            provider=provider,
            model=model,
            concurrency=concurrency,
            provider_options=options,
            budget_usd=self.budget_spin.value() or None,
        )
        prepared = prepare_batch(
            self.store,
            plan,
            rs,
            out,
            name=table.source.name,
            source=str(table.source),
            prices=self.prices,
        )
        return prepared.batch_id

    async def _start(self, args: SheetBatch, out: Path) -> None:
        try:
            batch_id = await asyncio.to_thread(
                self._prepare,
                args,
                self.current_provider(),
                str(self.model_combo.currentData()),
                out,
                self.concurrency_spin.value(),
            )
        except (AtelierError, ValueError) as e:
            self.report_error(f"The batch was not started. {e}")
            return
        finally:
            self._starting = False
            self._update_actions()
        self.settings.last_template = {
            "prompt": args.prompt,
            "filename": args.filename,
            "negative": args.negative,
        }
        with contextlib.suppress(OSError):
            self.settings.save()
        # 10,000 rows read and turned into table rows and tiles off the GUI thread.
        loaded = await asyncio.to_thread(self._load_views, batch_id)
        self.open_batch(batch_id, loaded)
        self._run(batch_id)

    def _run(self, batch_id: int) -> None:
        self.tabs.setCurrentIndex(2)
        self.lane_label.setText("")

        self.statusBar().showMessage(f"Batch #{batch_id} running.", 5000)
        fut = self.host.run_batch(batch_id)
        # Called on the engine thread: a signal carries a crash of the run back to the GUI thread.
        fut.add_done_callback(
            lambda f: (
                self.run_failed.emit(repr(f.exception()))
                if not f.cancelled() and f.exception() is not None
                else None
            )
        )
        QTimer.singleShot(0, self._update_actions)

    def resume_batch(self, batch_id: int) -> None:
        self.open_batch(batch_id)
        self._run(batch_id)

    def _load_views(self, batch_id: int) -> tuple[list[JobView], list[Tile]]:
        """A batch's progress-table rows and gallery tiles (no Qt: may run in any thread)."""
        jobs, images = self.store.job_summaries(batch_id), self.store.images(batch_id)
        return [JobView.from_summary(j) for j in jobs], GalleryModel.tiles_for(jobs, images)

    def open_batch(
        self, batch_id: int, loaded: tuple[list[JobView], list[Tile]] | None = None
    ) -> None:
        """Show a stored batch in the progress table and the gallery (``loaded``: its rows and
        tiles, already made off the GUI thread by ``_load_views``)."""
        self.batch_id = batch_id
        b = self.store.batch(batch_id)
        rows, tiles = loaded or self._load_views(batch_id)
        self.jobs_model.set_jobs(rows)
        self.gallery_model.set_tiles(tiles)
        # The rows and tiles of the batch on screen live until another is opened: keep the
        # garbage collector's full passes (which hold the GIL) from walking them again and again.
        gc.freeze()
        self.setWindowTitle(f"Atelier — batch #{b.id} {b.name}")
        self._refresh_counts()
        self._update_actions()

    def toggle_pause(self) -> None:
        if self.batch_id is None or not self.host.is_running(self.batch_id):
            return
        if self.store.batch(self.batch_id).status == "paused":
            self.host.call(self.engine.resume, self.batch_id)
        else:
            self.host.call(self.engine.pause, self.batch_id)
        self._update_actions()

    def cancel_batch(self) -> None:
        if self.batch_id is not None:
            self.host.call(self.engine.cancel, self.batch_id)

    def selected_job_ids(self) -> list[int]:
        rows = {
            self.jobs_status_proxy.mapToSource(self.jobs_proxy.mapToSource(i)).row()
            for i in self.jobs_view.selectionModel().selectedRows()
        }
        return [self.jobs_model.jobs[r].id for r in sorted(rows)]

    def retry_selected(self) -> None:
        ids = self.selected_job_ids()
        if self.tabs.currentIndex() == 3:
            ids = sorted(
                {self.gallery_proxy.data(i, JobIdRole) for i in self.gallery_view.selectedIndexes()}
            )
        self.retry_jobs(ids)

    def retry_all_failed(self) -> None:
        if self.batch_id is not None:
            self.retry_jobs(self.store.failed_job_ids(self.batch_id))

    def retry_jobs(self, job_ids: list[int]) -> None:
        """Failed/cancelled jobs go back to pending (same jobs, new attempts) and run."""
        if self.batch_id is None or not job_ids:
            self.statusBar().showMessage("Nothing to retry: select failed or cancelled jobs.", 5000)
            return
        reset = self.store.reset_for_retry(job_ids)
        self.host.call(self.engine.requeue, self.batch_id, reset)
        self.statusBar().showMessage(f"Retrying {len(reset)} job(s).", 5000)
        if reset and not self.host.is_running(self.batch_id):
            self._run(self.batch_id)

    def _on_jobs_changed(self, changes: dict[int, dict[str, Any]]) -> None:
        self.jobs_model.update_jobs(changes)
        self.gallery_model.update_status(
            {j: c["status"] for j, c in changes.items()},
            {j: f"{c['error_type']}: {c['error']}" for j, c in changes.items() if c.get("error")},
        )
        self._refresh_counts()

    def _on_images_saved(self, images: list[ImageSaved]) -> None:
        prompts = self.jobs_model.prompt_of
        for ev in images:
            if ev.batch_id == self.batch_id:
                self.gallery_model.add_image(
                    ev.job_id,
                    "completed",
                    Path(ev.path),
                    Path(ev.thumb) if ev.thumb else None,
                    ev.sample_index,
                    prompts(ev.job_id, ""),
                )

    def _on_batch_finished(self, ev: BatchFinished) -> None:
        r = ev.report
        # The views already hold the final state (every change arrived as an event); reloading
        # 10,000 jobs and images here stalled the window for most of a second.
        self._refresh_counts()
        spent = "unknown" if r.total_cost is None else f"${r.total_cost:.3f}"
        msg = f"Batch #{ev.batch_id} finished: {r.succeeded} done, {r.failed} failed, {r.cancelled} cancelled · spent {spent}."
        if ev.reason:
            msg += f" {ev.reason}"
        if r.failed:
            self.banner.show_message(
                msg + " Failed rows keep their reason in the Error column; "
                "use “Retry all failed” once fixed.",
                "warning",
                [
                    ("Show failed", lambda: self.job_filter.setCurrentIndex(2)),
                    ("Retry all failed", self.retry_all_failed),
                ],
            )
        elif ev.reason:
            self.banner.show_message(
                msg, "warning", [("Resume", lambda: self.resume_batch(ev.batch_id))]
            )
        self.statusBar().showMessage(msg, 15_000)
        self.lane_label.setText("")
        self.refresh_history()
        self._update_actions()
        self.batch_done.emit(ev.batch_id)

    def _refresh_counts(self) -> None:
        c = self.jobs_model.counts()
        total = len(self.jobs_model.jobs)
        finished = c.get("completed", 0) + c.get("failed", 0) + c.get("cancelled", 0)
        self.progress_bar.setMaximum(max(1, total))
        self.progress_bar.setValue(finished)
        spend = self.jobs_model.spend()
        parts = [
            f"{c.get('completed', 0)} done",
            f"{c.get('failed', 0)} failed",
            f"{c.get('running', 0) + c.get('waiting', 0)} running",
            f"{c.get('pending', 0)} pending",
        ]
        if c.get("cancelled"):
            parts.append(f"{c['cancelled']} cancelled")
        parts.append("spent unknown" if spend is None else f"spent ${spend:.3f}")
        if self.batch_id is not None and self.host.is_running(self.batch_id):
            state = self.store.batch(self.batch_id).status
            if state in ("paused", "cancelling"):
                parts.insert(0, state.capitalize())
        self.counts_label.setText(" · ".join(parts))

    def _update_actions(self) -> None:
        running = self.batch_id is not None and self.host.is_running(self.batch_id)
        paused = (
            running
            and self.batch_id is not None
            and self.store.batch(self.batch_id).status == "paused"
        )
        self.act_start.setEnabled(not running and not self._starting)
        self.start_button.setEnabled(not running and not self._starting)
        self.act_pause.setEnabled(running)
        self.act_pause.setText("Resume" if paused else "Pause")
        self.act_cancel.setEnabled(running)
        has_batch = self.batch_id is not None
        self.act_retry_selected.setEnabled(has_batch)
        self.act_retry_failed.setEnabled(has_batch)

    # ---- menus, gallery, history -------------------------------------------------------------
    def _jobs_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction(self.act_retry_selected)
        menu.addAction(self.act_retry_failed)
        menu.addSeparator()
        idx = self.jobs_view.indexAt(pos)
        if idx.isValid():
            menu.addAction("Open image", lambda: self._open_job_image(idx))
            menu.addAction("Show in folder", self._show_output_folder)
        menu.exec(self.jobs_view.viewport().mapToGlobal(pos))

    def _open_job_image(self, idx: QModelIndex) -> None:
        jid = self.jobs_proxy.data(idx, JobIdRole)
        paths = self.store.image_paths(jid)
        if paths:
            ImageViewer(Path(paths[0]), self).open()

    def _open_gallery_item(self, idx: QModelIndex) -> ImageViewer | None:
        path = self.gallery_proxy.data(idx, PathRole)
        if not path:
            return None
        viewer = ImageViewer(Path(path), self)
        viewer.open()
        return viewer

    def _gallery_menu(self, pos: QPoint) -> None:
        idx = self.gallery_view.indexAt(pos)
        menu = QMenu(self)
        if idx.isValid() and self.gallery_proxy.data(idx, PathRole):
            menu.addAction("Open", lambda: self._open_gallery_item(idx))
            menu.addAction(
                "Show in folder",
                lambda: show_in_folder(Path(self.gallery_proxy.data(idx, PathRole))),
            )
        menu.addAction("Retry selected", self.retry_selected)
        menu.exec(self.gallery_view.viewport().mapToGlobal(pos))

    def _browse_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Browse a folder of images", str(Path.home()))
        if d:
            self.show_folder(Path(d))

    def show_folder(self, folder: Path) -> None:
        """Show every image under ``folder`` in the gallery."""
        self.gallery_model.set_tiles(GalleryModel.tiles_for_folder(folder))
        self.tabs.setCurrentIndex(3)
        self.statusBar().showMessage(f"{self.gallery_model.rowCount():,} images in {folder}", 5000)

    def _show_output_folder(self) -> None:
        if self.batch_id is not None:
            show_in_folder(self.store.batch(self.batch_id).output_dir)

    def refresh_history(self) -> None:
        self.history_model.set_batches(self.store.batches())

    def _history_selection(self) -> int | None:
        rows = self.history_view.selectionModel().selectedRows()
        return rows[0].data(JobIdRole) if rows else None

    def _open_history_selection(self) -> None:
        bid = self._history_selection()
        if bid is not None:
            self.open_batch(bid)
            self.tabs.setCurrentIndex(3)

    def _resume_history_selection(self) -> None:
        bid = self._history_selection()
        if bid is not None and not self.host.is_running(bid):
            self.store.reset_for_retry(
                [j.id for j in self.store.job_summaries(bid) if j.status == "cancelled"]
            )
            self.resume_batch(bid)

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.settings, self)
        dlg.accepted.connect(self._provider_changed)
        dlg.open()
        return dlg

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop running batches so they can be resumed at the next start."""
        self._estimate_timer.stop()
        for t in list(self._tasks):
            t.cancel()
        self.thumbs.pool.clear()
        self.thumbs.pool.waitForDone(3000)
        self.host.stop()  # running batches stop resumable: offered again at the next start
        if self.bridge in self.engine.events.subscribers:
            self.engine.events.subscribers.remove(self.bridge)
        super().closeEvent(event)
