"""Issue 29: a spreadsheet is imported by one function for both front ends
(``atelier.sheet.importing.import_sheet``), and the window calls it off the GUI thread: the page
says it is reading and the window stays responsive; a file that cannot be read is a message
naming it, never a traceback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer

import atelier.cli.inputs as cli_inputs
import atelier.sheet.importing as importing
import atelier.studio.pages.sheet as sheet_page
from tests.support.qt import wait_until


def _spy(
    real: Callable[..., Any], threads: list[str], release: threading.Event
) -> Callable[..., Any]:
    def read(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        release.wait(5)  # a slow disk: the window must not wait for it
        return real(*args, **kwargs)

    return read


def test_opening_a_sheet_reads_it_off_the_gui_thread_and_stays_responsive(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []
    release = threading.Event()
    for name in ("import_sheet", "read_table"):  # what the page reads a file with
        if hasattr(sheet_page, name):
            monkeypatch.setattr(sheet_page, name, _spy(getattr(sheet_page, name), threads, release))
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    page = window.sheet
    task = page.open_file(data_dir / "jp-zakka-shift_jis.csv")
    qloop.run_until_complete(wait_until(lambda: bool(threads), 10, "the read"))
    qloop.run_until_complete(asyncio.sleep(0.2))  # the file still being read
    assert threads and threads[0] != threading.main_thread().name, "read on the GUI thread"
    assert len(ticks) >= 5  # the GUI thread ran its events meanwhile
    assert page.busy and not page.open_button.isEnabled()
    assert page.file_label.text() == "Reading jp-zakka-shift_jis.csv…"
    release.set()
    assert qloop.run_until_complete(task) is True
    timer.stop()
    assert not page.busy and page.open_button.isEnabled()
    assert page.table is not None and page.sheet_model.rowCount() == 12
    assert "jp-zakka-shift_jis.csv" in page.file_label.text() and "CP932" in page.file_label.text()


def test_a_sheet_that_cannot_be_read_is_a_message_not_a_traceback(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    assert window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert not window.load_spreadsheet(empty)
    text = window.banner.label.text()
    assert "empty.csv" in text and "the file is empty" in text and "Traceback" not in text
    # the table shown before stays, and so does what the file bar said of it
    assert window.sheet.sheet_model.rowCount() == 12 and not window.sheet.busy
    assert "jp-zakka-shift_jis.csv" in window.sheet.file_label.text()


def test_a_newer_import_wins_over_an_older_one_still_reading(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    page = window.sheet
    first = page.open_file(data_dir / "shopify-home-goods.csv")
    second = page.open_file(data_dir / "jp-zakka-shift_jis.csv")
    assert qloop.run_until_complete(second) is True
    assert qloop.run_until_complete(first) is False  # stale: its table is not shown
    assert page.table is not None and page.table.source == data_dir / "jp-zakka-shift_jis.csv"


def test_both_front_ends_import_with_the_same_function() -> None:
    assert cli_inputs.import_sheet is importing.import_sheet
    assert sheet_page.import_sheet is importing.import_sheet
    for front in (cli_inputs, sheet_page):  # neither reads or prepares a table itself
        assert not hasattr(front, "read_table") and not hasattr(front, "shopify"), front
