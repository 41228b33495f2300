"""Whether a process that owns something (a job, a delivery, a batch, a temporary file) may
still be working on it."""

from __future__ import annotations

import os
import socket


def pid_alive(pid: int | None, host: str | None = None) -> bool:
    """Whether process ``pid`` on ``host`` (``None``: this machine) may still be working
    (another host's: assumed, so nothing of it is taken or removed)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True  # another machine's process: assume alive, do not steal its work
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
