"""Benchmark 6: from `atelier` to the first painted window (goal < 1.5 s).

Starts ``python -m atelier`` (what the ``atelier`` command runs) with ATELIER_EXIT_AFTER_PAINT=1,
which prints the time of the first paint event of the main window and quits; the figure is
that time minus the moment the process was spawned. Runs are repeated; the median counts.

    .venv/bin/python bench/startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import REPO, machine


def once(home: str, offscreen: bool) -> float:
    env = {**os.environ, "ATELIER_HOME": home, "ATELIER_EXIT_AFTER_PAINT": "1"}
    if offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "atelier"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    line = next((x for x in out.splitlines() if x.startswith("first-paint ")), None)
    if line is None:
        raise RuntimeError(f"no paint reported: {out[-300:]}")
    return float(line.split()[1]) - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 runs instead of 7")
    args = ap.parse_args()
    runs = 3 if args.quick else 7
    offscreen = not os.environ.get("DISPLAY")
    print(
        f"machine: {machine()}; platform {'offscreen' if offscreen else os.environ.get('DISPLAY')}"
    )
    with tempfile.TemporaryDirectory() as home:
        once(home, offscreen)  # the first run creates ATELIER_HOME and warms the OS file cache
        times = [once(home, offscreen) for _ in range(runs)]
    for i, t in enumerate(times, 1):
        print(f"run {i}: {t:.3f} s")
    med = statistics.median(times)
    print(
        f"SUMMARY startup: median {med:.2f} s to the first painted window over {runs} runs "
        f"(goal < 1.5 s: {'met' if med < 1.5 else 'NOT MET'})"
    )


if __name__ == "__main__":
    main()
