"""Provider batches as the OpenAI and Gemini fakes hold them (Batch API, Batch Mode).

A batch's lines are worked on as time passes: after ``duration_s`` every line is answered,
each by the dialect's own synchronous handler with the behaviour the fake's scripts give its
prompt (so ``fake.script_for("cat", ["500"])`` fails that line once). Knobs:

- ``duration_s``: seconds from creation to the last line answered;
- ``expire_next``: fractions; the next batches created stop (expired) once that share of their
  lines is answered;
- ``hold``: no batch makes progress while set (a quit and restart "mid-wait");
- ``repeat_lines``: each answer is written twice (Gemini's repeated keys, each billed);
- ``max_lines``: a create with more lines is refused, as the provider would;
- ``fail_next``: the next batches created fail validation as a whole (OpenAI ``failed``).

Hostile knobs (``tests.engine.test_paid_once``):

- ``expire_always``: every batch expires before answering any line, without end;
- ``garble``: prompt part → the raw output line written instead of that prompt's answer
  (``{key}`` is replaced by the line's id): ``[1,2,3]``, ``{"custom_id": "{key}",
  "response": "oops"}``; only the first line of each part (a resubmission is answered
  well). The line is answered (and billed) all the same.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Answer = Callable[[dict[str, Any], str], tuple[int, Any]]
"""``(request body, behaviour)`` → ``(HTTP status, response body)`` of the synchronous API."""


@dataclass
class Line:
    key: str
    body: dict[str, Any]
    prompt: str
    status: int = 0
    answer: Any = None


@dataclass
class FakeBatch:
    id: str
    model: str
    lines: list[Line]
    created: float
    created_wall: float
    expire_at: float | None = None  # the share of lines after which it expires
    answered: int = 0
    state: str = "in_progress"  # in_progress | completed | expired | cancelling | cancelled
    polls: int = 0
    ended_wall: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "expired", "cancelled", "failed")


class BatchBook:
    """The batches one fake holds; thread-safe like the fake server."""

    def __init__(self, fake: Any, answer: Answer, prompt_of: Callable[[dict[str, Any]], str]):
        self.fake = fake
        self._answer = answer
        self._prompt_of = prompt_of
        self.lock = threading.Lock()
        self.batches: dict[str, FakeBatch] = {}
        self.duration_s = 0.5
        self.expire_next: list[float] = []
        self.hold = False
        self.repeat_lines = False
        self.max_lines = 50_000
        self.fail_next = 0
        self.cancels = 0
        self.expire_always = False
        self.garble: dict[str, str] = {}
        self._garbled: dict[str, str] = {}  # prompt part → the line key it garbled

    def create(self, model: str, lines: list[tuple[str, dict[str, Any]]], prefix: str) -> FakeBatch:
        with self.lock:
            n = len(self.batches) + 1
            batch = FakeBatch(
                f"{prefix}{n:04d}",
                model,
                [Line(k, b, self._prompt_of(b)) for k, b in lines],
                time.monotonic(),
                time.time(),
            )
            if self.expire_next:
                batch.expire_at = self.expire_next.pop(0)
            elif self.expire_always:
                batch.expire_at = 0.0
            if self.fail_next:
                self.fail_next -= 1
                batch.state = "failed"
                batch.ended_wall = time.time()
            self.batches[batch.id] = batch
        return batch

    def advance(self, batch: FakeBatch) -> FakeBatch:
        """Answer the lines due by now; end the batch when all are (or it expires)."""
        with self.lock:
            batch.polls += 1
            if batch.state == "cancelling":
                batch.state = "cancelled"
                batch.ended_wall = time.time()
            if batch.finished or self.hold:
                return batch
            total = len(batch.lines)
            share = min(1.0, (time.monotonic() - batch.created) / max(self.duration_s, 1e-6))
            if batch.expire_at is not None:
                share = min(share, batch.expire_at)
            due = int(total * share)
        for line in batch.lines[batch.answered : due]:
            behaviour = self.fake.next_behaviour(line.prompt)
            line.status, line.answer = self._answer(line.body, behaviour)
        with self.lock:
            batch.answered = max(batch.answered, due)
            if batch.expire_at is not None and share >= batch.expire_at:
                batch.state = "expired"
                batch.ended_wall = time.time()
            elif batch.answered == total:
                batch.state = "completed"
                batch.ended_wall = time.time()
        return batch

    def cancel(self, batch: FakeBatch) -> None:
        with self.lock:
            self.cancels += 1
            if not batch.finished:
                batch.state = "cancelling"

    def garbled(self, line: Line) -> str | None:
        """The raw text written instead of ``line``'s answer (``garble``), or ``None``."""
        for part, raw in self.garble.items():
            # One line per prompt part is garbled (its next submission is answered well);
            # the output of a finished batch is written on every poll, the same each time.
            if part in line.prompt and self._garbled.setdefault(part, line.key) == line.key:
                return raw.replace("{key}", line.key)
        return None

    def lines_by_prompt(self) -> Counter[str]:
        """How often each prompt was put in any batch (a second submission shows here)."""
        with self.lock:
            return Counter(line.prompt for b in self.batches.values() for line in b.lines)

    def answered_by_prompt(self) -> Counter[str]:
        """How often each prompt was answered successfully (billed)."""
        with self.lock:
            return Counter(
                line.prompt
                for b in self.batches.values()
                for line in b.lines[: b.answered]
                if line.status == 200
            )
