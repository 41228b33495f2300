"""Keys that work on any machine: with no Secret Service, Save in Settings says why, whole (it
wraps, nothing is cut at the dialog's edge), and offers to keep the key for this session only;
the key then works (Test connection, the provider list) and is written nowhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel

from atelier.core import secrets
from tests.fakes.openai_server import FakeOpenAI

KEY = "sk-SESSIONONLY-5f0e2b"


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without a Secret Service: keyring's fail backend (every call raises
    ``NoKeyringError``), no key in the environment, nothing kept from another test."""
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setattr(secrets, "_SESSION", {})
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield
    keyring.set_keyring(before)


def _shown_whole(label: QLabel, dialog: QDialog) -> bool:
    """The label's text fits its rectangle (every wrapped line) and the rectangle lies inside
    the dialog."""
    inside = dialog.rect().contains(
        label.mapTo(dialog, QPoint(label.width() - 1, label.height() - 1))
    )
    return label.wordWrap() and label.heightForWidth(label.width()) <= label.height() and inside


def test_no_secret_service_the_key_is_kept_for_this_session(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    no_keyring: None,
    atelier_home: Path,
) -> None:
    dlg = window.open_settings()
    panel = dlg.panels["openai"]
    panel.key_edit.setText(KEY)
    buttons = dlg.findChild(QDialogButtonBox)
    qtbot.mouseClick(
        buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: dlg.keep_session.isVisible(), timeout=3000)
    assert dlg.isVisible()  # nothing saved: the dialog stays, and says why
    text = dlg.error.text()
    assert "NoKeyringError" in text and "will not be remembered" in text
    qtbot.waitUntil(lambda: _shown_whole(dlg.error, dlg), timeout=3000)
    assert dlg.keep_session.accessibleName() == "Keep for this session only"
    assert secrets.get_key("openai").source == "none"  # not kept until the user says so

    qtbot.mouseClick(dlg.keep_session, Qt.MouseButton.LeftButton)
    assert dlg.result() == QDialog.DialogCode.Accepted and not dlg.isVisible()
    found = secrets.get_key("openai")
    assert (found.source, found.key) == ("session", KEY)
    # written nowhere: not in the settings, not in any file under ATELIER_HOME
    assert not any(KEY.encode() in p.read_bytes() for p in atelier_home.rglob("*") if p.is_file())

    again = window.open_settings()  # the key works at once, no restart, no variable
    assert again.panels["openai"].key_edit.placeholderText() == "a key is kept until Atelier quits"
    row = again.provider_model.names.index("openai")
    assert again.provider_model.data(again.provider_model.index(row)).endswith("✓")
    with FakeOpenAI(api_key=KEY) as fake:
        again.panels["openai"].url_edit.setText(fake.base_url)
        assert "key accepted" in qloop.run_until_complete(again.panels["openai"].test_connection())
    again.reject()
