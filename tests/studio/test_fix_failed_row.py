"""A refused row is fixed where it failed: "Edit prompt and regenerate…" on the failed row of
the progress table opens an editor with the job's prompt and negative prompt and the cost of
making it again; OK makes that job again (same job, its next attempt) with the edited prompt,
and only that job is sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMenu

from atelier.core.status import JobStatus
from atelier.engine import controller
from atelier.studio.models import JobIdRole
from tests.fakes.openai_server import FakeOpenAI
from tests.support.qt import shopify_on_fake_openai, wait_until

MENU_TEXT = "Edit prompt and regenerate…"


def _choose_in_menu(text: str) -> list[str]:
    """The context menu about to open picks the action named ``text``, as a click would;
    returns the texts of the menu shown."""
    shown: list[str] = []

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, choose)
            return
        actions = {a.text(): a for a in menu.actions()}
        shown.extend(actions)
        menu.close()
        actions[text].trigger()

    QTimer.singleShot(20, choose)
    return shown


def test_a_refused_row_is_fixed_in_place(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_openai.script_for("NH-CND-003", ["moderation_blocked"])
    from atelier.studio.widgets.spend_dialog import SpendAnswer, SpendQuestion

    asked: list[SpendQuestion] = []

    def answer(_parent: object, question: SpendQuestion) -> SpendAnswer:
        asked.append(question)
        return SpendAnswer(question.cap_usd)

    window.ask_spend = answer  # the one money question, at Start and at the fix
    done = shopify_on_fake_openai(
        window, data_dir / "shopify-home-goods.csv", tmp_path / "out", fake_openai, monkeypatch
    )
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the run"))
    progress = window.progress
    assert progress.jobs_model.counts() == {"completed": 37, "failed": 1}
    failed = next(j for j in window.store.jobs(window.batch_id) if j.status == JobStatus.FAILED)
    assert "NH-CND-003" in failed.spec.prompt and failed.attempts == 1
    sent_before = len(fake_openai.requests())

    progress.show_failed()  # the designer filters to the failed row and right-clicks it
    view = progress.jobs_view
    idx = progress.jobs_model.index(0, 1)
    assert progress.jobs_model.data(idx, JobIdRole) == failed.id
    shown = _choose_in_menu(MENU_TEXT)
    progress._menu(view.visualRect(idx).center())
    assert MENU_TEXT in shown
    editors = [d for d in window.findChildren(QDialog) if d.objectName() == "prompt_editor"]
    assert len(editors) == 1, "the failed row opens the prompt editor"
    editor = editors[0]
    assert editor.isVisible()
    assert editor.prompt_edit.toPlainText() == failed.spec.prompt
    assert editor.negative_edit.text() == failed.spec.negative_prompt
    cost = controller.price_jobs(window.store, window.batch.prices, window.batch_id, [failed.id])
    assert cost.images == 1 and cost.priced_usd > 0
    assert editor.cost_label.text() == f"Making it again: {cost.describe()}"
    reason = editor.findChild(type(editor.cost_label), "prompt_editor_reason")
    assert "NH-CND-003.png failed" in reason.text() and "refused this prompt" in reason.text()

    fixed = "Photo of a vanilla cedar candle, studio light (NH-CND-003)"
    editor.prompt_edit.setPlainText(fixed)
    editor.negative_edit.setText("smoke")
    editor.findChild(type(editor.buttons.buttons()[0]), "prompt_editor_ok").click()
    # The fix pays: the spend question asks once more, for the one image and its price.
    assert len(asked) == 2 and asked[1].estimate.images == 1
    assert asked[1].estimate.priced_usd == pytest.approx(cost.priced_usd)
    qloop.run_until_complete(wait_until(lambda: len(done) == 2, 60, "the fixed row"))

    again = window.store.job(failed.id)
    assert again.status == JobStatus.COMPLETED
    assert again.spec.prompt == fixed and again.spec.negative_prompt == "smoke"
    assert again.attempts == 2 and again.version == 1  # its next attempt, not a new version
    sent = [e.prompt for e in fake_openai.requests()[sent_before:]]
    assert sent == [fixed]  # only that job, with the edited prompt
    assert progress.jobs_model.counts() == {"completed": 38}
    assert progress.jobs_model.prompt_of(failed.id) == fixed  # the row shows the new prompt
    assert (tmp_path / "out" / "NH-CND-003.png").is_file()
