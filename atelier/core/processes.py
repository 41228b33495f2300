"""Whether a process that owns something (a job, a delivery, a batch, a temporary file) may
still be working on it."""

from __future__ import annotations

import os
import socket
import sys


def pid_alive(pid: int | None, host: str | None = None) -> bool:
    """Whether process ``pid`` on ``host`` (``None``: this machine) may still be working
    (another host's: assumed, so nothing of it is taken or removed)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True  # another machine's process: assume alive, do not steal its work
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: an existence check on POSIX (on Windows it is Ctrl-C)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    """Windows: ``os.kill(pid, 0)`` would send Ctrl-C to the process group (signal 0 is
    ``CTRL_C_EVENT``, Python's os.kill documentation), so the process is asked for its exit
    code instead (``OpenProcess`` + ``GetExitCodeProcess``, Win32; 259 is ``STILL_ACTIVE``).
    A process that cannot be opened for lack of rights is taken as alive."""
    if sys.platform != "win32":  # for the type checker: windll exists only on Windows
        raise OSError("Windows only")
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # ERROR_ACCESS_DENIED: someone else's, running
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
    finally:
        kernel32.CloseHandle(handle)
