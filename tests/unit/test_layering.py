"""app/ never imports Qt: importing every core module loads no PySide6, shiboken6 or qasync."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import app
from tests.conftest import REPO


def test_core_imports_no_qt() -> None:
    modules = [
        m.name for m in pkgutil.walk_packages(app.__path__, "app.") if m.name != "app.__main__"
    ]
    assert "app.engine" in modules and "app.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
