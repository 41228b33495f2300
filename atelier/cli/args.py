"""Argument types for ``atelier run``: each flag is checked when it is read, against the same
bound the model that stores it declares (one rule, one place), so a value out of range exits 2
with a sentence naming the flag, before anything is stored or sent, also when it overrides a
batch config."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import annotated_types
from pydantic import BaseModel

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import parse_size
from atelier.sheet.products import Per


def _bounds(model: type[BaseModel], field: str) -> tuple[float | None, float | None]:
    """The ``ge``/``le`` (or ``gt``/``lt``) bounds pydantic holds for ``model.field``."""
    lo: Any = None
    hi: Any = None
    for m in model.model_fields[field].metadata:
        if isinstance(m, annotated_types.Ge):
            lo = m.ge
        elif isinstance(m, annotated_types.Gt):
            lo = m.gt  # every such bound here is on whole numbers or money: gt 0 reads as ≥ 0
        elif isinstance(m, annotated_types.Le):
            hi = m.le
        elif isinstance(m, annotated_types.Lt):
            hi = m.lt
    return lo, hi


def bounded(
    model: type[BaseModel], field: str, kind: type = int, unit: str = ""
) -> Callable[[str], Any]:
    """An argparse type: a number (``kind``) within ``model.field``'s declared bounds."""
    lo, hi = _bounds(model, field)

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            noun = (
                tr("expected a whole number, got {text!r}")
                if kind is int
                else tr("expected a number, got {text!r}")
            )
            raise argparse.ArgumentTypeError(noun.format(text=text)) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if hi is None:
                span = tr("must be at least {low:g}{unit}, got {text}")
            elif lo is None:
                span = tr("must be at most {high:g}{unit}, got {text}")
            else:
                span = tr("must be from {low:g} to {high:g}{unit}, got {text}")
            raise argparse.ArgumentTypeError(span.format(low=lo, high=hi, unit=unit, text=text))
        return value

    return parse


def size(text: str) -> str:
    """An argparse type: ``WxH`` or ``auto``."""
    try:
        parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def per(text: str) -> Per:
    """An argparse type: ``row``, ``product`` or ``option:NAME`` (``atelier.sheet.products.Per``)."""
    try:
        return Per.parse(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def delimiter(text: str) -> str:
    """An argparse type: one character, or ``tab``."""
    if text in ("tab", "\\t", "\t"):
        return "\t"
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(
            tr("a delimiter is one character (',', ';' or 'tab'), got {text!r}").format(text=text)
        )
    return text


def positive(text: str) -> int:
    """An argparse type: a whole number from 1 (a line or row number as a spreadsheet shows)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            tr("expected a whole number, got {text!r}").format(text=text)
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(tr("must be at least 1, got {text}").format(text=text))
    return value


#: The reference batch tool's environment variables (its CLI reference, "Environment
#: Variables"), read with its precedence: a flag, then the config file, then these.
ENV_OUTPUT_DIR = "OPENAI_IMAGE_OUTPUT_DIR"
ENV_MAX_CONCURRENT = "OPENAI_BATCH_MAX_CONCURRENT"
ENV_TIMEOUT = "OPENAI_BATCH_TIMEOUT"


def from_env(name: str, parse: Callable[[str], Any]) -> Any:
    """``os.environ[name]`` read with the flag's own type; ``None`` when unset or blank.

    Raises:
        InputError: the value is out of the flag's bounds (the message names the variable).
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return parse(text)
    except argparse.ArgumentTypeError as e:
        raise InputError(tr("environment variable {name}").format(name=name), str(e)) from None


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lo`` to ``hi``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                tr("expected a whole number, got {text!r}").format(text=text)
            ) from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                tr("must be from {low:g} to {high:g}{unit}, got {text}").format(
                    low=lo, high=hi, unit="", text=text
                )
            )
        return value

    return parse
