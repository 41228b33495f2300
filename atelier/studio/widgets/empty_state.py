"""The spreadsheet page before any file is open: what to do first, in big type, with the two
ways to begin (open a spreadsheet, or try the sample project on the offline draft provider)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from atelier.core.i18n import tr
from atelier.studio.look import theme


class EmptyState(QWidget):
    """Shown in place of the spreadsheet table until a file is open.

    Attributes:
        sample_button: loads the sample project; open_button: the file dialog.
    """

    def __init__(self, on_open: Callable[[], None], on_sample: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("empty_state")
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        title = QLabel(tr("Start with a spreadsheet of your products"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 22px; font-weight: 600")
        lay.addWidget(title)
        hint = QLabel(
            tr(
                "CSV in any encoding (UTF-8, Shift_JIS, GB18030, Big5, EUC-KR…) or Excel .xlsx,\n"
                "a Shopify export as it is. Drop a file here, or:"
            )
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.styled(hint, "color: {muted}")
        lay.addWidget(hint)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = QPushButton(tr("Open spreadsheet…"))
        self.open_button.clicked.connect(on_open)
        self.sample_button = QPushButton(tr("Try the sample project"))
        self.sample_button.setObjectName("sample_button")
        self.sample_button.setToolTip(
            tr("Three products and a starter template, made on the offline draft provider ($0)")
        )
        self.sample_button.setDefault(True)
        self.sample_button.clicked.connect(on_sample)
        for b in (self.open_button, self.sample_button):
            b.setMinimumHeight(40)
            b.setStyleSheet("font-size: 15px; padding: 0 18px")
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(3)
