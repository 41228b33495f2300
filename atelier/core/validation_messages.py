"""Pydantic's validation errors in Atelier's own words, in the language in force.

Pydantic writes its messages in English only (``Input should be 'POST', 'PUT' or 'PATCH'``,
``Field required``), so a Japanese, Chinese or Korean user saw English inside a translated
sentence. ``describe_error`` builds each message from the error's ``type`` and ``ctx`` (the
machine-readable part pydantic keeps stable; pydantic docs, "Validation Errors") with our own
msgids, and never shows pydantic's ``msg``: a type not listed gets a generic sentence naming
the field and the value. ``validation_problems`` turns a whole ``ValidationError`` into
``(place, sentence)`` pairs; every place that shows a ``ValidationError`` goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from atelier.core.i18n import N_, tr
from atelier.core.redact import redact

_SHOWN_CHARS = 60  # a value longer than this is cut: the place already says which one


def shown_value(value: object) -> str:
    """``value`` as a message shows it: its ``repr`` (quotes make blanks visible), secrets
    redacted, at most 60 characters."""
    text = redact(repr(value))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def expected_values(expected: str) -> str:
    """Pydantic's ``ctx['expected']`` of a literal or enum error (``"'POST', 'PUT' or
    'PATCH'"``, English ``or``) as a plain list, ``'POST', 'PUT', 'PATCH'``."""
    quoted = re.findall(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", expected)
    if quoted:
        return ", ".join(quoted)
    return ", ".join(p.strip() for p in re.split(r",| or ", expected) if p.strip())


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# error type → msgid. Its fields: ``value`` (the input as shown), ``expected`` (the allowed
# values), ``limit`` (a bound), ``field`` (the key's name).
_MESSAGES: dict[str, str] = {
    "missing": N_("required, missing"),
    "extra_forbidden": N_("unknown key"),
    "literal_error": N_("{value} is not allowed: use one of {expected}"),
    "enum": N_("{value} is not allowed: use one of {expected}"),
    "int_parsing": N_("expected a whole number, got {value}"),
    "int_type": N_("expected a whole number, got {value}"),
    "int_from_float": N_("expected a whole number, got {value}"),
    "float_parsing": N_("expected a number, got {value}"),
    "float_type": N_("expected a number, got {value}"),
    "finite_number": N_("expected a number, got {value}"),
    "bool_parsing": N_("expected true or false, got {value}"),
    "bool_type": N_("expected true or false, got {value}"),
    "string_type": N_("expected text, got {value}"),
    "string_too_short": N_("too short: at least {limit} character(s)"),
    "string_too_long": N_("too long: at most {limit} character(s)"),
    "string_pattern_mismatch": N_("{value} does not have the expected form"),
    "greater_than_equal": N_("must be at least {limit}, got {value}"),
    "greater_than": N_("must be more than {limit}, got {value}"),
    "less_than_equal": N_("must be at most {limit}, got {value}"),
    "less_than": N_("must be less than {limit}, got {value}"),
    "multiple_of": N_("must be a multiple of {limit}, got {value}"),
    "too_short": N_("too few items: at least {limit}"),
    "too_long": N_("too many items: at most {limit}"),
    "list_type": N_("expected a list, got {value}"),
    "tuple_type": N_("expected a list, got {value}"),
    "set_type": N_("expected a list, got {value}"),
    "dict_type": N_("expected an object with keys, got {value}"),
    "model_type": N_("expected an object with keys, got {value}"),
    "model_attributes_type": N_("expected an object with keys, got {value}"),
    "dataclass_type": N_("expected an object with keys, got {value}"),
    "none_required": N_("must be empty, got {value}"),
    "url_parsing": N_("{value} is not a web address (such as https://example.com/path)"),
    "url_syntax_violation": N_("{value} is not a web address (such as https://example.com/path)"),
    "url_type": N_("{value} is not a web address (such as https://example.com/path)"),
    "url_scheme": N_("{value}: the address must start with one of {expected}"),
    "url_too_long": N_("the address is too long: at most {limit} characters"),
    "union_tag_invalid": N_("{value} is not a known kind: use one of {expected}"),
    "union_tag_not_found": N_("no {field} given"),
    "json_invalid": N_("not valid JSON"),
    "json_type": N_("expected JSON text, got {value}"),
    "date_parsing": N_("{value} is not a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("{value} is not a date (YYYY-MM-DD)"),
    "datetime_parsing": N_("{value} is not a date and time (YYYY-MM-DDTHH:MM:SS)"),
    "datetime_from_date_parsing": N_("{value} is not a date and time (YYYY-MM-DDTHH:MM:SS)"),
}
_FALLBACK = N_("{value} is not a valid {field}")
_LIMIT_KEYS = ("ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length")
_OWN = ("value_error", "assertion_error")  # raised by our validators, in our words already
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _field_name(loc: tuple[int | str, ...]) -> str:
    names = [p for p in loc if isinstance(p, str)]
    return names[-1] if names else tr("value")


def describe_error(err: ErrorDetails | Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as our sentence in the
    language in force, built from its ``type``, ``ctx`` and ``input``: never pydantic's
    English ``msg``, except for ``value_error`` / ``assertion_error``, whose message our own
    validators wrote. A type not in the table gets ``{value} is not a valid {field}``."""
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in _OWN:
        own = ctx.get("error")
        text = str(own) if own is not None else str(err.get("msg", ""))
        for prefix in _PREFIXES:
            text = text.removeprefix(prefix)
        return text
    limit = next((ctx[k] for k in _LIMIT_KEYS if k in ctx), "")
    expected = ctx.get("expected_tags") or ctx.get("expected_schemes") or ctx.get("expected", "")
    fields = {
        "value": shown_value(ctx.get("tag", err.get("input"))),
        "expected": expected_values(str(expected)),
        "limit": _number(limit),
        "field": str(ctx.get("discriminator", "")).strip("'") or _field_name(tuple(err["loc"])),
    }
    template = _MESSAGES.get(kind, _FALLBACK)
    return tr(template).format(**_used(template, fields))


def _used(template: str, fields: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if "{" + k + "}" in template}


def loc_to_str(loc: tuple[int | str, ...]) -> str:
    """Pydantic's ``('jobs', 1, 'size')`` → ``jobs[1].size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def validation_problems(e: ValidationError) -> list[tuple[str, str]]:
    """Every problem pydantic found, as ``(place, sentence)``: the place as ``jobs[1].size``,
    the sentence from ``describe_error`` (in the language in force, none of pydantic's
    English)."""
    return [
        (loc_to_str(tuple(err["loc"])) or tr("(top level)"), describe_error(err))
        for err in e.errors()
    ]


def first_problem(e: ValidationError) -> str:
    """The first problem as one sentence, ``field: sentence`` (for a form's or a flag's single
    line)."""
    where, sentence = validation_problems(e)[0]
    return f"{where}: {sentence}"
