"""The batch page's estimate column (the estimate, its details and the plan's notes, the
delivery box, "Start batch") and its "Make one image per" control (``atelier.sheet.products``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from atelier.core.i18n import tr
from atelier.pricing.estimate import Estimate
from atelier.sheet.plan import Plan, SheetBatch
from atelier.sheet.products import Per, PerChoice, per_choices
from atelier.sheet.tabular import Table
from atelier.studio.look import theme
from atelier.studio.widgets.deliver_box import DeliverBox


def _estimate_detail(plan: Plan, args: SheetBatch, est: Estimate) -> str:
    """The lines under the estimate: models and plan, where the prices come from, unknowns."""
    summary = plan.summary()
    if args.rows is not None:  # the designer ticked some rows on the sheet page
        summary = tr("{summary} from {chosen} ticked rows of {rows}").format(
            summary=summary,
            chosen=f"{len(args.rows):,}",
            # Of the rows that can be ticked, as the sheet page counts them.
            rows=f"{len(args.table.rows) - len(args.table.excluded):,}",
        )
    elif not plan.variations and plan.rows_in_jobs <= len(plan.specs):
        summary = tr("{summary} from {rows} rows").format(
            summary=summary, rows=f"{len(args.table.rows):,}"
        )
    detail = [f"{', '.join(est.models)}: {summary}", *est.sources]
    if est.unknown_images:
        detail += [tr("Price unknown (not free):"), *est.unknown_reasons]
    return "\n".join(detail)


def _notes_box() -> QPlainTextEdit:
    """The plan's notes: a line at least, more where the page has room (it scrolls). Its
    default height (Qt lays a page with wrapped labels at its preferred height) pushed the
    delivery box and Start below the fold at 1280×800."""
    notes = QPlainTextEdit()
    notes.setReadOnly(True)
    notes.setPlaceholderText(
        tr("Rows with empty values, renamed files and other notes appear here.")
    )
    notes.setMinimumHeight(notes.fontMetrics().lineSpacing() + 16)
    policy = notes.sizePolicy()
    policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
    notes.setSizePolicy(policy)
    return notes


class EstimateColumn:
    """Mixin of ``BatchPage`` (listed first among its bases): builds the page's estimate
    column (``estimate_label``, ``estimate_detail``, ``plan_notes``, ``deliver``,
    ``start_button``) and shows an estimate or why there is none in it."""

    # The page's, used here (annotations only).
    message: SignalInstance
    start_requested: SignalInstance
    _set_per_choices: Callable[[Table, list[PerChoice], Per], None]

    def _build_estimate(self) -> QVBoxLayout:
        right = QVBoxLayout()
        box = QGroupBox(tr("Estimate — before anything is spent"))
        el = QVBoxLayout(box)
        self.estimate_label = QLabel(
            tr("Open a spreadsheet and write a prompt to see the estimate.")
        )
        self.estimate_label.setObjectName("estimate_label")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setStyleSheet("font-size: 20px; font-weight: 600")
        self.estimate_detail = QLabel("")
        self.estimate_detail.setWordWrap(True)
        theme.styled(self.estimate_detail, "color: {muted}")
        self.plan_notes = _notes_box()
        for w in (self.estimate_label, self.estimate_detail):
            el.addWidget(w)
        el.addWidget(self.plan_notes, 1)
        right.addWidget(box, 1)
        self.deliver = DeliverBox()
        self.deliver.message.connect(self.message)
        right.addWidget(self.deliver)
        self.start_button = QPushButton(tr("Start batch"))
        self.start_button.setObjectName("start_button")
        self.start_button.setMinimumHeight(44)
        self.start_button.setStyleSheet("font-size: 15px; font-weight: 600")
        self.start_button.clicked.connect(self.start_requested)
        right.addWidget(self.start_button)
        return right

    def _show_error(self, e: Exception) -> None:
        self.estimate_label.setText(tr("Fix the settings first"))
        self.estimate_detail.setText(str(e))

    def _show(
        self, plan: Plan, args: SheetBatch, est: Estimate, choices: list[PerChoice] | None = None
    ) -> None:
        if choices is not None:
            self._set_per_choices(args.table, choices, args.per)
        self.estimate_label.setText(est.describe())
        self.estimate_detail.setText(_estimate_detail(plan, args, est))
        notes = args.table.notes + plan.skipped + plan.warnings
        more = "\n" + tr("… and {count} more").format(count=len(notes) - 500)
        self.plan_notes.setPlainText("\n".join(notes[:500]) + (more if len(notes) > 500 else ""))


class PerControl:
    """Mixin of ``BatchPage`` (listed first among its bases): "Make one image per: product /
    each Color / every row" (``per_combo``), offered once per imported table."""

    # The page's, used here (annotations only).
    _per_table: Table | None
    schedule_estimate: Callable[[], None]

    def _build_per(self) -> tuple[QLabel, QComboBox]:
        """ "Make one image per: product / each Color / every row" (``atelier.sheet.products``): the
        form's label and its combo box."""
        label = QLabel(tr("Make one image per"))
        self.per_combo = QComboBox()
        self.per_combo.setObjectName("per_combo")
        self.per_combo.setAccessibleName(tr("Make one image per"))
        label.setBuddy(self.per_combo)
        self.per_combo.addItem(tr("every row"), Per())
        self.per_combo.currentIndexChanged.connect(self.schedule_estimate)
        return label, self.per_combo

    def per(self) -> Per:
        """How many images the sheet makes: one per row, product or option value."""
        data = self.per_combo.currentData()
        return data if isinstance(data, Per) else Per()

    def offer_per(self, table: Table | None) -> None:
        """Offer what ``table`` can be made into (product, each option, every row), once per
        imported table; the choice is kept when the new table offers it."""
        if table is None or table is self._per_table:
            return
        choices = per_choices(table)
        chosen = self.per()
        self._set_per_choices(
            table, choices, chosen if chosen in [c.per for c in choices] else Per()
        )

    def select_per(self, per: Per) -> bool:
        """Choose ``per`` in the list (False: the open sheet does not offer it)."""
        i = next(
            (i for i in range(self.per_combo.count()) if self.per_combo.itemData(i) == per), -1
        )
        if i >= 0:
            self.per_combo.setCurrentIndex(i)
        return i >= 0

    def _per_for(self, args: SheetBatch) -> tuple[SheetBatch, list[PerChoice] | None]:
        """Any thread: for a sheet the list was not made for, its choices (``None``: the same
        sheet), and ``args`` with "every row" when the sheet does not offer its choice."""
        if args.table is self._per_table:
            return args, None
        choices = per_choices(args.table)
        if args.per not in [c.per for c in choices]:
            args = replace(args, per=Per())
        return args, choices

    def _set_per_choices(self, table: Table, choices: list[PerChoice], chosen: Per) -> None:
        """The list for ``table``, with ``chosen`` selected (no new estimate)."""
        self._per_table = table
        combo = self.per_combo
        combo.blockSignals(True)
        combo.clear()
        for c in choices:
            combo.addItem(c.label, c.per)
            combo.setItemData(combo.count() - 1, c.tip, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(max(0, [c.per for c in choices].index(chosen)))
        combo.blockSignals(False)
