"""Page 2, batch & estimate: provider, model and every setting the chosen model supports, the
output folder and spend cap, and the estimate (images × price) before anything is spent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from atelier.core.errors import AtelierError
from atelier.core.i18n import tr
from atelier.core.models import JobDefaults, problems_error, validation_problems
from atelier.pricing.estimate import Estimate
from atelier.pricing.table import PriceTable
from atelier.providers.base import Capabilities, ModelInfo
from atelier.providers.comfyui import find_targets, load_workflow
from atelier.providers.registry import PROVIDERS, capabilities_of
from atelier.sheet.plan import Plan, SheetBatch
from atelier.sheet.products import PerChoice
from atelier.sheet.tabular import Table
from atelier.store import Store
from atelier.studio import a11y
from atelier.studio.look import theme
from atelier.studio.pages.batch_estimate import EstimateColumn, PerControl
from atelier.studio.pages.batch_form import (
    BatchForm,
    economy_check,
    new_images_check,
    qa_retry_spin,
)
from atelier.studio.widgets.channel_picker import ChannelPicker
from atelier.studio.widgets.numbers import DoubleSpinBox, SpinBox


def with_button(edit: QLineEdit, text: str, slot: Callable[[], None]) -> QWidget:
    """``edit`` with a push button ``text`` after it (“Choose…”), as one form field."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    button = QPushButton(text)
    button.clicked.connect(slot)
    row.addWidget(edit, 1)
    row.addWidget(button)
    w = QWidget()
    w.setLayout(row)
    return w


class BatchPage(EstimateColumn, PerControl, QWidget):
    """The batch's settings and its estimate.

    Signals:
        start_requested(): "Start batch".
        format_changed(str): the output format (the spreadsheet page's preview uses it).
        provider_changed(str): the provider's name.
        message(str): something to show in the status bar.
        failed(str): an error for the window's error funnel.

    Args:
        prices: for the estimate.
        plan_source: gives the spreadsheet batch as edited (``None``: nothing to plan yet);
            called on the GUI thread.
        spawn: runs a coroutine on the window's event loop.
        store: where earlier images are found for the estimate (``atelier.pricing.reuse``).
    """

    start_requested = Signal()
    format_changed = Signal(str)
    provider_changed = Signal(str)
    message = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        prices: PriceTable,
        plan_source: Callable[[], SheetBatch | None],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        store: Store | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.prices, self._plan_source, self._spawn = prices, plan_source, spawn
        self.store = store
        self._generation = 0
        self._per_table: Table | None = None  # the table the "one image per" list is for
        self._output_sheet: Path | None = None  # the sheet the output folder is for
        outer = QHBoxLayout(self)
        box = QGroupBox(tr("Settings for this batch"))
        self._form = QFormLayout(box)
        self._build_model_rows()
        self._build_run_rows()
        outer.addWidget(box, 1)
        outer.addLayout(self._build_estimate(), 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(lambda: self._spawn(self._estimate_in_thread()))

    # ---- construction (the estimate column, "one image per": ``atelier.studio.pages.batch_estimate``) ----
    def _combo(self, name: str, label: str, slot: Callable[..., None]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.currentIndexChanged.connect(slot)
        self._form.addRow(label, combo)
        return combo

    def _build_model_rows(self) -> None:
        self.provider_combo = self._combo("provider_combo", tr("Provider"), self._provider_changed)
        for name, cls in PROVIDERS.items():
            self.provider_combo.blockSignals(True)
            self.provider_combo.addItem(cls.capabilities.title, name)
            self.provider_combo.blockSignals(False)
        self.model_combo = self._combo("model_combo", tr("Model"), self._model_changed)
        self.model_note = QLabel("")
        theme.styled(self.model_note, "color: {warning}")
        self._form.addRow("", self.model_note)
        self.size_combo = self._combo("size_combo", tr("Size"), self.schedule_estimate)
        self.size_combo.currentTextChanged.connect(self.schedule_estimate)
        self.quality_combo = self._combo("quality_combo", tr("Quality"), self.schedule_estimate)
        # Shown for a model that takes it (OpenAI gpt-image-2.6): planning, apart from quality.
        self.complexity_combo = self._combo(
            "complexity_combo", tr("Complexity"), self.schedule_estimate
        )
        a11y.name(self.complexity_combo, tr("Complexity"))
        self.format_combo = self._combo("format_combo", tr("Output format"), self._format_changed)
        self.transparent_check = QCheckBox(tr("Transparent background"))
        self.transparent_check.setObjectName("transparent_check")
        self.transparent_check.toggled.connect(self.schedule_estimate)
        self._form.addRow("", self.transparent_check)
        self.samples_spin = SpinBox()
        self.samples_spin.setRange(1, 10)
        self.samples_spin.valueChanged.connect(self.schedule_estimate)
        self._form.addRow(tr("Images per row"), self.samples_spin)
        # Beside "Images per row": both say how many images the sheet makes (the estimate's
        # column had no height left for it at 1280×800 in CJK).
        self._form.addRow(*self._build_per())
        self.style_combo = QComboBox()
        self.style_combo.setObjectName("style_combo")
        self.style_combo.currentIndexChanged.connect(self.schedule_estimate)
        self.style_label = QLabel(tr("Style preset"))
        self._form.addRow(self.style_label, self.style_combo)

    def _build_run_rows(self) -> None:
        self.workflow_edit = QLineEdit()
        self.workflow_edit.setObjectName("workflow_edit")
        a11y.name(self.workflow_edit, tr("ComfyUI workflow"))
        self.workflow_edit.setPlaceholderText(tr("a workflow saved with “Save (API Format)”"))
        self.workflow_widget = with_button(
            self.workflow_edit, tr("Workflow…"), self._choose_workflow
        )
        self.workflow_label = QLabel(tr("ComfyUI workflow"))
        self._form.addRow(self.workflow_label, self.workflow_widget)
        seed_row = QHBoxLayout()
        self.seed_check = QCheckBox(tr("Fixed seed"))
        self.seed_spin = SpinBox()
        self.seed_spin.setObjectName("seed_spin")
        a11y.name(self.seed_spin, tr("Seed"))
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setEnabled(False)
        self.seed_check.toggled.connect(self.seed_spin.setEnabled)
        seed_row.addWidget(self.seed_check)
        seed_row.addWidget(self.seed_spin, 1)
        self.seed_widget = QWidget()
        self.seed_widget.setLayout(seed_row)
        self._form.addRow(tr("Seed"), self.seed_widget)
        self.concurrency_spin = SpinBox()
        self.concurrency_spin.setRange(1, 64)
        self._form.addRow(tr("Requests at once"), self.concurrency_spin)
        self.budget_spin = DoubleSpinBox()
        self.budget_spin.setObjectName("budget_spin")
        self.budget_spin.setRange(0, 100_000)
        self.budget_spin.setDecimals(2)
        self.budget_spin.setPrefix("$ ")
        # Empty (0): a paid run gets the estimate and its margin as its cap, offered with the
        # cost before it starts (``SpendActions.confirm_spend``).
        self.budget_spin.setSpecialValueText(tr("from the estimate"))
        self.budget_spin.setToolTip(
            tr(
                "Atelier starts no job that could take the spend of this batch over the cap. "
                "Left empty, the cap is the estimate plus its margin; you confirm it at Start."
            )
        )
        self._form.addRow(tr("Spend cap"), self.budget_spin)
        self.new_images_check = new_images_check(self.schedule_estimate)
        self._form.addRow("", self.new_images_check)
        self.economy_check = economy_check(self.schedule_estimate)
        self._form.addRow("", self.economy_check)
        self.qa_retry_spin = qa_retry_spin()
        self._form.addRow(tr("Re-make flagged images"), self.qa_retry_spin)
        self.channel_picker = ChannelPicker()
        self._form.addRow(tr("Channels"), self.channel_picker)
        self.output_edit = QLineEdit()
        self.output_edit.setObjectName("output_edit")
        a11y.name(self.output_edit, tr("Output folder"))
        self._form.addRow(
            tr("Output folder"), with_button(self.output_edit, tr("Choose…"), self._choose_output)
        )

    # ---- public API --------------------------------------------------------------------------
    def select_provider(self, name: str) -> None:
        """Choose provider ``name`` (the first one if unknown) and offer what it supports."""
        self.provider_combo.setCurrentIndex(max(0, self.provider_combo.findData(name)))
        self._provider_changed()

    def current_provider(self) -> str:
        """The chosen provider's name."""
        return str(self.provider_combo.currentData())

    def current_model(self) -> str:
        """The chosen model's id."""
        return str(self.model_combo.currentData())

    def defaults(self) -> JobDefaults:
        """The job settings every row gets.

        Raises:
            InputError: a typed value that cannot be used (a size that is not ``WxH``).
        """
        try:
            return self._defaults()
        except ValidationError as e:
            raise problems_error("", validation_problems(e)) from None

    def _defaults(self) -> JobDefaults:
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
            complexity=self.complexity_combo.currentData(),
        )

    def apply_defaults(self, d: JobDefaults) -> None:
        """Show a template's image settings (a value the provider does not offer stays as
        it is: the estimate then names the problem)."""
        for combo, value in (
            (self.size_combo, d.size),
            (self.quality_combo, d.quality),
            (self.format_combo, d.output_format),
        ):
            i = combo.findText(value)
            if i >= 0:
                combo.setCurrentIndex(i)
            elif combo.isEditable():
                combo.setEditText(value)
        self.transparent_check.setChecked(d.transparent_background)
        self.complexity_combo.setCurrentIndex(max(0, self.complexity_combo.findData(d.complexity)))
        self.samples_spin.setValue(d.sample_count)
        self.seed_check.setChecked(d.seed is not None)
        if d.seed is not None:
            self.seed_spin.setValue(d.seed)
        self.schedule_estimate()

    def form(self) -> BatchForm:
        """Every setting as plain values (read here, on the GUI thread)."""
        workflow = self.workflow_edit.text().strip()
        return BatchForm(
            provider=self.current_provider(),
            model=self.current_model(),
            defaults=self.defaults(),
            concurrency=self.concurrency_spin.value(),
            budget_usd=self.budget_spin.value() or None,
            # Rows may name ComfyUI in a provider column while the batch's provider is another.
            workflow=Path(workflow) if workflow else None,
            output_dir=Path(self.output_edit.text().strip() or ".").expanduser(),
            delivery=self.deliver.form(),
            reuse=not self.new_images_check.isChecked(),
            economy=self.economy_check.isChecked() and self.economy_check.isEnabled(),
            qa_retry=self.qa_retry_spin.value(),
            channels=tuple(self.channel_picker.chosen()),
        )

    def set_output_dir(self, path: Path, sheet: Path | None = None) -> None:
        """Suggest ``path`` as the output folder of spreadsheet ``sheet``.

        The folder follows the open sheet: a new sheet gets its own folder, even when the
        previous sheet's folder was suggested or typed, so a second sheet never writes into
        the first one's folder. Opening the same sheet again keeps the folder shown (typed or
        suggested). A folder typed before any sheet was opened is kept for the first sheet.
        """
        same_sheet = sheet is not None and sheet == self._output_sheet
        typed_before_any = self._output_sheet is None and bool(self.output_edit.text())
        if not (same_sheet or typed_before_any) or not self.output_edit.text():
            self.output_edit.setText(str(path))
        self._output_sheet = sheet

    def set_can_start(self, allowed: bool) -> None:
        """Enable or disable "Start batch"."""
        self.start_button.setEnabled(allowed)

    def schedule_estimate(self) -> None:
        """Estimate again in 250 ms (edits in between restart the wait)."""
        self._timer.start()

    def stop(self) -> None:
        """No more estimates (the window is closing)."""
        self._timer.stop()

    def update_estimate(self) -> None:
        """Plan the batch as it stands and show images × price now, on this thread."""
        try:
            args = self._plan_source()
            if args is None:
                return
            args, choices = self._per_for(args)
            plan = args.plan()
            self._show(plan, args, self._price(plan, self.form()), choices)
        except (AtelierError, ValueError) as e:
            self._show_error(e)

    # ---- internals ---------------------------------------------------------------------------
    async def _estimate_in_thread(self) -> None:
        """The debounced estimate: planning 100,000 rows takes seconds, so it runs off the GUI
        thread on plain values; a result made stale by newer edits is dropped."""
        self._generation += 1
        gen = self._generation
        try:
            args = self._plan_source()
        except AtelierError as e:
            self._show_error(e)
            return
        if args is None:
            return
        self.estimate_label.setText(tr("Estimating…"))
        form = self.form()

        def plan_and_price() -> tuple[SheetBatch, list[PerChoice] | None, Plan, Estimate]:
            sheet, choices = self._per_for(args)
            plan = sheet.plan()
            return sheet, choices, plan, self._price(plan, form)

        try:
            sheet, choices, plan, est = await asyncio.to_thread(plan_and_price)
        except (AtelierError, ValueError) as e:
            if gen == self._generation:
                self._show_error(e)
            return
        if gen == self._generation:
            self._show(plan, sheet, est, choices)

    def _price(self, plan: Plan, form: BatchForm) -> Estimate:
        """Any thread: the estimate of ``plan`` with what ``form`` says (reuse included)."""
        return form.estimate(plan, self.prices, self.store)

    def _caps(self) -> tuple[Capabilities, ModelInfo]:
        caps = capabilities_of(self.current_provider())
        return caps, caps.model(self.current_model()) or caps.offered()[0]

    def _provider_changed(self) -> None:
        caps = capabilities_of(self.current_provider())
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for m in caps.offered():  # a model its provider shut down is not offered
            note = m.lifecycle_note()
            self.model_combo.addItem(m.label + (f" — {note}" if note else ""), m.id)
        self.model_combo.blockSignals(False)
        self.concurrency_spin.setValue(caps.default_concurrency)
        self.seed_widget.setEnabled(caps.seed)
        self.economy_check.setEnabled(caps.batch_api)
        self.seed_widget.setToolTip(
            "" if caps.seed else tr("{provider} does not accept a seed").format(provider=caps.label)
        )
        self.style_combo.clear()
        self.style_combo.addItem(tr("(none)"), None)
        for preset in caps.style_presets:
            self.style_combo.addItem(preset, preset)
        for w in (self.style_combo, self.style_label):
            w.setVisible(bool(caps.style_presets))
        for w in (self.workflow_widget, self.workflow_label):
            w.setVisible(caps.name == "comfyui")
        self.provider_changed.emit(caps.name)
        self._model_changed()

    def _model_changed(self) -> None:
        _, info = self._caps()
        keep = (
            self.size_combo.currentText(),
            self.quality_combo.currentText(),
            self.format_combo.currentText(),
        )
        for combo, values, kept, default in (
            (self.size_combo, info.sizes, keep[0], "1024x1024"),
            (self.quality_combo, info.qualities, keep[1], info.qualities[0]),
            (self.format_combo, info.formats, keep[2], "png"),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(values))
            combo.setCurrentText(kept if kept in values else default)
            combo.blockSignals(False)
        kept = self.complexity_combo.currentData()
        self.complexity_combo.clear()
        self.complexity_combo.addItem(tr("(the model's default)"), None)
        for value in info.complexities:
            self.complexity_combo.addItem(value, value)
        self.complexity_combo.setCurrentIndex(max(0, self.complexity_combo.findData(kept)))
        self._form.setRowVisible(self.complexity_combo, bool(info.complexities))
        self.size_combo.setEditable(info.custom_size_multiple is not None)
        a11y.name_editor(self.size_combo, tr("Size"))
        self.model_note.setText(info.lifecycle_note())
        self._format_changed()

    def _format_changed(self) -> None:
        _, info = self._caps()
        allowed = info.transparent_background and self.format_combo.currentText() != "jpeg"
        self.transparent_check.setEnabled(allowed)
        if not allowed:
            self.transparent_check.setChecked(False)
        self.transparent_check.setToolTip(
            "" if allowed else tr("Needs PNG or WebP and a model that supports it")
        )
        self.format_changed.emit(self.format_combo.currentText())
        self.schedule_estimate()

    def _choose_workflow(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, tr("ComfyUI workflow (API format)"), str(Path.home()), tr("Workflow (*.json)")
        )
        if not path:
            return
        try:
            targets = find_targets(load_workflow(Path(path)))
        except AtelierError as e:
            self.failed.emit(str(e))
            return
        self.workflow_edit.setText(path)
        self.message.emit(
            tr("Workflow inputs: {inputs}").format(
                inputs=", ".join(f"{k}→{v}" for k, v in targets.items())
            )
        )

    def _choose_output(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, tr("Output folder"), self.output_edit.text() or str(Path.home())
        )
        if d:
            self.output_edit.setText(d)
