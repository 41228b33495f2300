"""Number fields that take digits as an IME types them: full-width ``１２`` (and ``．``, ``－``)
are read as ``12`` (Unicode NFKC), so a designer typing in Japanese or Chinese mode need not
switch the IME off for a count, a seed or a spend cap."""

from __future__ import annotations

import unicodedata

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox


def narrow(text: str) -> str:
    """``text`` with full-width digits, signs and points as their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


class SpinBox(QSpinBox):
    """A ``QSpinBox`` that accepts full-width digits."""

    def validate(self, text: str, pos: int) -> object:
        return super().validate(narrow(text), pos)

    def valueFromText(self, text: str) -> int:
        return super().valueFromText(narrow(text))


class DoubleSpinBox(QDoubleSpinBox):
    """A ``QDoubleSpinBox`` that accepts full-width digits and points."""

    def validate(self, text: str, pos: int) -> object:
        return super().validate(narrow(text), pos)

    def valueFromText(self, text: str) -> float:
        return super().valueFromText(narrow(text))
