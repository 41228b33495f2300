"""Shared fixtures: an isolated ATELIER_HOME, the fake OpenAI server, sample data paths."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.core import secrets
from atelier.core.secrets import DELIVERY_ENV
from tests.fakes.openai_server import FakeOpenAI

# The fixtures every stage's tests may ask for: the window and its loop, a real
# redis-server, moto's S3 server.
pytest_plugins = ["tests.support.qt", "tests.support.redis", "tests.support.s3"]

REPO = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    """``shared/`` (the acceptance data and docs) beside the checkout; in a throwaway clone of a
    local checkout (``git clone . /tmp/x``, as CI does), beside the checkout it was cloned from.
    ``ATELIER_SHARED`` overrides both."""
    if os.environ.get("ATELIER_SHARED"):
        return Path(os.environ["ATELIER_SHARED"])
    here = REPO.parent / "shared"
    if here.is_dir():
        return here
    origin = subprocess.run(
        ["git", "-C", str(REPO), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and (Path(origin).parent / "shared").is_dir():
        return Path(origin).parent / "shared"
    return here


SHARED = _shared_dir()
DATA = SHARED / "data"
FAKE_KEY = "sk-test-fake"


@pytest.fixture(autouse=True)
def atelier_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ATELIER_HOME and no provider environment leaks in."""
    home = tmp_path / "atelier-home"
    monkeypatch.setenv("ATELIER_HOME", str(home))
    for var in ("OPENAI_API_KEY", "ATELIER_OPENAI_BASE_URL", *DELIVERY_ENV.values()):
        monkeypatch.delenv(var, raising=False)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setattr(secrets, "_SESSION", {})
    # One keyring service per test: pytest-xdist's workers share one Secret Service, and a key
    # one test stores (or deletes) must not be seen by another; child processes inherit it.
    monkeypatch.setenv("ATELIER_KEYRING_SERVICE", f"atelier-test-{uuid.uuid4().hex[:12]}")
    return home


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI server on 127.0.0.1 accepting ``FAKE_KEY``."""
    with FakeOpenAI(api_key=FAKE_KEY) as fake:
        yield fake


@pytest.fixture
def data_dir() -> Path:
    """``shared/data`` (skips nothing: the acceptance data must exist)."""
    assert DATA.is_dir(), f"shared data not found at {DATA} (set ATELIER_SHARED)"
    return DATA


def start_cli_run(cfg: Path, out: Path, base_url: str, home: Path) -> subprocess.Popen[str]:
    """``atelier run CFG`` against a fake OpenAI server, in its own process (so it can be killed)."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": FAKE_KEY,
        "ATELIER_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atelier.cli",
            "run",
            str(cfg),
            "--provider",
            "openai",
            "--base-url",
            base_url,
            "--output-dir",
            str(out),
            "--format",
            "json",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: pytest-xdist hands tests out in this order, so the long ones start
    at once instead of holding one worker after the others are done."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
