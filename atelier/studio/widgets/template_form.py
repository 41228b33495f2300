"""The template box of the spreadsheet page: prompt, negative prompt, file name, variations
and the steering columns (reference image, provider per row)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QPlainTextEdit, QWidget

from atelier.core.i18n import tr
from atelier.providers.base import Capabilities
from atelier.sheet.library import BatchTemplate
from atelier.sheet.plan import RowColumns
from atelier.sheet.variations import format_variations, parse_variations


class TemplateForm(QGroupBox):
    """The templates as typed and the steering columns chosen.

    Signals:
        changed(): a template or a steering column changed.

    Args:
        template: ``{"prompt", "negative", "filename"}`` to start with (from settings).
    """

    changed = Signal()

    def __init__(self, template: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # i18n: the braces are an example of the syntax, not a format field
        self.setTitle(tr("Template — write {column name} to use a column"))
        form = QFormLayout(self)
        self.insert_combo = QComboBox()
        self.insert_combo.setPlaceholderText(tr("Insert a column into the prompt…"))
        self.insert_combo.activated.connect(self._insert_column)
        form.addRow(tr("Columns"), self.insert_combo)
        self.prompt_edit = QPlainTextEdit(template.get("prompt", ""))
        self.prompt_edit.setObjectName("prompt_edit")
        self.prompt_edit.setPlaceholderText(
            # i18n: {Title}, {Option1 Value}: Shopify columns, not a format field; keep them
            tr("Studio product photo of {Title} in {Option1 Value}, soft daylight")
        )
        self.prompt_edit.setMaximumHeight(110)
        form.addRow(tr("Prompt"), self.prompt_edit)
        self.negative_edit = QLineEdit(template.get("negative", ""))
        self.negative_edit.setPlaceholderText(tr("optional: text, watermark, blurry"))
        form.addRow(tr("Negative prompt"), self.negative_edit)
        self.filename_edit = QLineEdit(template.get("filename", ""))
        self.filename_edit.setObjectName("filename_edit")
        self.filename_edit.setPlaceholderText(
            # i18n: {Variant SKU}: a Shopify column, not a format field; keep it
            tr("{Variant SKU}  (extension added from the output format)")
        )
        form.addRow(tr("File name"), self.filename_edit)
        self.variations_edit = QPlainTextEdit()
        self.variations_edit.setObjectName("variations_edit")
        self.variations_edit.setPlaceholderText(
            tr("optional, one per line: scene: marble table | linen | outdoor")
        )
        self.variations_edit.setToolTip(
            # i18n: {scene} is the variation's name from the example, not a format field
            tr(
                "Every row is made once per value (per combination, with several lines); use "
                "{scene} in the prompt and the file name"
            )
        )
        self.variations_edit.setMaximumHeight(60)
        self.variations_edit.textChanged.connect(lambda *_: self.changed.emit())
        form.addRow(tr("Variations"), self.variations_edit)
        self._build_columns(form)
        for edit in (self.negative_edit, self.filename_edit):
            edit.textChanged.connect(lambda *_: self.changed.emit())
        self.prompt_edit.textChanged.connect(lambda *_: self.changed.emit())

    def _build_columns(self, form: QFormLayout) -> None:
        self.reference_combo = QComboBox()
        self.reference_combo.setObjectName("reference_combo")
        self.reference_combo.setToolTip(
            tr(
                "A column with the image each row restages: a file path (relative to the "
                "spreadsheet) or http(s) URLs (Shopify Image Src, WooCommerce Images)"
            )
        )
        self.provider_col_combo = QComboBox()
        self.provider_col_combo.setObjectName("provider_col_combo")
        self.provider_col_combo.setToolTip(
            tr("A column naming each row's provider (blank cells: the batch's)")
        )
        for combo in (self.reference_combo, self.provider_col_combo):
            combo.addItem(tr("(none)"), None)
            combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
        form.addRow(tr("Reference image"), self.reference_combo)
        form.addRow(tr("Provider per row"), self.provider_col_combo)

    def prompt(self) -> str:
        """The prompt template."""
        return self.prompt_edit.toPlainText()

    def template(self) -> dict[str, str]:
        """The templates as typed (kept in settings for the next start)."""
        return {
            "prompt": self.prompt(),
            "filename": self.filename_edit.text(),
            "negative": self.negative_edit.text(),
        }

    def variations(self) -> dict[str, list[str]]:
        """The variations as typed.

        Raises:
            InputError: naming the line that cannot be read.
        """
        return parse_variations(self.variations_edit.toPlainText())

    def apply_template(self, t: BatchTemplate) -> None:
        """Show a library template's prompt, negative prompt, file name and variations."""
        self.prompt_edit.setPlainText(t.prompt)
        self.negative_edit.setText(t.negative_prompt)
        self.filename_edit.setText(t.filename)
        self.variations_edit.setPlainText(format_variations(t.variations))

    def columns(self) -> RowColumns:
        """The steering columns chosen (reference image, provider per row)."""
        return RowColumns(
            reference=self.reference_combo.currentData(),
            provider=self.provider_col_combo.currentData(),
        )

    def set_provider(self, caps: Capabilities) -> None:
        """Enable the negative prompt only where the provider takes one."""
        self.negative_edit.setEnabled(caps.negative_prompt)
        why = tr("{provider} does not take a negative prompt").format(provider=caps.label)
        self.negative_edit.setToolTip("" if caps.negative_prompt else why)

    def negative(self) -> str:
        """The negative prompt template, or ``""`` when the provider takes none."""
        return self.negative_edit.text() if self.negative_edit.isEnabled() else ""

    def set_columns(self, headers: list[str]) -> None:
        """Offer the spreadsheet's column names in the insert and steering combos."""
        self.insert_combo.clear()
        self.insert_combo.addItems(headers)
        for combo in (self.reference_combo, self.provider_col_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(tr("(none)"), None)
            for h in headers:
                combo.addItem(h, h)
            combo.blockSignals(False)

    def _insert_column(self, i: int) -> None:
        self.prompt_edit.insertPlainText("{" + self.insert_combo.itemText(i) + "}")
        self.prompt_edit.setFocus()
