"""Benchmark: what Atelier pays ÷ the list price (every image made once, at the price the
provider bills), measured in one run against the local fakes.

1. A Shopify export whose template names no variant column (identical prompts): reuse on
   ÷ the same batch with ``--no-reuse``, billed from each answer's usage (goal ≤ distinct
   prompts ÷ jobs).
2. The same batch again into a new folder (goal 0).
3. The same batch in economy (OpenAI's Batch API fake, ``--economy --no-reuse``), billed from
   each output line's usage at the batch discount ÷ the list price (goal 0.5).
4. A crash on a job-id provider (fal): the run SIGKILLed while every job waits remotely,
   then resumed; submissions billed ÷ jobs (goal 1.0: nothing submitted twice).

    .venv/bin/python -m bench.cost [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, machine


def _sheet() -> Path:
    """The shared Shopify export, found as the tests find it (beside this checkout, or beside
    the one a CI clone was made from)."""
    from tests.conftest import DATA

    return DATA / "shopify-home-goods.csv"


def _cli(*argv: str) -> dict[str, Any]:
    from atelier.cli.main import run_command

    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    if code != 0:
        raise SystemExit(f"atelier {' '.join(argv[:3])}… failed ({code}): {err.getvalue()}")
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


def duplicates_repeat_economy(tmp: Path) -> tuple[float, float, float]:
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI(api_key="sk-bench") as fake:
        os.environ["OPENAI_API_KEY"] = "sk-bench"

        def run(out: str, *extra: str) -> dict[str, Any]:
            return _cli(
                "run", "--csv", str(_sheet()), "--provider", "openai", "--base-url", fake.base_url,
                "--quality", "low", "--prompt", "Studio photo of {Title}",
                "--filename", "{Variant SKU}", "--output-dir", str(tmp / out),
                "--format", "json", *extra,
            )  # fmt: skip

        reused = run("reused")  # first: nothing earlier to copy, only its own duplicates
        again = run("again")
        listed = run("list-price", "--no-reuse")  # every image made: the list price
        economy = run("economy", "--no-reuse", "--economy", "--economy-poll-ms", "50")
        batches = len(fake.batches.batches)
    list_usd = listed["total_cost"]
    distinct = len({r["prompt"] for r in listed["results"]})
    jobs = listed["total"]
    print(
        f"1. duplicates: {jobs} jobs, {distinct} distinct prompts: paid ${reused['total_cost']:.4f}"
        f" ÷ list ${list_usd:.4f} = {reused['total_cost'] / list_usd:.3f}"
        f" (goal ≤ {distinct / jobs:.3f})"
    )
    print(
        f"2. repeated batch: paid ${again['total_cost']:.4f} ÷ list ${list_usd:.4f}"
        f" = {again['total_cost'] / list_usd:.3f} (goal 0)"
    )
    print(
        f"3. economy: {economy['total']} jobs in {batches} provider batch(es): paid "
        f"${economy['total_cost']:.4f} ÷ list ${list_usd:.4f} = "
        f"{economy['total_cost'] / list_usd:.3f} (goal 0.5)"
    )
    return (
        reused["total_cost"] / list_usd,
        again["total_cost"] / list_usd,
        economy["total_cost"] / list_usd,
    )


def crash_on_job_id_provider(tmp: Path, jobs: int) -> float:
    from tests.fakes.fal import FalDialect
    from tests.fakes.framework import FakeServer

    cfg = tmp / "crash.json"
    specs = [{"prompt": f"vase {i}", "output_path": f"v{i}.png"} for i in range(jobs)]
    cfg.write_text(json.dumps({"jobs": specs}))
    home = tmp / "crash-home"
    env = {**os.environ, "ATELIER_HOME": str(home), "FAL_KEY": "fal-bench", "PYTHONPATH": str(REPO)}  # fmt: skip
    with FakeServer(FalDialect, api_key="fal-bench") as fake:
        fake.dialect.polls_needed = 4  # type: ignore[attr-defined]
        argv = [
            sys.executable, "-m", "atelier.cli", "run", str(cfg), "--provider", "fal", "--base-url",
            fake.url, "--output-dir", str(tmp / "crash"), "--format", "json",
            "--max-concurrent", str(jobs),
        ]  # fmt: skip
        first = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while _handles(home) < jobs and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        subprocess.run(argv, env=env, cwd=REPO, capture_output=True, check=True, timeout=300)
        submissions = sum(fake.counts_by_prompt().values())
    print(
        f"4. crash on fal (SIGKILL with {jobs} jobs queued remotely, then resume): "
        f"{submissions} submissions billed ÷ {jobs} jobs = {submissions / jobs:.3f} (goal 1.0)"
    )
    return submissions / jobs


def _handles(home: Path) -> int:
    import sqlite3

    db = home / "atelier.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as c:
            row = c.execute("SELECT COUNT(*) FROM attempts WHERE remote_job IS NOT NULL").fetchone()
            return int(row[0])
    except sqlite3.OperationalError:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer jobs in the crash run (CI)")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="atelier-cost-") as d:
        tmp = Path(d)
        os.environ["ATELIER_HOME"] = str(tmp / "home")
        dupes, repeat, economy = duplicates_repeat_economy(tmp)
        crash = crash_on_job_id_provider(tmp, 3 if args.quick else 12)
    print(
        f"SUMMARY paid/list: duplicates {dupes:.3f}, repeated {repeat:.3f}, "
        f"economy {economy:.3f}, crash on fal {crash:.3f}"
    )


if __name__ == "__main__":
    main()
