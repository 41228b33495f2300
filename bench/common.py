"""Shared by the benchmark scripts: a fake OpenAI server in its own process, machine facts."""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FAKE_KEY = "sk-bench"


@contextmanager
def fake_server(*args: str) -> Iterator[str]:
    """Run ``tests.fakes.openai_server`` in a separate process (so it never shares our GIL);
    yields its base URL (``…/v1``)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_server",
            "--port",
            "0",
            "--key",
            FAKE_KEY,
            *args,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.search(r"(http://\S+/v1)", line)
        if not m:
            raise RuntimeError(f"fake server did not start: {line!r}")
        yield m.group(1)
    finally:
        proc.terminate()
        proc.wait(5)


def stats(base_url: str) -> dict[str, Any]:
    """The fake's counters: requests, rate_limited (429s), served (images); ``accepted``:
    [monotonic arrival s, latency s] per request let through; ``perfect_s``: the best wall time
    any client could reach on that server (see ``OpenAIDialect.perfect_client_s``)."""
    return dict(httpx.get(base_url.removesuffix("/v1") + "/__stats").json())


def peak_rss_mb() -> float:
    """This process's peak resident set size, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by nearest rank."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


class Heartbeat:
    """A 5 ms QTimer whose gaps measure event-loop stalls: ``stalls_ms()`` is each gap beyond
    the 5 ms it should take. Create it once a QApplication exists."""

    def __init__(self) -> None:
        import time

        from PySide6.QtCore import QTimer

        self._clock = time.perf_counter
        self.gaps: list[float] = []
        self._last = self._clock()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = self._clock()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        """Start measuring (earlier gaps are dropped)."""
        self.gaps.clear()
        self._last = self._clock()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def stalls_ms(self) -> list[float]:
        """Milliseconds each beat came late (the first beat is left out)."""
        return [g * 1000 - 5 for g in self.gaps[1:]]
