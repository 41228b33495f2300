"""The cyclic garbage collector paused around work that makes many objects and no cycle."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def without_cycle_collector() -> Iterator[None]:
    """The body run without the cyclic garbage collector, what it made then moved out of
    the collector's sight (``gc.freeze``), and the collector enabled again if it was.

    For reading, planning and pricing a sheet (100,000 rows make about a million containers
    (rows, cell dicts, jobs) and no cycle among them; the collector walked them all again and
    again, a quarter of the time), and for importing the commands at start-up (thousands of
    objects: 0.06 s of a 3 s estimate of 100,000 rows, bench/plan_rows.py). Memory is freed as
    usual (reference counting). Without the freeze the collector's next passes would walk it
    all once more."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()
