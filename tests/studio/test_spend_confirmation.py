"""Issue 28, "Money: nothing is spent without a yes": a paid start, retry, regeneration and
"make more" ask one question (amount, images, provider and model, a cap from the estimate and
its margin) and $0 runs do not; the cap is on by default and its halt offers to raise it; the
progress page shows spend against the estimate and says once when answers cost more than the
margin allows; quitting while a batch runs asks, and the interrupted batch comes back with its
spreadsheet. Paid runs use the fake OpenAI server (gpt-image-1.5, low, 1024²: $0.009 an image)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel

from atelier.core.status import JobStatus
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI
from tests.support.qt import shopify_on_fake_openai, wait_until
from tests.support.record import record

SHEET = "shopify-home-goods.csv"  # 38 variant rows


class Asker:
    """Stands in for the spend question: records each question and answers with ``cap``
    (``"suggested"``: the cap the question offers), or ``None`` (no)."""

    def __init__(self, cap: float | str | None = "suggested") -> None:
        self.questions: list[Any] = []
        self.cap = cap

    def __call__(self, _parent: Any, question: Any) -> Any:
        from atelier.studio.widgets.spend_dialog import SpendAnswer  # new with the fix

        self.questions.append(question)
        if self.cap is None:
            return None
        return SpendAnswer(question.cap_usd if self.cap == "suggested" else float(self.cap))


def _paid_shop(
    window: Any, data_dir: Path, out: Path, fake: FakeOpenAI, mp: pytest.MonkeyPatch
) -> None:
    shopify_on_fake_openai(
        window,
        data_dir / SHEET,
        out,
        fake,
        mp,
        "Photo of {Title} in {Option1 Value} ({Variant SKU})",
    )
    window.batch.model_combo.setCurrentIndex(window.batch.model_combo.findData("gpt-image-1.5"))
    window.batch.size_combo.setCurrentText("1024x1024")


def _run(qloop: asyncio.AbstractEventLoop, done: list[int], n: int, what: str) -> None:
    qloop.run_until_complete(wait_until(lambda: len(done) >= n, 60, what))


# ---- 1. one question before a paid run; none for a $0 run --------------------------------------
def test_a_paid_start_asks_once_with_cost_images_model_and_cap(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask = Asker()
    window.ask_spend = ask
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the paid batch")

    assert len(ask.questions) == 1
    q = ask.questions[0]
    assert q.action == "Start" and q.estimate.images == 38
    assert q.estimate.to_pay_usd == pytest.approx(0.342)
    assert q.cap_usd == 0.38  # $0.342 and its 10 % margin, rounded up to the cent
    from atelier.studio.widgets.spend_dialog import SpendDialog

    dlg = SpendDialog(q, window)
    assert dlg.amount_label.text() == "$0.342"
    assert dlg.images_label.text() == "38"
    assert dlg.models_label.text() == "openai / gpt-image-1.5"
    assert dlg.cap_spin.value() == pytest.approx(0.38)
    assert dlg.ok_button.text() == "Start" and dlg.ok_button.accessibleName()
    assert dlg.cap_spin.accessibleName() == "Spend cap" and dlg.cap_spin.objectName()
    dlg.close()
    # the run went on under that cap, and the progress page shows spend against the estimate
    assert window.store.batch(done[0]).settings["budget_usd"] == pytest.approx(0.38)
    assert window.progress.jobs_model.counts() == {"completed": 38}
    assert "of $0.342" in window.progress.counts_label.text()
    assert len(fake_openai.requests()) == 38

    # the same batch into a new folder copies every image at $0: no question
    window.batch.output_edit.setText(str(tmp_path / "again"))
    window.start_batch()
    _run(qloop, done, 2, "the copied batch")
    assert len(ask.questions) == 1 and len(fake_openai.requests()) == 38
    assert window.progress.jobs_model.counts() == {"completed": 38}


def test_no_means_nothing_is_stored_or_sent(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask = Asker(cap=None)
    window.ask_spend = ask
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    window.start_batch()
    qloop.run_until_complete(
        wait_until(lambda: not window._starting and bool(ask.questions), 30, "the question")
    )
    qloop.run_until_complete(asyncio.sleep(0.5))
    assert len(ask.questions) == 1
    assert window.store.batches() == [] and fake_openai.requests() == []
    assert "nothing was spent" in window.statusBar().currentMessage()


def test_a_draft_run_asks_nothing(
    window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    ask = Asker()
    window.ask_spend = ask
    other: list[str] = []  # the yes/no a regeneration asked before the fix, even at $0
    window.review.ask_regenerate = lambda _parent, what: other.append(what) or True
    assert window.load_spreadsheet(data_dir / SHEET)
    window.sheet.prompt_edit.setPlainText("Photo of {Title} ({Variant SKU})")
    window.sheet.filename_edit.setText("{Variant SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(tmp_path / "draft"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the draft batch")
    assert window.progress.jobs_model.counts() == {"completed": 38}
    job = window.store.jobs(done[0])[0].id
    assert qloop.run_until_complete(window.review.regenerate([job])) == [job]  # $0: no question
    _run(qloop, done, 2, "the draft regeneration")
    assert ask.questions == [] and other == []


def test_the_dialog_reads_a_mixed_batch_and_answers_without_blocking(qtbot: Any) -> None:
    from atelier.pricing.entries import PriceQuery
    from atelier.pricing.table import PriceTable
    from atelier.studio.widgets.spend_dialog import SpendDialog, SpendQuestion, ask_spend

    est = PriceTable().estimate(
        [
            PriceQuery("openai", "gpt-image-1.5", "low", "1024x1024", 30),
            PriceQuery("openai", "gpt-image-1", "medium", "1024x1024", 10),
        ]
    )
    q = SpendQuestion("Start", est, est.suggested_cap_usd)
    dlg = SpendDialog(q)
    qtbot.addWidget(dlg)
    assert dlg.images_label.text() == "40"
    assert dlg.models_label.text().splitlines() == [
        "openai / gpt-image-1.5: 30 images · $0.270",
        "openai / gpt-image-1: 10 images · $0.420",
    ]
    assert dlg.amount_label.text() == "$0.690"
    assert dlg.cap_spin.value() == pytest.approx(0.76)  # $0.690 × 1.1 = $0.759 → $0.76

    def change_cap_and_ok() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, SpendDialog)
        box.cap_spin.setValue(1.5)
        box.ok_button.click()

    QTimer.singleShot(0, change_cap_and_ok)
    answer = ask_spend(None, q)
    assert answer is not None and answer.cap_usd == pytest.approx(1.5)

    def escape() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, SpendDialog)
        qtbot.keyClick(box, Qt.Key.Key_Escape)

    QTimer.singleShot(0, escape)
    assert ask_spend(None, q) is None


def test_retry_regenerate_and_make_more_ask_before_paying(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atelier.output.versions import Change

    ask = Asker()
    window.ask_spend = ask
    # Before the fix a regeneration asked a yes/no of its own (no cap, no model); answered
    # yes here so that code does not wait on it. The fix asks only the spend question.
    window.review.ask_regenerate = lambda _parent, _what: True
    fake_openai.script_for("NH-CND-003", ["moderation_blocked"])
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the first run")
    assert window.progress.jobs_model.counts() == {"completed": 37, "failed": 1}
    bid = done[0]
    failed = window.store.failed_job_ids(bid)
    sent = len(fake_openai.requests())

    ask.cap = None  # "Don't spend": the failed job stays failed, nothing is sent
    window.review.retry_all_failed()
    assert ask.questions[-1].action == "Retry" and ask.questions[-1].estimate.images == 1
    qloop.run_until_complete(asyncio.sleep(0.3))
    assert window.store.job(failed[0]).status == JobStatus.FAILED
    assert len(fake_openai.requests()) == sent

    ask.cap = "suggested"
    window.review.retry_all_failed()
    _run(qloop, done, 2, "the retry")
    assert window.store.job(failed[0]).status == JobStatus.COMPLETED
    assert len(ask.questions) == 3

    job = window.store.jobs(bid)[0].id
    ask.cap = None
    assert window.review.regenerate([job]) is None  # no op: the user said no
    assert ask.questions[-1].action == "Regenerate"
    assert ask.questions[-1].estimate.to_pay_usd == pytest.approx(0.009)
    assert window.review.regenerate([job], Change(samples=3)) is None
    assert ask.questions[-1].action == "Make more" and ask.questions[-1].estimate.images == 3
    assert len(ask.questions) == 5 and len(fake_openai.requests()) == sent + 1


# ---- 2. the cap is on by default; its halt offers to raise it; an overrun is said -------------
def test_the_default_cap_pauses_the_batch_and_the_banner_raises_it(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask = Asker(cap=0.05)  # the designer lowers the cap in the question: 5 images fit
    window.ask_spend = ask
    window.batch.new_images_check.setChecked(True)
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    assert window.batch.budget_spin.value() == 0  # no cap typed on the page
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the capped run")
    bid = done[0]
    counts = window.progress.jobs_model.counts()
    assert counts == {"completed": 5, "pending": 33}
    assert window.store.batch(bid).status == "paused"
    assert "Budget cap of $0.05 reached" in window.banner.label.text()
    raise_button = window.banner.buttons[0]
    assert raise_button.text() == "Raise the cap…"

    ask.cap = "suggested"
    qtbot.mouseClick(raise_button, Qt.MouseButton.LeftButton)
    q = ask.questions[-1]
    assert q.estimate.images == 33 and q.spent_usd == pytest.approx(0.045, abs=0.005)
    _run(qloop, done, 2, "the resumed run")
    assert window.progress.jobs_model.counts() == {"completed": 38}
    cap = window.store.batch(bid).settings["budget_usd"]
    assert cap == pytest.approx(q.spent_usd + q.cap_usd)
    record(
        "window: the default cap halts a paid batch, the banner raises it",
        halted_after=5,
        resumed_jobs=33,
    )


def test_cost_above_the_estimate_is_said_once_with_the_figures(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The provider bills three times the output tokens its listed price stands for.
    monkeypatch.setitem(openai_server.OUTPUT_TOKENS, ("low", "1024x1024"), 272 * 3)
    ask = Asker(cap=10.0)
    window.ask_spend = ask
    window.batch.new_images_check.setChecked(True)
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    said: list[str] = []  # every banner message that says so
    show = window.banner.show_message
    window.banner.show_message = lambda text, *a, **k: (
        said.append(text) if "costs more than estimated" in text else None,
        show(text, *a, **k),
    )
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the dear run")
    assert window.progress.jobs_model.counts() == {"completed": 38}
    # said once (not once per image), and kept on the progress page with the figures
    lines = [w.text() for w in window.progress.findChildren(QLabel) if "than estimated" in w.text()]
    assert len(said) == 1 and lines == said
    assert "10 % margin" in said[0]
    spent = window.progress.jobs_model.spend()
    assert spent > 0.342 * 1.1
    assert "of $0.342" in window.progress.counts_label.text()
    record("window: answers billed above the list price", spent_usd=spent, estimate_usd=0.342)


# ---- 3. quitting while a batch runs asks; the interrupted batch comes back with its sheet ------
def test_quit_while_running_asks_stop_or_keep_waiting(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    window.ask_spend = Asker()
    fake_openai.slow_s = 4.0
    for sku in ("NH-CND-001", "NH-CND-002", "MT-BLK-001"):
        fake_openai.script_for(sku, ["slow"])
    out = tmp_path / "shop"
    _paid_shop(window, data_dir, out, fake_openai, monkeypatch)
    window.start_batch()
    qloop.run_until_complete(
        wait_until(
            lambda: (
                window.batch_id is not None
                and window.progress.jobs_model.counts().get("completed", 0) >= 10
            ),
            30,
            "the run under way",
        )
    )
    bid = window.batch_id
    asked: list[str] = []
    quit_action = next(
        a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "Quit"
    )

    window.ask_quit_running = lambda _parent, name: asked.append(name) or False  # keep waiting
    quit_action.trigger()
    assert len(asked) == 1 and window.isVisible() and window.host.is_running(bid)

    window.ask_quit_running = lambda _parent, name: asked.append(name) or True  # stop
    quit_action.trigger()
    assert len(asked) == 2 and not window.isVisible()
    assert not window.host.is_running(bid)
    b = window.store.batch(bid)
    assert b.status == "paused" and b.unfinished > 0  # resumable


def test_an_interrupted_batch_comes_back_with_its_spreadsheet(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    from atelier.studio.app import build_window

    assert window.load_spreadsheet(data_dir / SHEET)
    window.sheet.prompt_edit.setPlainText("Photo of {Title} ({Variant SKU})")
    window.sheet.filename_edit.setText("{Variant SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    out = tmp_path / "shop"
    window.batch.output_edit.setText(str(out))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the batch")
    bid = done[0]
    window.close()
    with window.store.tx() as db:  # as left by a process that was stopped mid-batch
        db.execute("UPDATE batches SET status='paused', owner_pid=999999 WHERE id=?", (bid,))
        db.execute("UPDATE jobs SET status='pending' WHERE batch_id=? AND seq >= 30", (bid,))

    win, store2 = build_window()
    qtbot.addWidget(win)
    try:  # its spreadsheet is read off the GUI thread, then the output folder set
        qloop.run_until_complete(
            wait_until(lambda: win.batch.output_edit.text() == str(out.resolve()), 30, "sheet")
        )
        assert "was interrupted with 8 of 38 jobs not done" in win.banner.label.text()
        assert [b.text() for b in win.banner.buttons] == ["Resume", "Open"]
        assert win.sheet.table is not None and win.sheet.sheet_model.rowCount() == 38
        assert win.sheet.table.source == data_dir / SHEET
        assert win.batch.output_edit.text() == str(out.resolve())
        # Start continues the same batch: only the 8 left are made
        win.sheet.prompt_edit.setPlainText("Photo of {Title} ({Variant SKU})")
        win.sheet.filename_edit.setText("{Variant SKU}")
        win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("draft"))
        again: list[int] = []
        win.batch_done.connect(again.append)
        win.start_batch()
        _run(qloop, again, 1, "the resumed batch")
        assert again == [bid] and store2.batch(bid).counts == {"completed": 38}
    finally:
        win.close()
        store2.close()


def test_the_window_keeps_working_while_the_spend_question_is_open(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The question is a modal dialog with its own event loop. Asked inside Start's task, every
    other coroutine of the window (the estimate, a thumbnail) died while it was open ("Cannot
    enter into task … while another task … is being executed", seen in bench/window.py); asked
    from Qt's loop, they go on."""
    from PySide6.QtCore import QEventLoop

    from atelier.studio.widgets.spend_dialog import SpendAnswer

    ticks: list[int] = []
    errors: list[str] = []
    monkeypatch.setattr(window.tasks, "_on_error", errors.append)

    async def ticker() -> None:
        for i in range(5):
            await asyncio.sleep(0.02)
            ticks.append(i)

    def ask(_parent: Any, question: Any) -> Any:
        window.spawn(ticker())  # work that goes on while the designer reads the dialog
        nested = QEventLoop()  # what QDialog.exec() runs
        QTimer.singleShot(400, nested.quit)
        nested.exec()
        return SpendAnswer(question.cap_usd)

    window.ask_spend = ask
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    _run(qloop, done, 1, "the paid batch")
    assert ticks == [0, 1, 2, 3, 4] and errors == []
