"""argparse in the language in force.

argparse words its refusals and help headings in English through ``gettext.gettext`` (the
module's ``_`` and ``ngettext``, default domain), and names a type it could not convert by its
Python name (``invalid int value: 'x'``), so a Japanese, Chinese or Korean user saw English in
an otherwise translated line. ``TranslatedParser`` swaps argparse's two functions for our
catalog (``ARGPARSE_MESSAGES``) while it builds, parses and formats help, and converts ``int``
and ``float`` flags with our own sentences. Our msgids use ``{field}`` like every other
message; they are turned into the ``%(field)s`` argparse fills (a translation that lost or
renamed a field falls back to argparse's English instead of failing).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from atelier.core.i18n import N_, tr

# argparse's English (Python 3.11–3.13) → our msgid. Only what a user sees: the refusals
# and the help's headings, not the messages about a wrongly built parser.
ARGPARSE_MESSAGES: dict[str, str] = {
    "usage: ": N_("usage: "),
    "positional arguments": N_("positional arguments"),
    "options": N_("options"),
    "show this help message and exit": N_("show this help message and exit"),
    "argument %(argument_name)s: %(message)s": N_("argument {argument_name}: {message}"),
    "unrecognized arguments: %s": N_("unrecognized arguments: {arguments}"),
    "the following arguments are required: %s": N_(
        "the following arguments are required: {arguments}"
    ),
    "one of the arguments %s is required": N_("one of the arguments {arguments} is required"),
    "not allowed with argument %s": N_("not allowed with argument {argument}"),
    "ignored explicit argument %r": N_("ignored explicit argument {value!r}"),
    "expected one argument": N_("expected one value"),
    "expected at most one argument": N_("expected at most one value"),
    "expected at least one argument": N_("expected at least one value"),
    "ambiguous option: %(option)s could match %(matches)s": N_(
        "ambiguous option: {option} could match {matches}"
    ),
    "unexpected option string: %s": N_("unexpected option string: {option}"),
    "invalid %(type)s value: %(value)r": N_("invalid value: {value!r}"),
    "invalid choice: %(value)r (choose from %(choices)s)": N_(
        "invalid choice: {value!r} (choose from {choices})"
    ),
    "unknown parser %(parser_name)r (choices: %(choices)s)": N_(
        "unknown command {parser_name!r} (choose from {choices})"
    ),
    "expected %s argument": N_("expected {count} value(s)"),
    "expected %s arguments": N_("expected {count} value(s)"),
}

_BRACE_FIELD = re.compile(r"\{(\w+)(?:!([rs]))?\}")
_PERCENT_FIELD = re.compile(r"%(?:\((\w+)\))?([rsd])")


def _as_percent(ours: str, source: str) -> str:
    """Our ``{field}`` text as argparse's ``%``-template ``source`` expects it: named fields
    where ``source`` names them, else the one positional ``%s``/``%r``. Returns ``source``
    when the translation carries a field ``source`` does not fill (or, for a positional
    ``source``, not exactly its one field). A named field of ``source`` that the translation
    leaves out is fine: ``%``-formatting with a mapping ignores unused keys, and our
    ``invalid value: {value!r}`` drops argparse's ``%(type)s`` on purpose."""
    named = "%(" in source
    text = _BRACE_FIELD.sub(
        lambda m: (f"%({m[1]})" if named else "%") + (m[2] or "s"),
        ours.replace("%", "%%"),
    )
    wanted = sorted(_PERCENT_FIELD.findall(source))
    got = sorted(_PERCENT_FIELD.findall(text))
    fits = set(got) <= set(wanted) if named else got == wanted
    return text if fits else source


def argparse_text(message: str) -> str:
    """argparse's English ``message`` in the language in force (itself when not ours)."""
    ours = ARGPARSE_MESSAGES.get(message)
    return _as_percent(tr(ours), message) if ours else message


def argparse_plural(singular: str, plural: str, n: int) -> str:
    """argparse's ``ngettext``: our one ``{count} value(s)`` sentence for both forms."""
    return argparse_text(singular if n == 1 else plural)


@contextmanager
def argparse_language() -> Iterator[None]:
    """Within the block, argparse's messages come from our catalog (see the module)."""
    saved = (argparse._, argparse.ngettext)  # type: ignore[attr-defined]
    argparse._ = argparse_text  # type: ignore[attr-defined]
    argparse.ngettext = argparse_plural  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def _number(kind: Callable[[str], Any], message: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(tr(message).format(text=text)) from None

    parse.__name__ = kind.__name__
    return parse


whole_number = _number(int, N_("expected a whole number, got {text!r}"))
"""An argparse type: an ``int``, refused with our sentence (not ``invalid int value``)."""
number = _number(float, N_("expected a number, got {text!r}"))
"""An argparse type: a ``float``, refused with our sentence (not ``invalid float value``)."""


class TranslatedParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals, help headings and ``type=int`` / ``type=float``
    conversions speak the language in force. Its sub-command parsers are of the same class
    (argparse makes them with ``type(self)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with argparse_language():  # the "options" heading and -h's help are made here
            super().__init__(*args, **kwargs)
        self.register("type", int, whole_number)
        self.register("type", float, number)

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        """As ``ArgumentParser.parse_args``, its messages translated."""
        with argparse_language():
            return super().parse_args(*args, **kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        """As ``ArgumentParser.parse_known_args``, its messages translated."""
        with argparse_language():
            return super().parse_known_args(*args, **kwargs)

    def format_help(self) -> str:
        """As ``ArgumentParser.format_help``, its headings translated."""
        with argparse_language():
            return super().format_help()

    def format_usage(self) -> str:
        """As ``ArgumentParser.format_usage``, its ``usage:`` translated."""
        with argparse_language():
            return super().format_usage()
