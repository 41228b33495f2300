"""Number fields read full-width digits as an IME types them (１２ → 12)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(
    ("field", "typed", "value"),
    [
        ("concurrency_spin", "１６", 16),
        ("samples_spin", "３", 3),
        ("budget_spin", "$ ２５．５", 25.5),
    ],
)
def test_full_width_digits_are_accepted(window: Any, field: str, typed: str, value: float) -> None:
    spin = getattr(window.batch, field)
    spin.lineEdit().setText(typed)
    spin.interpretText()
    assert spin.value() == value
