"""The window's event loop: qasync's, with the flush that ends ``run_until_complete`` run
while the loop is still the running one."""

from __future__ import annotations

import asyncio
from typing import Any

import qasync


class WindowLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's ``QEventLoop`` (Qt's event loop as asyncio's), for the window and its tests.

    Why a subclass: qasync 0.28's ``run_until_complete`` ends with one ``processEvents`` of
    Qt's pending events *after* ``run_forever`` has unset asyncio's running loop
    (qasync/__init__.py, "run loop one last time"). A task stepped by that flush that calls
    ``asyncio.get_running_loop()`` (``asyncio.to_thread``, ``asyncio.sleep``,
    ``asyncio.wait_for``) dies with ``RuntimeError('no running event loop')``: the gallery's
    channel marks stopped following a run so in CI, and the window showed "Unexpected error".
    Here the flush runs with this loop as the running loop, as every other step does.
    """

    _flushing = False

    def _after_run_forever(self) -> None:
        super()._after_run_forever()
        if self._flushing:  # qasync's flush follows: its task steps see this loop running
            asyncio.events._set_running_loop(self)

    def run_until_complete(self, future: Any) -> Any:
        """As asyncio's: run until ``future`` is done; returns its result, raises its
        exception."""
        before = asyncio.events._get_running_loop()
        self._flushing = True
        try:
            return super().run_until_complete(future)
        finally:
            self._flushing = False
            # As it was before: None after a run, this loop still when the call was refused
            # because it runs already (the flush is done; nothing is left set by it).
            asyncio.events._set_running_loop(before)
