"""Page 1, spreadsheet & template: import a CSV/XLSX, write the prompt, negative prompt and
file-name templates, and preview the selected row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from atelier.core.errors import AtelierError, InputError
from atelier.core.i18n import tr
from atelier.sheet.importing import import_sheet
from atelier.sheet.library import BatchTemplate
from atelier.sheet.plan import RowColumns
from atelier.sheet.render import check_templates, preview_row
from atelier.sheet.tabular import Table
from atelier.studio import a11y
from atelier.studio.look import theme
from atelier.studio.look.fit import scrolling
from atelier.studio.models import RowFilterProxy, SpreadsheetModel
from atelier.studio.pages.sheet_bars import SheetBars
from atelier.studio.widgets.empty_state import EmptyState
from atelier.studio.widgets.library_box import LibraryBox
from atelier.studio.widgets.reference_preview import ReferencePreview, Spawn
from atelier.studio.widgets.template_form import TemplateForm


def spreadsheet_filter() -> str:
    """The file dialog's filter for spreadsheets, in the language in force."""
    return tr("Spreadsheets ({patterns});;All files (*)").format(
        patterns="*.csv *.tsv *.txt *.xlsx *.xlsm"
    )


def _label(text: str = "", style: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if style:
        theme.styled(label, style)
    if name:
        label.setObjectName(name)
    return label


class SheetPage(SheetBars, QWidget):
    """The spreadsheet and the templates.

    Signals:
        templates_changed(): a template, a steering column or the table changed.
        imported(object): a spreadsheet (its ``Path``) was imported.
        next_requested(): "Next: batch settings".
        import_failed(str): re-importing with other choices failed, with the reason.
        rows_changed(): the rows chosen for the batch changed (a tick, all, none).

    Attributes:
        table: the imported table (``None`` before the first import).
    """

    templates_changed = Signal()
    imported = Signal(object)
    next_requested = Signal()
    import_failed = Signal(str)
    sample_requested = Signal()
    rows_changed = Signal()

    def __init__(
        self,
        template: dict[str, str],
        parent: QWidget | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        super().__init__(parent)
        self.table: Table | None = None
        self._spawn = spawn
        self._imports = 0  # imports asked for: only the newest one's table is shown
        self._reading = False
        self._file_text = ""
        self.output_format = "png"
        outer = QVBoxLayout(self)
        outer.addLayout(self._build_file_bar())
        self.notes_label = _label(style="color: {warning}")
        outer.addWidget(self.notes_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.sheet_stack = QStackedWidget()
        self.empty_state = EmptyState(self.choose_file, self.sample_requested.emit)
        self.sample_button = self.empty_state.sample_button
        self.sheet_stack.addWidget(self.empty_state)
        # The preview sits under the rows it previews: in the editor column it was below the
        # fold at 1280×800 in CJK fonts, where the templates and the library fill the height.
        rows = QWidget()
        rows_layout = QVBoxLayout(rows)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addWidget(self._build_sheet(), 1)
        rows_layout.addWidget(self._build_preview())
        self.sheet_stack.addWidget(rows)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self._build_rows_bar())
        ll.addWidget(self.sheet_stack, 1)
        split.addWidget(left)
        split.addWidget(self._build_editor(template))
        split.setSizes([850, 500])
        outer.addWidget(split, 1)

    # ---- construction (the file and rows bars: ``SheetBars``) ---------------------------------
    def _build_sheet(self) -> QTableView:
        self.sheet_model = SpreadsheetModel(self)
        self.sheet_model.ticks_changed.connect(self._ticks_changed)
        self.sheet_proxy = RowFilterProxy(self.sheet_model, self)
        view = self.sheet_view = QTableView()
        view.setObjectName("sheet_view")
        a11y.name(view, tr("Spreadsheet"))
        view.setModel(self.sheet_proxy)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.verticalHeader().setDefaultSectionSize(24)
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        view.horizontalHeader().setDefaultSectionSize(140)
        view.setWordWrap(False)
        view.selectionModel().currentRowChanged.connect(lambda *_: self.update_preview())
        return view

    def _build_editor(self, template: dict[str, str]) -> QWidget:
        panel = QWidget()
        pl = QVBoxLayout(panel)
        pl.setContentsMargins(8, 0, 0, 0)
        self.library = LibraryBox()
        pl.addWidget(self.library)
        self.form = TemplateForm(template)
        self.form.changed.connect(self._changed)
        # The page's own code and its tests reach the fields by these names.
        self.prompt_edit, self.negative_edit = self.form.prompt_edit, self.form.negative_edit
        self.filename_edit, self.variations_edit = (
            self.form.filename_edit,
            self.form.variations_edit,
        )
        self.reference_combo = self.form.reference_combo
        self.provider_col_combo = self.form.provider_col_combo
        pl.addWidget(self.form)
        self.problems_label = _label(style="color: {error}", name="problems_label")
        pl.addWidget(self.problems_label)
        next_button = QPushButton(tr("Next: batch settings and estimate →"))
        next_button.clicked.connect(self.next_requested)
        pl.addWidget(next_button)
        pl.addStretch(1)
        # On a screen smaller than 1280×800 the templates and the library are taller than the
        # room under the toolbar: the column scrolls.
        return scrolling(panel, horizontal=False)

    def _build_preview(self) -> QGroupBox:
        prev = QGroupBox(tr("Preview of the selected row"))
        vl = QVBoxLayout(prev)
        self.preview_prompt = _label("—", "font-size: 14px", "preview_prompt")
        self.preview_prompt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_negative = _label(style="color: {muted}")
        self.preview_file = _label(style="font-family: monospace", name="preview_file")
        self.preview_empty = _label(style="color: {warning}")
        self.preview_reference = ReferencePreview(self._spawn, self.update_preview)
        for lab in (
            self.preview_prompt,
            self.preview_negative,
            self.preview_file,
            self.preview_empty,
            self.preview_reference,
        ):
            vl.addWidget(lab)
        return prev

    # ---- public API --------------------------------------------------------------------------
    def choose_file(self) -> None:
        """Ask for a spreadsheet and import it."""
        path, _ = QFileDialog.getOpenFileName(
            self, tr("Open spreadsheet"), str(Path.home()), spreadsheet_filter()
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> asyncio.Future[Any] | None:
        """Import ``path`` with detected encoding and delimiter, off the GUI thread (the page
        says it is reading meanwhile); a failure is emitted as ``import_failed``, a success as
        ``imported``. Returns the import's task (its result: whether ``path`` was imported)."""
        self.encoding_combo.setCurrentIndex(0)
        self.delimiter_combo.setCurrentIndex(0)
        with QSignalBlocker(self.header_spin):
            self.header_spin.setValue(0)
        return self._import(path, imported=True)

    def reload(self) -> asyncio.Future[Any] | None:
        """Import the same file again with the bar's choices (off the GUI thread); a failure
        is emitted as ``import_failed``. Returns the import's task (``None``: no file)."""
        if self.table is None:
            return None
        return self._import(self.table.source, imported=False)

    def _import(self, path: Path, imported: bool) -> asyncio.Future[Any] | None:
        """Read the bar's choices here (GUI thread), ``import_sheet`` in a worker thread, and
        show the table; a newer import makes an older one's table stale (dropped)."""
        choices = {
            "encoding": self.encoding_combo.currentData(),
            "delimiter": self.delimiter_combo.currentData(),
            "header_row": self.header_spin.value() or None,
            "fill_down": self.fill_down.isChecked(),
        }
        self._imports += 1
        ticket = self._imports
        self._set_reading(path)

        async def read() -> bool:
            try:
                table = await asyncio.to_thread(import_sheet, path, **choices)
            except AtelierError as e:
                if ticket == self._imports:
                    self._set_reading(None)
                    self.import_failed.emit(str(e))
                return False
            except BaseException:
                if ticket == self._imports:
                    self._set_reading(None)
                raise  # the window's error funnel says it
            if ticket != self._imports:
                return False
            self._set_reading(None)
            self.show_table(path, table)
            if imported:
                self.imported.emit(path)
            return True

        if self._spawn is None:  # a page without the window's loop: none in the studio
            read().close()
            raise RuntimeError("SheetPage needs spawn to import a file")
        task = self._spawn(read())
        return task if isinstance(task, asyncio.Future) else None

    @property
    def busy(self) -> bool:
        """A file is being read (``open_file``, ``reload``)."""
        return self._reading

    def _set_reading(self, path: Path | None) -> None:
        """The busy state while ``path`` is read (``None``: done): the file bar says so and
        its choices wait; the rest of the page stays usable."""
        reading = path is not None
        if reading and not self._reading:
            self._file_text = self.file_label.text()
        if path is not None:
            self.file_label.setText(tr("Reading {name}…").format(name=path.name))
        elif self._reading:  # what it said before (a table shown next says what it is)
            self.file_label.setText(self._file_text)
        self._reading = reading
        for w in (
            self.open_button,
            self.encoding_combo,
            self.delimiter_combo,
            self.header_spin,
            self.fill_down,
        ):
            w.setEnabled(not reading)
        if reading:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def show_table(self, path: Path, table: Table) -> None:
        """Show imported ``table`` (of ``path``): its rows, what was detected, its columns."""
        self.header_spin.setSpecialValueText(tr("Auto ({line})").format(line=table.header_line))
        self.header_spin.updateGeometry()  # the longer text needs a wider box
        self.fill_down.setVisible(table.is_shopify())
        if self.table is None or self.table.source != path:
            # Another file: a search left from the last one would hide its rows unasked.
            with QSignalBlocker(self.row_search), QSignalBlocker(self.without_image_check):
                self.row_search.clear()
                self.without_image_check.setChecked(False)
        self.table = table
        self.sheet_model.set_table(table)
        self.rows_bar.setVisible(True)
        self.apply_row_filter()
        self.sheet_stack.setCurrentIndex(1)  # the table, in place of the empty start page
        enc = table.encoding.replace("_", "-").upper() if table.encoding else "Excel"
        delim = {",": tr("comma"), ";": tr("semicolon"), "\t": tr("tab")}.get(
            table.delimiter or "", ""
        )
        counts = tr("{rows} rows · {columns} columns").format(
            rows=f"{len(table.rows):,}", columns=len(table.headers)
        )
        header = tr("header on {place}").format(place=table.header_at())
        self.file_label.setText(
            f"<b>{path.name}</b> · {counts} · {enc}{' · ' + delim if delim else ''} · {header}"
        )
        self.notes_label.setText("\n".join(table.notes))
        self.form.set_columns(table.headers)
        if self.sheet_proxy.rowCount():
            self.sheet_view.selectionModel().setCurrentIndex(
                self.sheet_proxy.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        self._changed()

    def planned_rows(self) -> tuple[int, ...] | None:
        """The ticked rows (0-based, sheet order) for ``SheetBatch.rows``; ``None``: every row
        (or no table)."""
        selection = self.sheet_model.selection
        return selection.planned() if selection is not None else None

    def apply_row_filter(self) -> None:
        """Show only the rows the search and "only rows without an image" let through."""
        self._search_timer.stop()
        self.sheet_proxy.set_filter(self.row_search.text(), self.without_image_check.isChecked())
        self._show_row_count()
        selection = self.sheet_view.selectionModel()
        if not selection.currentIndex().isValid() and self.sheet_proxy.rowCount():
            # The previewed row was filtered out: preview the first row shown instead.
            selection.setCurrentIndex(
                self.sheet_proxy.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def prompt(self) -> str:
        """The prompt template."""
        return self.form.prompt()

    def template(self) -> dict[str, str]:
        """The templates as typed (kept in settings for the next start)."""
        return self.form.template()

    def variations(self) -> dict[str, list[str]]:
        """The variations as typed; raises ``InputError`` naming the line it cannot read."""
        return self.form.variations()

    def apply_template(self, t: BatchTemplate) -> None:
        """Show a library template's prompt, negative prompt, file name and variations."""
        self.form.apply_template(t)

    def columns(self) -> RowColumns:
        """The steering columns chosen (reference image, provider per row)."""
        return self.form.columns()

    def negative(self) -> str:
        """The negative prompt template, or ``""`` when the provider takes none."""
        return self.form.negative()

    def set_output_format(self, fmt: str) -> None:
        """The extension the preview's file name gets."""
        self.output_format = fmt or "png"
        self.update_preview()

    def update_preview(self) -> None:
        """Render the selected row with the current templates."""
        if self.table is None or not self.table.rows:
            return
        prompt = self.prompt()
        current = self.sheet_proxy.mapToSource(self.sheet_view.selectionModel().currentIndex())
        row = max(0, current.row())
        if not prompt.strip():
            self.problems_label.setText("")
            self.preview_prompt.setText(tr("Write a prompt template on the right."))
            return
        try:
            names = [*self.table.headers, *self.variations()]
        except InputError as e:
            self.problems_label.setText(str(e))
            return
        problems = check_templates(
            names, prompt, self.filename_edit.text(), self.negative_edit.text()
        )
        self.problems_label.setText("\n".join(problems))
        if problems:
            return
        p = preview_row(
            self.table,
            row,
            prompt,
            self.filename_edit.text(),
            self.negative_edit.text(),
            self.output_format,
            self.variations(),
        )
        self.preview_prompt.setText(p.prompt)
        self.preview_negative.setText(
            tr("Negative: {prompt}").format(prompt=p.negative_prompt) if p.negative_prompt else ""
        )
        combos = 1
        for values in self.variations().values():
            combos *= len(values)
        more = (
            "   " + tr("(the first of {count} variations of this row)").format(count=combos)
            if combos > 1
            else ""
        )
        self.preview_file.setText(f"→ {p.file_name}{more}")
        self.preview_empty.setText(
            tr("Row {row}: empty {columns}").format(
                row=row + 1, columns=", ".join("{" + c + "}" for c in p.empty)
            )
            if p.empty
            else ""
        )
        column = self.reference_combo.currentData()
        cell = self.table.row_dict(row).get(column, "").strip() if column else ""
        self.preview_reference.show_cell(cell, self.table.source.parent)

    # ---- internals ---------------------------------------------------------------------------
    def _ticks_changed(self) -> None:
        self._show_row_count()
        self.rows_changed.emit()

    def _show_row_count(self) -> None:
        selection = self.sheet_model.selection
        if selection is None:
            self.rows_label.setText("")
            return
        text = tr("{ticked:,} of {rows:,} rows ticked").format(
            ticked=selection.ticked_count(), rows=selection.tickable_count()
        )
        if selection.filtering():
            text += " · " + tr("{shown:,} shown").format(shown=selection.shown_count())
        self.rows_label.setText(text)

    def _changed(self) -> None:
        self.update_preview()
        self.templates_changed.emit()
