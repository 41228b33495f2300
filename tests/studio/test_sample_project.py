"""The empty start page offers the sample project, in the system's language, ready to run on
the offline draft provider."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atelier.sheet.sample_project import sample_project
from tests.support.qt import wait_until


@pytest.mark.parametrize(
    ("lang", "first_prompt"),
    [
        ("en_GB.UTF-8", "Studio product photo of a Natural Linen Tote Bag in washed linen"),
        ("ja_JP.UTF-8", "ウォッシュドリネンの生成りのリネントートバッグ"),
    ],
)
def test_the_sample_project_runs_on_draft(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    first_prompt: str,
) -> None:
    monkeypatch.setenv("LC_ALL", lang)
    button = window.sheet.sample_button
    stack = window.sheet.sheet_stack
    assert stack.currentWidget() is window.sheet.empty_state  # offered while no file is open
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qloop.run_until_complete(wait_until(lambda: window.sheet.table is not None, 30, "the sample"))
    qloop.run_until_complete(asyncio.sleep(0))  # the starter template, once the sheet is in
    assert window.sheet.sheet_model.rowCount() == 3
    # the table (with the preview under it) replaces the offer
    assert stack.currentWidget().isAncestorOf(window.sheet.sheet_view)
    assert window.sheet.preview_prompt.text().startswith(first_prompt)
    assert window.sheet.preview_file.text() == "→ SAMPLE-TOTE-01.png"
    window.batch.select_provider("draft")
    window.batch.output_edit.setText(str(tmp_path / "sample"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the sample batch"))
    made = sorted(p.name for p in (tmp_path / "sample").glob("*.png"))
    assert made == ["SAMPLE-MUG-02.png", "SAMPLE-TOTE-01.png", "SAMPLE-TRAY-03.png"]


def test_the_sample_follows_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    assert sample_project().language == "ja"
    assert sample_project("en").template.filename == "{SKU}"
    monkeypatch.setenv("LC_ALL", "ko_KR.UTF-8")
    assert sample_project().language == "en"  # the sample has no Korean sheet yet
