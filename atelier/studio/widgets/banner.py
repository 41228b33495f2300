"""The error funnel: one strip at the top of the window for errors, warnings and offers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from atelier.core.i18n import tr
from atelier.core.secrets import keyring_status
from atelier.store import BatchRow, Store
from atelier.studio.look import theme


class Banner(QFrame):
    """A message with optional action buttons (each also dismisses the banner).

    Attributes:
        label: the message; buttons: the action buttons shown now; level: error/warning/info.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.level = "info"
        self.close_button = QPushButton(tr("Dismiss"))
        self.close_button.clicked.connect(self.hide)
        self._layout.addWidget(self.close_button)
        self.hide()

    def show_message(
        self,
        text: str,
        level: str = "error",
        actions: list[tuple[str, Callable[[], object]]] | None = None,
    ) -> None:
        """Show ``text`` at ``level`` with ``(label, callback)`` action buttons."""
        bg, fg = theme.banner(level)
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
            self._layout.insertWidget(self._layout.count() - 1, b)
            self.buttons.append(b)
        self.show()


def startup_notices(
    banner: Banner,
    store: Store,
    resume: Callable[[int], object],
    open_batch: Callable[[int], object],
    reopen: Callable[[BatchRow], object] | None = None,
) -> None:
    """What the studio says when it starts: a keyring that cannot keep keys, and the newest
    batch a crash or a quit interrupted, offered for resume (``reopen`` is called with it
    first: the window opens its spreadsheet again)."""
    problem = keyring_status()
    if problem:
        banner.show_message(problem, "warning")
    interrupted = store.interrupted_batches()
    if interrupted:
        b = interrupted[0]
        if reopen is not None:
            reopen(b)
        banner.show_message(
            tr(
                "Batch #{id} “{name}” was interrupted with {unfinished} of {total} jobs not "
                "done. Finished images are kept; resuming requests only the rest."
            ).format(id=b.id, name=b.name, unfinished=b.unfinished, total=b.total),
            "info",
            [(tr("Resume"), lambda: resume(b.id)), (tr("Open"), lambda: open_batch(b.id))],
        )
