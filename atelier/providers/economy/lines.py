"""What a provider batch is made of, on the provider's side: its lines and their outcomes
(``Outcome``; ``unreadable_line`` for a line of a finished batch that cannot be read, as
paid), one poll's ``BatchState``, and ``BatchApi``, the wire format a provider's batch API
implements (``atelier.providers.economy.openai_batch``, ``.gemini_batch``). ``atelier.providers.economy`` re-exports them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr
from atelier.providers.base import GenerationRequest, GenerationResult
from atelier.providers.http import HttpProvider

Outcome = GenerationResult | ProviderError


def unreadable_line(label: str, reason: str) -> ProviderError:
    """The error of a job whose line in a finished batch's output could not be read (not
    JSON, not an object, a ``response`` that is not one, an answer that does not decode): the
    provider ran and billed it, so the error is ``paid`` and sending it again is counted in
    the report's ``paid_twice``.

    Args:
        label: the provider's name, as the user sees it.
        reason: what was wrong with the line, in a few words.
    """
    return ProviderError(
        ErrorClass.SERVER_ERROR,
        tr(
            "{provider}'s batch output has an unreadable line for this job ({reason}); it was billed, so making it again counts as paid twice."
        ).format(provider=label, reason=reason),
        paid=True,
    )


@dataclass(frozen=True)
class BatchState:
    """One poll of a provider batch.

    Attributes:
        state: the provider's own word (``in_progress``, ``BATCH_STATE_RUNNING``).
        done, total: lines finished (succeeded or failed) and lines in all, when told.
        finished: no further change will come: collect the results.
        lost: the batch ended without working on every line (expired, cancelled): lines
            without an answer go back to be sent again (``reason`` says why).
        refused: the provider refused the batch as a whole (OpenAI's ``failed``: its input did
            not validate): its jobs fail with ``reason`` instead of being sent again.
        reason: why the batch ended early.
        raw: the provider's status body, for ``BatchApi.results``.
    """

    state: str
    done: int | None
    total: int | None
    finished: bool
    lost: bool = False
    refused: bool = False
    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class BatchApi(abc.ABC):
    """One provider's batch wire format (``atelier.providers.economy.openai_batch``, ``.gemini_batch``).

    ``provider`` is the lane's synchronous adapter: the batch API shares its key, base URL,
    connection pool and answer parsing.
    """

    max_lines: int = 50_000
    max_bytes: int = 200_000_000

    def __init__(self, provider: HttpProvider) -> None:
        self.provider = provider

    def accepts(self, request: GenerationRequest) -> bool:
        """Whether ``request`` can go in a provider batch (else it is sent synchronously): one
        with reference images only where the batch API takes them
        (``Capabilities.batch_references``)."""
        return not request.reference_images or self.provider.capabilities.batch_references

    @abc.abstractmethod
    def line(self, request: GenerationRequest, line_id: str) -> dict[str, Any]:
        """The batch's entry for ``request`` (a JSONL line, an inline request)."""

    @abc.abstractmethod
    def line_size(self, line: dict[str, Any]) -> int:
        """Bytes ``line`` takes in what is uploaded (for ``max_bytes``)."""

    @abc.abstractmethod
    async def submit(self, model: str, lines: list[dict[str, Any]]) -> str:
        """Upload ``lines`` and create the provider batch; returns its id."""

    @abc.abstractmethod
    async def status(self, batch_id: str) -> BatchState:
        """Poll the provider batch. Raises ``remote_gone`` when it no longer exists."""

    @abc.abstractmethod
    def results(
        self, state: BatchState, requests: dict[str, GenerationRequest]
    ) -> AsyncIterator[tuple[str | None, Outcome]]:
        """``(line id, result or classified error)`` for each answered line of a finished
        batch; ``requests`` are the waiting lines' requests (for decoding their images). A
        malformed line never raises: it is ``(its id, unreadable_line(...))`` when its id can
        be read, else ``(None, unreadable_line(...))``, and the lines after it are read."""

    @abc.abstractmethod
    async def cancel(self, batch_id: str) -> None:
        """Ask the provider to cancel the batch (lines already done are still billed)."""
