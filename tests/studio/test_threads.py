"""Background work never touches a widget (Anki's ``CollectionOp`` rule): starting a batch
reads every widget on the GUI thread and hands plain values to the worker thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from tests.support.qt import wait_until

# Every widget the start path reads, found by object name so the test does not depend on
# which page holds it; the getters a start may call on each.
WATCHED: dict[str, tuple[type[QWidget], tuple[str, ...]]] = {
    "workflow_edit": (QLineEdit, ("text",)),
    "output_edit": (QLineEdit, ("text",)),
    "filename_edit": (QLineEdit, ("text",)),
    "budget_spin": (QDoubleSpinBox, ("value",)),
    "prompt_edit": (QPlainTextEdit, ("toPlainText",)),
    "provider_combo": (QComboBox, ("currentData", "currentText")),
    "model_combo": (QComboBox, ("currentData", "currentText")),
    "size_combo": (QComboBox, ("currentData", "currentText")),
}


def _spy(widget: QWidget, name: str, seen: list[tuple[str, str]]) -> None:
    real: Callable[..., Any] = getattr(widget, name)

    def wrapper(*args: Any) -> Any:
        seen.append((f"{widget.objectName()}.{name}", threading.current_thread().name))
        return real(*args)

    setattr(widget, name, wrapper)


def test_starting_a_batch_reads_widgets_only_on_the_gui_thread(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    window.findChild(QPlainTextEdit, "prompt_edit").setPlainText("Photo of {Title}")
    window.findChild(QLineEdit, "filename_edit").setText("{Variant SKU}")
    window.findChild(QLineEdit, "output_edit").setText(str(tmp_path / "out"))
    window.findChild(QDoubleSpinBox, "budget_spin").setValue(5.0)
    combo = window.findChild(QComboBox, "provider_combo")
    combo.setCurrentIndex(combo.findData("draft"))
    seen: list[tuple[str, str]] = []
    for name, (cls, getters) in WATCHED.items():
        widget = window.findChild(cls, name)
        assert widget is not None, name
        for getter in getters:
            _spy(widget, getter, seen)
    done: list[int] = []
    window.batch_done.connect(done.append)
    gui = threading.current_thread().name
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the batch"))
    assert ("workflow_edit.text", gui) in seen or ("budget_spin.value", gui) in seen
    off_thread = sorted({what for what, thread in seen if thread != gui})
    assert off_thread == [], f"read from a worker thread: {off_thread}"
    assert window.store.batch(done[0]).settings["budget_usd"] == 5.0


def test_the_window_asks_before_it_touches_the_users_files(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    from atelier.studio.widgets.questions import KEEP

    out = tmp_path / "out"
    out.mkdir()
    (out / "NH-CND-001.png").write_bytes(b"the designer's own photo")
    assert window.load_spreadsheet(data_dir / "shopify-home-goods.csv")
    window.findChild(QPlainTextEdit, "prompt_edit").setPlainText("Photo of {Title}")
    window.findChild(QLineEdit, "filename_edit").setText("{Variant SKU}")
    window.findChild(QLineEdit, "output_edit").setText(str(out))
    combo = window.findChild(QComboBox, "provider_combo")
    combo.setCurrentIndex(combo.findData("draft"))
    asked: list[list[str]] = []
    window.ask_about_user_files = lambda _parent, paths: asked.append(paths)  # says "Cancel"
    window.start_batch()
    qloop.run_until_complete(
        wait_until(lambda: bool(asked) and not window._starting, 30, "the question")
    )
    assert asked == [["NH-CND-001.png"]] and window.store.batches() == []
    window.ask_about_user_files = lambda _parent, paths: KEEP
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the batch"))
    assert (out / "NH-CND-001.png").read_bytes() == b"the designer's own photo"
    assert (out / "NH-CND-001-2.png").is_file()
