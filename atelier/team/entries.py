"""Reading what the team queue's streams hold: a job stream's entry as a job (``Entry``) or,
when it cannot be one, why (``Malformed``, naming the field; one bad entry never stops the
others), and an event stream's outcome. Nothing here talks to Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from atelier.core.i18n import tr
from atelier.core.models import JobSpec, validation_problems

DEAD_FIELD_CHARS = 2_000
"""How much of each field of a dead entry is kept (characters): enough to see what it was."""


@dataclass(frozen=True)
class Entry:
    """One job taken from a stream: ``stream`` (its key), ``entry_id`` (the stream's id),
    ``batch`` (team batch id), ``job`` (the submitter's job id), ``spec``."""

    stream: str
    entry_id: str
    batch: str
    job: int
    spec: JobSpec


@dataclass(frozen=True)
class Malformed:
    """An entry of a job stream that cannot be read as a job: ``reason`` (a sentence naming the
    field), ``batch`` and ``job`` as far as they could be read (``""``), ``fields`` the raw
    ones (text, each cut to ``DEAD_FIELD_CHARS``)."""

    stream: str
    entry_id: str
    reason: str
    batch: str = ""
    job: str = ""
    fields: dict[str, str] | None = None

    @classmethod
    def of(cls, entry: Entry, reason: str) -> Malformed:
        """A readable ``entry`` set aside for ``reason`` (its fields kept, to put back by
        hand)."""
        spec = entry.spec.model_dump_json()[:DEAD_FIELD_CHARS]
        fields = {"batch": entry.batch, "job": str(entry.job), "spec": spec}
        return cls(entry.stream, entry.entry_id, reason, entry.batch, str(entry.job), fields)


def _text(fields: dict[Any, Any]) -> dict[str, str]:
    """Raw stream fields as text, each cut to ``DEAD_FIELD_CHARS`` (for messages and the
    dead-letter stream)."""

    def t(v: Any) -> str:
        return (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))[:DEAD_FIELD_CHARS]

    return {t(k): t(v) for k, v in fields.items()}


def text_id(v: Any) -> str:
    """A stream id or field Redis gave as bytes (or text), as text."""
    return v.decode() if isinstance(v, bytes) else str(v)


def field_of(e: Exception) -> str:
    """The field an error while reading a record is about, for a message."""
    if isinstance(e, KeyError):
        return tr("no field {field}").format(field=e.args[0] if e.args else "?")
    if isinstance(e, ValidationError) and e.errors():
        where, problem = validation_problems(e)[0]
        return f"{where}: {problem}"
    return str(e)


def _entry(stream: str, eid: str, fields: dict[bytes, bytes]) -> Entry | Malformed:
    """One stream entry as a job, or why it is not one (naming the field)."""
    raw = _text(fields)
    batch, job = raw.get("batch", ""), raw.get("job", "")
    for name in ("batch", "job", "spec"):
        if name.encode() not in fields:
            reason = tr("The entry has no field {field}.").format(field=name)
            return Malformed(stream, eid, reason, batch, job, raw)
    try:
        tid = fields[b"batch"].decode("ascii")
        if not tid or not tid.isalnum():
            raise ValueError(tid)
    except ValueError:
        reason = tr("The entry's field batch is not a team batch id.")
        return Malformed(stream, eid, reason, "", job, raw)
    try:
        jid = int(fields[b"job"])
    except ValueError:
        reason = tr("The entry's field job is not a job number.")
        return Malformed(stream, eid, reason, tid, job, raw)
    try:
        spec = JobSpec.model_validate_json(fields[b"spec"])
    except ValueError as e:  # pydantic's ValidationError, also for text that is not JSON
        reason = tr("The entry's field spec is not a job ({problem}).").format(problem=field_of(e))
        return Malformed(stream, eid, reason, tid, job, raw)
    return Entry(stream, eid, tid, jid, spec)


def read_entries(stream: str, entries: Any) -> tuple[list[Entry], list[Malformed]]:
    """The jobs of ``entries`` (``[(id, fields)]`` as Redis gives them) and, apart, the
    entries that are not jobs: one bad entry never stops the others."""
    good: list[Entry] = []
    bad: list[Malformed] = []
    for eid, raw in entries or []:
        fields = dict(raw or {})
        if not fields:  # deleted meanwhile (XAUTOCLAIM reports it as nil)
            continue
        got = _entry(stream, eid.decode(), fields)
        (good if isinstance(got, Entry) else bad).append(got)  # type: ignore[arg-type]
    return good, bad


def read_event(fields: dict[bytes, bytes]) -> dict[str, Any] | str:
    """An event's outcome with its ``job`` (an int, ``None`` for a batch's state), or why it
    cannot be read (a sentence naming the field)."""
    try:
        outcome = json.loads(fields[b"outcome"])
    except KeyError:
        return tr("The event has no field outcome.")
    except ValueError:  # also UnicodeDecodeError
        return tr("The event's field outcome is not JSON.")
    if not isinstance(outcome, dict):
        return tr("The event's field outcome is not a JSON object.")
    job = fields.get(b"job", b"")
    try:
        outcome["job"] = int(job) if job else None
    except ValueError:
        return tr("The event's field job is not a job number.")
    return outcome
