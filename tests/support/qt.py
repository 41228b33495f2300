"""UI fixtures: offscreen Qt, a qasync loop, the studio window on an isolated ATELIER_HOME."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    from atelier.studio.loop import WindowLoop

    loop = WindowLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()  # joins qasync's executor threads (asyncio.to_thread work)
    asyncio.set_event_loop(None)


@pytest.fixture
def window(qtbot: Any, qloop: asyncio.AbstractEventLoop, atelier_home: Any) -> Iterator[Any]:
    from atelier.studio.app import build_window

    win, store = build_window()
    # A paid action asks the spend question in a modal dialog, which would hang a test that
    # does not answer it: by default it is answered yes with the suggested cap and recorded in
    # ``win.spend_asked``; tests about the question replace ``win.ask_spend``.
    from atelier.studio.widgets.spend_dialog import SpendAnswer

    win.spend_asked = []

    def say_yes(_parent: Any, question: Any) -> Any:
        win.spend_asked.append(question)
        return SpendAnswer(question.cap_usd)

    win.ask_spend = say_yes
    # A spreadsheet is imported off the GUI thread: tests that go on with its table wait for
    # the import, as the user does (its result: imported or not).
    opened = win.load_spreadsheet

    def load_spreadsheet(path: Any) -> bool:
        task = opened(path)
        return task is not None and bool(qloop.run_until_complete(task))

    win.load_spreadsheet = load_spreadsheet
    qtbot.addWidget(win)
    win.resize(1400, 880)
    win.show()
    yield win
    win.close()
    store.close()


def imported(qloop: asyncio.AbstractEventLoop, win: Any) -> None:
    """Let the spreadsheet import in progress (``SheetPage.open_file``/``reload``, off the GUI
    thread) end."""
    qloop.run_until_complete(wait_until(lambda: not win.sheet.busy, 30, "the import"))


async def wait_until(
    pred: Callable[[], bool], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Let the Qt + asyncio loop run until ``pred()`` holds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def shopify_on_fake_openai(
    window: Any,
    sheet: Any,
    out: Any,
    fake: Any,
    monkeypatch: pytest.MonkeyPatch,
    prompt: str = "Photo of {Title} ({Variant SKU})",
) -> list[int]:
    """The paid run most window tests start from: the Shopify export ``sheet`` imported, one
    image per row named by ``{Variant SKU}``, OpenAI at quality low into ``out``, its key and
    address those of the fake server ``fake``. Returns the list each finished batch's id is
    appended to (``batch_done``); Start is the test's."""
    from tests.conftest import FAKE_KEY

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake.base_url)
    done: list[int] = []
    window.batch_done.connect(done.append)
    assert window.load_spreadsheet(sheet)
    window.sheet.prompt_edit.setPlainText(prompt)
    window.sheet.filename_edit.setText("{Variant SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("openai"))
    window.batch.quality_combo.setCurrentText("low")
    window.batch.output_edit.setText(str(out))
    return done
