"""Keys through a real Secret Service (gnome-keyring under dbus-run-session in CI)."""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService

from atelier.cli.main import run_command
from atelier.core import secrets
from tests.fakes.openai_server import FakeOpenAI

REQUIRE = os.environ.get("ATELIER_REQUIRE_KEYRING") == "1"


def _secret_service_available() -> bool:
    return isinstance(keyring.get_keyring(), SecretService.Keyring)


@pytest.fixture
def real_keyring() -> None:
    if not _secret_service_available():
        if REQUIRE:
            pytest.fail(f"a Secret Service was required but keyring uses {keyring.get_keyring()!r}")
        pytest.skip("no Secret Service on this machine (the CI script starts gnome-keyring)")
    assert secrets.keyring_status() is None


def test_key_round_trip_in_real_keyring(
    real_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"sk-roundtrip-{uuid.uuid4().hex}"
    secrets.set_key("openai", key)
    try:
        got = secrets.get_key("openai")
        assert got.key == key and got.source == "keyring"
        assert key not in repr(got)
        assert keyring.get_password(os.environ["ATELIER_KEYRING_SERVICE"], "openai") == key
    finally:
        secrets.delete_key("openai")
    assert secrets.get_key("openai").source == "none"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert secrets.get_key("openai").source == "env"


def test_full_cli_run_leaks_key_nowhere(
    real_keyring: None,
    tmp_path: Path,
    data_dir: Path,
    atelier_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distinctive = f"sk-LEAKCHECK-{uuid.uuid4().hex}"
    with FakeOpenAI(api_key=distinctive) as fake:
        secrets.set_key("openai", distinctive)
        try:
            fake.script_for("city", ["invalid_api_key"])
            out = io.StringIO()
            code = run_command(
                [
                    "run",
                    str(data_dir / "batch-configs" / "batch-detailed.json"),
                    "--provider",
                    "openai",
                    "--base-url",
                    fake.base_url,
                    "--output-dir",
                    str(tmp_path / "o"),
                    "--format",
                    "json",
                ],
                out,
                io.StringIO(),
            )
        finally:
            secrets.delete_key("openai")
    assert code == 0 and json.loads(out.getvalue())["succeeded"] == 5
    assert distinctive not in out.getvalue()
    scanned = 0
    for root in (atelier_home, tmp_path / "o"):
        for p in root.rglob("*"):
            if p.is_file():
                assert distinctive.encode() not in p.read_bytes(), p
                scanned += 1
    assert scanned >= 7  # store (+WAL), settings-free home, 5 images, thumbnails, report
    from tests.support.record import record

    record(
        "key leak scan after a command-line run (keyring, one 401 on the way)",
        runs=1,
        jobs=5,
        files_scanned=scanned,
        keys_leaked=0,
        images_lost=0,
        paid_twice=0,
    )


def test_no_backend_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    assert "No keyring backend" in (secrets.keyring_status() or "")


def test_logs_redact_registered_keys_even_from_httpx_debug(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from atelier.core.logs import setup_logging

    key = f"sk-DEBUGLEAK-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    assert secrets.get_key("openai").key == key  # registers it for redaction
    handler = setup_logging(logging.DEBUG)
    try:
        logging.getLogger("httpx").debug("Authorization: Bearer %s", key)
        logging.getLogger("atelier.test").info(f"key={key}")
        with FakeOpenAI(api_key=key) as fake:
            code = run_command(
                [
                    "run",
                    "--csv",
                    str(_tiny_csv(tmp_path)),
                    "--prompt",
                    "{a}",
                    "--filename",
                    "{a}",
                    "--provider",
                    "openai",
                    "--base-url",
                    fake.base_url,
                    "--output-dir",
                    str(tmp_path / "o"),
                ],
                io.StringIO(),
                io.StringIO(),
            )
        assert code == 0
    finally:
        handler.flush()
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    text = (atelier_home / "logs" / "atelier.log").read_text(encoding="utf-8")
    assert "[REDACTED]" in text and "run started" in text
    assert key not in text


def _tiny_csv(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.csv"
    p.write_text("a\nrow-one\nrow-two\n", encoding="utf-8")
    return p
