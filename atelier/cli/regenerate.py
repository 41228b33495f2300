"""``atelier regenerate BATCH``: make jobs again as new versions (earlier ones kept)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK, job_ids, known_batch, print_report, run_stored, with_store
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import JobSpec
from atelier.core.settings import Settings
from atelier.engine.controller import call_now, price_jobs, regenerate_jobs, rejected_jobs
from atelier.engine.service import load_prices, open_engine
from atelier.output.versions import Change
from atelier.store import Store


def add_parser(sub: Any) -> None:
    """``atelier regenerate BATCH (--rejected | --jobs IDS) …``."""
    g = sub.add_parser("regenerate", help=tr("make jobs again as new versions (earlier ones kept)"))
    g.add_argument("batch", type=int, metavar="BATCH")
    which = g.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--rejected", action="store_true", help=tr("every job with a rejected image")
    )
    which.add_argument("--jobs", nargs="+", type=int, metavar="IDS")
    g.add_argument("--rows", action="store_true", help=tr("IDS are sheet row numbers"))
    g.add_argument("--prompt", help=tr("a new prompt for these jobs"))
    g.add_argument("--same-seed", action="store_true", help=tr("keep the seed (with --prompt)"))
    g.add_argument(
        "--more",
        type=argtypes.bounded(JobSpec, "sample_count"),
        metavar="N",
        help=tr("more like this: N new images of the same prompt"),
    )
    g.add_argument(
        "--edit",
        action="store_true",
        help=tr("edit this: the shown image is the reference, --prompt the instruction"),
    )
    g.add_argument(
        "--estimate-only", action="store_true", help=tr("say what it costs, send nothing")
    )
    g.add_argument("--format", choices=["text", "json"], default="text")
    g.set_defaults(handler=with_store(regenerate))


async def regenerate(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Make jobs again as new versions (or only price that), then print the report.

    Raises:
        InputError: no such batch or job, or no job with a rejected image.
    """
    known_batch(store, args.batch)
    if args.rejected:
        ids = rejected_jobs(store, args.batch)
        if not ids:
            raise InputError(
                tr("batch {id}").format(id=args.batch), tr("no job has a rejected image")
            )
    else:
        ids = job_ids(store, args.batch, args.jobs, args.rows)
    est = price_jobs(store, load_prices(), args.batch, ids, args.more)
    if args.estimate_only:
        doc = {"jobs": [str(i) for i in ids], "images": est.images, "estimated_cost": est.total_usd}
        text = tr("{count} job(s): {estimate}").format(count=len(ids), estimate=est.describe())
        print(json.dumps(doc) if args.format == "json" else text, file=out)
        return EXIT_OK
    engine = open_engine(store, Settings.load(), thumbnails=False)
    change = Change(args.prompt, args.same_seed, args.more, args.edit)
    done = regenerate_jobs(store, engine, call_now, args.batch, ids, change)
    if args.format == "text":
        print(
            tr("regenerating {count} job(s): {estimate}").format(
                count=len(done.job_ids), estimate=est.describe()
            ),
            file=out,
        )
        for jid, why in done.skipped.items():
            print(tr("  skipped {job}: {why}").format(job=jid, why=why), file=out)
    report = await run_stored(store, args.batch, len(done.job_ids), args.format, out)
    return print_report(report, args.format, Path(store.batch(args.batch).output_dir), out)
