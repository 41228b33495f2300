"""Benchmark: planning a 100,000-row Shopify export with ``atelier run --estimate-only``
(goal < 3 s wall and < 300 MB peak RSS for the whole command, start-up included).

The input repeats the shared ``shopify-home-goods.csv`` export, each copy with its own handles
and SKUs (so the rows are distinct products, as in a real large catalogue), written to a
temporary folder. The command runs in a child process, as a user runs it, with
``--provider openai`` (so the estimate is priced from the price table, not the free draft
provider); its wall time, CPU time (user + system) and peak RSS are the child's.

    .venv/bin/python -m bench.plan_rows [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, machine

GOAL_S, GOAL_MB = 3.0, 300.0


def _source() -> Path:
    """The shared Shopify export, found as the tests find it."""
    from tests.conftest import DATA

    return DATA / "shopify-home-goods.csv"


def make_sheet(path: Path, rows: int) -> int:
    """Write ``rows`` data rows: copies of the shared export, copy ``k`` with ``-k`` appended
    to every handle and SKU. Returns the number of rows written."""
    with _source().open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        body = [r for r in reader if any(r)]
    handle, sku = header.index("Handle"), header.index("Variant SKU")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    written, copy = 0, 0
    while written < rows:
        for r in body:
            if written == rows:
                break
            row = list(r)
            row[handle] = f"{row[handle]}-{copy}"
            if row[sku]:
                row[sku] = f"{row[sku]}-{copy}"
            w.writerow(row)
            written += 1
        copy += 1
    path.write_text(buf.getvalue(), encoding="utf-8")
    return written


def run_plan(sheet: Path, home: Path) -> tuple[float, float, float, str]:
    """Run the estimate-only plan of ``sheet`` in a child process: (wall s, CPU s, peak RSS
    MB, its first output line)."""
    env = {
        **os.environ,
        "ATELIER_HOME": str(home),
        "ATELIER_LANGUAGE": "en",
        "PYTHONPATH": str(REPO),
    }
    env.pop("OPENAI_API_KEY", None)
    argv = [
        sys.executable,
        "-m",
        "atelier.cli",
        "run",
        "--csv",
        str(sheet),
        "--provider",
        "openai",
        "--quality",
        "low",
        "--prompt",
        "Studio photo of {Title}, {Option1 Value}",
        "--filename",
        "{Variant SKU}",
        "--output-dir",
        str(home.parent / "out"),
        "--estimate-only",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"atelier run failed ({proc.returncode}): {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest child's peak so far (KB on Linux): only one
    # child has run when this is read.
    rss = after.ru_maxrss / 1024
    return wall, cpu, rss, proc.stdout.splitlines()[0] if proc.stdout else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    ap.add_argument("--rows", type=int, help="this many rows")
    args = ap.parse_args()
    rows = args.rows or (10_000 if args.quick else 100_000)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "catalogue.csv"
        make_sheet(sheet, rows)
        print(f"{rows:,} rows, {sheet.stat().st_size / 1e6:.1f} MB")
        wall, cpu, rss, first = run_plan(sheet, Path(tmp) / "home")
    print(first)
    met = wall < GOAL_S and rss < GOAL_MB
    verdict = ("met" if met else "NOT MET") if rows == 100_000 else "judged on 100,000 rows"
    print(
        f"SUMMARY plan: {rows:,} rows planned and priced (--estimate-only) in {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU, peak RSS {rss:.0f} MB "
        f"(goal < {GOAL_S:.0f} s and < {GOAL_MB:.0f} MB: {verdict})"
    )


if __name__ == "__main__":
    main()
