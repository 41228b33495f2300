"""atelier/ outside studio/ never imports Qt: importing every core module loads no PySide6, shiboken6 or qasync."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import atelier
from tests.conftest import REPO


def test_core_imports_no_qt() -> None:
    modules = [
        m.name
        for m in pkgutil.walk_packages(atelier.__path__, "atelier.")
        if not m.name.startswith("atelier.studio") and not m.name.endswith("__main__")
    ]
    assert "atelier.engine.engine" in modules and "atelier.cli.main" in modules
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


def test_core_never_imports_the_window_layer() -> None:
    """Dependencies run downhill: ``atelier.studio`` uses the rest of ``atelier``, never the reverse (the ``atelier``
    command itself lives in ``atelier.studio.launch`` and chooses the window or the command line)."""
    import ast

    uphill = []
    for path in sorted((REPO / "atelier").rglob("*.py")):
        if "studio" in path.parts or path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            uphill += [
                f"{path.relative_to(REPO)}: {n}" for n in names if n.startswith("atelier.studio")
            ]
    assert uphill == []
