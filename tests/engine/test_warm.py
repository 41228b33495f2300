"""The window's warm-up imports what a run would import on first use, and a module that
cannot be imported is left to the run (logged, never raised)."""

from __future__ import annotations

import sys

import pytest

from atelier.engine import warm


def test_the_run_modules_are_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "RUN_MODULES", (*warm.RUN_MODULES, "no_such_module_here"))
    warm.import_run_modules()
    assert all(name in sys.modules for name in warm.RUN_MODULES[:-1])
    assert "no_such_module_here" not in sys.modules
