"""The spreadsheet page's two bars: the file bar (open, the file shown, how it is read) and
the rows bar (search, "only rows without an image", select all / none, the ticked count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from atelier.core.i18n import tr
from atelier.sheet.charsets import CANDIDATE_ENCODINGS
from atelier.studio import a11y
from atelier.studio.widgets.numbers import SpinBox

if TYPE_CHECKING:
    from atelier.studio.models import SpreadsheetModel


class SheetBars:
    """Mixin of ``SheetPage`` (listed first among its bases): builds its file and rows bars
    onto the page (``encoding_combo``, ``row_search``… are the page's attributes) and wires
    them to the page's ``choose_file``, ``reload`` and ``apply_row_filter``."""

    # The page's, used here (annotations only: the page's own methods are found at run time).
    choose_file: Callable[[], None]
    reload: Callable[[], object]
    apply_row_filter: Callable[[], None]
    sheet_model: SpreadsheetModel

    def _build_file_bar(self) -> QHBoxLayout:
        """The file bar: "Open spreadsheet…", the file shown, and how it is read."""
        bar = QHBoxLayout()
        self.open_button = QPushButton(tr("Open spreadsheet…"))
        self.open_button.clicked.connect(self.choose_file)
        bar.addWidget(self.open_button)
        self.file_label = QLabel(
            tr(
                "No spreadsheet yet — CSV (any encoding) or Excel .xlsx; you can also drop a file here."
            )
        )
        # Wrapped: a long file name or the hint must not widen the window past 1280 px.
        self.file_label.setWordWrap(True)
        bar.addWidget(self.file_label, 1)
        self._build_read_choices(bar)
        return bar

    def _build_read_choices(self, bar: QHBoxLayout) -> None:
        """Encoding, delimiter, header row and Shopify fill-down: changing one imports the
        file again (``reload``)."""
        bar.addWidget(QLabel(tr("Encoding")))
        self.encoding_combo = QComboBox()
        self.encoding_combo.addItem(tr("Auto-detect"), None)
        for enc in CANDIDATE_ENCODINGS:
            self.encoding_combo.addItem(enc.replace("_", "-").upper(), enc)
        self.encoding_combo.setObjectName("encoding_combo")
        a11y.name(self.encoding_combo, tr("Encoding"))
        bar.addWidget(self.encoding_combo)
        bar.addWidget(QLabel(tr("Delimiter")))
        self.delimiter_combo = QComboBox()
        for label, d in (
            (tr("Auto"), None),
            (tr("Comma"), ","),
            (tr("Semicolon"), ";"),
            (tr("Tab"), "\t"),
        ):
            self.delimiter_combo.addItem(label, d)
        self.delimiter_combo.setObjectName("delimiter_combo")
        a11y.name(self.delimiter_combo, tr("Delimiter"))
        bar.addWidget(self.delimiter_combo)
        bar.addWidget(QLabel(tr("Header row")))
        self.header_spin = SpinBox()
        self.header_spin.setObjectName("header_spin")
        a11y.name(self.header_spin, tr("Header row"))
        self.header_spin.setRange(0, 1_048_576)  # Excel's last row
        self.header_spin.setSpecialValueText(tr("Auto"))
        self.header_spin.setToolTip(
            tr(
                "The line (CSV) or row (Excel) the column names are on. Auto finds it below "
                "notes and titles."
            )
        )
        self.header_spin.setKeyboardTracking(False)
        bar.addWidget(self.header_spin)
        self.fill_down = QCheckBox(tr("Fill Shopify variant rows"))
        self.fill_down.setToolTip(
            tr(
                "Shopify exports write Title, Vendor… only on a product's first row; "
                "copy them to its variant rows."
            )
        )
        self.fill_down.setObjectName("fill_down_check")
        self.fill_down.setChecked(True)
        # Only a Shopify export has variant rows to fill: shown when one is open (``show_table``).
        self.fill_down.setVisible(False)
        bar.addWidget(self.fill_down)
        self.encoding_combo.activated.connect(self.reload)
        self.delimiter_combo.activated.connect(self.reload)
        self.header_spin.valueChanged.connect(self.reload)
        self.fill_down.toggled.connect(self.reload)

    def _build_rows_bar(self) -> QWidget:
        """Choosing the rows: a search, "only rows without an image", select all / none and
        how many rows are ticked. Hidden until a table is open."""
        bar = self.rows_bar = QWidget()
        bar.setObjectName("rows_bar")
        hl = QHBoxLayout(bar)
        hl.setContentsMargins(0, 0, 0, 0)
        self.row_search = QLineEdit()
        self.row_search.setObjectName("row_search")
        self.row_search.setPlaceholderText(tr("Search rows…"))
        self.row_search.setAccessibleName(tr("Search rows"))
        self.row_search.setClearButtonEnabled(True)
        a11y.name_clear_button(self.row_search, tr("Clear the search"))
        hl.addWidget(self.row_search, 1)
        self.without_image_check = QCheckBox(tr("Only rows without an image"))
        self.without_image_check.setObjectName("without_image_check")
        self.without_image_check.setAccessibleName(tr("Only rows without an image"))
        self.without_image_check.setToolTip(
            tr(
                "Rows whose photo column (Shopify Image Src or Variant Image, WooCommerce "
                "Images…) is empty."
            )
        )
        hl.addWidget(self.without_image_check)
        self.select_all_button = QPushButton(tr("Select all"))
        self.select_all_button.setObjectName("select_all_button")
        self.select_all_button.setAccessibleName(tr("Select all rows"))
        self.select_none_button = QPushButton(tr("Select none"))
        self.select_none_button.setObjectName("select_none_button")
        self.select_none_button.setAccessibleName(tr("Select no rows"))
        hl.addWidget(self.select_all_button)
        hl.addWidget(self.select_none_button)
        self.rows_label = QLabel("")
        self.rows_label.setObjectName("rows_label")
        hl.addWidget(self.rows_label)
        # A keystroke restarts the wait: one filter pass per pause in typing, not per key.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.apply_row_filter)
        self.row_search.textChanged.connect(self._search_timer.start)
        self.without_image_check.toggled.connect(self.apply_row_filter)
        self.select_all_button.clicked.connect(lambda: self.sheet_model.set_all(True))
        self.select_none_button.clicked.connect(lambda: self.sheet_model.set_all(False))
        bar.setVisible(False)
        return bar
