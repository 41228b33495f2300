"""Logging to ``ATELIER_HOME/logs/atelier.log``, with every known API key redacted.

Keys are not put in log messages by Atelier's own code; the redaction filter is a second
line of defence for third-party loggers (httpx, httpcore) at DEBUG level.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path
from types import TracebackType

from atelier.core import paths
from atelier.core.redact import REDACTED, redact, register_secret

__all__ = ["REDACTED", "RedactingFilter", "redact", "register_secret", "setup_logging"]


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600 (the log can hold prompts and paths)."""

    def _open(self):  # type: ignore[no-untyped-def]
        paths.private_file(Path(self.baseFilename))
        return super()._open()


class RedactingFilter(logging.Filter):
    """Renders the record's message once, redacted, so formatters never see a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        return True


_handler: logging.handlers.RotatingFileHandler | None = None


def setup_logging(level: int = logging.INFO) -> logging.Handler:
    """Attach a rotating file handler (5 × 2 MB) with the redaction filter to the root logger.

    Idempotent: a second call for the same ``ATELIER_HOME`` reuses the handler; for another
    home it replaces it.
    """
    global _handler
    target = paths.log_dir() / "atelier.log"
    root = logging.getLogger()
    if _handler is not None:
        if _handler.baseFilename == str(target.resolve()) and _handler in root.handlers:
            root.setLevel(min(root.level, level))
            return _handler
        root.removeHandler(_handler)
        _handler.close()
    handler = _PrivateRotatingHandler(target, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    _handler = handler
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(min(root.level, level))
    return handler


def write_crash_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> Path | None:
    """Write an unhandled exception to ``ATELIER_HOME/crash/crash-<time>.txt``, every known key
    redacted; returns the file (``None`` when even that fails)."""
    import datetime as dt
    import traceback

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        folder = paths.home() / "crash"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"crash-{stamp}.txt"
        paths.write_private(path, redact(text).encode("utf-8"))
    except OSError:
        return None
    logging.getLogger("atelier").error("unhandled error, report written to %s", path)
    return path


def install_crash_handler() -> None:
    """Route unhandled exceptions (main thread and others) to ``write_crash_report``."""
    import sys

    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        write_crash_report(exc_type, exc, tb)
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    threading.excepthook = lambda a: write_crash_report(
        a.exc_type, a.exc_value or a.exc_type(), a.exc_traceback
    )
