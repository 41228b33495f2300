"""One typed error hierarchy for everything a provider call can end in.

The classes follow ``design.md`` ("Engine contract"). Batch configs name them in
``retry_policy.retry_on_errors``; ``quota``, ``content_policy``, ``invalid_request`` and
``auth`` are never retried whatever the policy says.
"""

from __future__ import annotations

from enum import StrEnum

from atelier.core.redact import redact


class ErrorClass(StrEnum):
    """The common error classes every provider maps its failures onto."""

    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    NETWORK = "network"
    CONTENT_POLICY = "content_policy"
    INVALID_REQUEST = "invalid_request"
    AUTH = "auth"
    PAYMENT_REQUIRED = "payment_required"
    OUTPUT = "output"  # our side: disk full, read-only folder, undecodable image
    INTERNAL = "internal"  # our side: Atelier could not handle this job (a bug, reported)


#: Classes that no retry policy may retry: retrying them costs money or time and cannot succeed.
NEVER_RETRIED: frozenset[ErrorClass] = frozenset(
    {
        ErrorClass.QUOTA,
        ErrorClass.CONTENT_POLICY,
        ErrorClass.INVALID_REQUEST,
        ErrorClass.AUTH,
        ErrorClass.INTERNAL,
    }
)

#: The default ``retry_on_errors`` when a batch config gives none.
DEFAULT_RETRYABLE: tuple[ErrorClass, ...] = (
    ErrorClass.RATE_LIMIT,
    ErrorClass.TIMEOUT,
    ErrorClass.SERVER_ERROR,
    ErrorClass.NETWORK,
)


class AtelierError(Exception):
    """Base class of every error Atelier raises on purpose."""


class InputError(AtelierError):
    """Bad user input: a file, row, column or field is named in ``where``.

    Attributes:
        where: the place, e.g. ``"jobs[1].size"``, ``"shop.csv line 12"`` or ``"column 'SKU'"``.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class ProviderError(AtelierError):
    """A failed provider call, already classified.

    Attributes:
        error_class: the common class (drives retry decisions).
        message: a sentence a designer can act on (never contains the API key).
        status: the HTTP status, when there was a response.
        retry_after_s: the wait the server asked for, in seconds, if any.
        code: the provider's machine-readable code (e.g. ``moderation_blocked``).
        retryable: an explicit server verdict (OpenAI ``x-should-retry``), overriding policy.
        paid: the provider finished (and billed) the work but its image was lost (a result
            URL that expired before it could be downloaded): sending again pays twice.
    """

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        code: str | None = None,
        retryable: bool | None = None,
        paid: bool = False,
    ) -> None:
        # A provider may echo our credentials back in its body. A message (``atelier.core.i18n.Message``)
        # with nothing to redact stays one, so it can be said again in another language.
        cleaned = redact(message)
        message = message if cleaned == message else cleaned
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.code = code
        self.retryable = retryable
        self.paid = paid

    def __str__(self) -> str:
        return self.message


class OutputError(AtelierError):
    """Writing an image or report failed (full disk, read-only folder, folder gone).

    Attributes:
        payload: the encoded file that could not be written, when there was one (the engine
            spools it so the image, already paid for, is not requested again).
    """

    def __init__(self, message: str, payload: bytes | None = None) -> None:
        super().__init__(message)
        self.payload = payload


def describe_exception(e: BaseException) -> str:
    """One readable line for an exception nobody expected: its type and message, never a
    traceback (that goes to the log)."""
    text = redact(" ".join(str(e).split())) or "no message"
    return f"{type(e).__name__}: {text[:300]}"
