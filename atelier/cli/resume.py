"""``atelier resume BATCH``: go on with a stored batch (failed and cancelled jobs again,
remote jobs and provider batches still running followed, a team batch followed on its queue)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, TextIO

from atelier.cli import team as cli_team
from atelier.cli.common import fail_input, open_store, print_report, run_or_submit, submitted
from atelier.core.i18n import tr
from atelier.core.logs import setup_logging
from atelier.engine.controller import resume_batch


def add_parser(sub: Any) -> None:
    """``atelier resume BATCH [--no-wait] [--requeue | --here] [--format text|json]``."""
    p = sub.add_parser(
        "resume", help=tr("go on with a stored batch (collects provider batches still running)")
    )
    p.add_argument("batch", type=int, help=tr("the batch id ('atelier batches' lists them)"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--no-wait",
        action="store_true",
        help=tr("economy: submit what is left to the provider's batch API and exit"),
    )
    cli_team.add_resume_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``atelier resume``; returns the exit code.

    Raises:
        AtelierError: the store, the team queue or the output folder cannot be used.
    """
    return asyncio.run(_resume_async(args, out, err))


async def _resume_async(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``atelier resume BATCH``: failed and cancelled jobs go back to pending, remote jobs and
    provider batches still running are followed, and the rest is made."""
    setup_logging()
    store = open_store(False, err)
    try:
        try:
            batch = store.batch(args.batch)
        except KeyError:
            return fail_input(
                tr("batch {id}: no such batch ('atelier batches' lists them)").format(
                    id=args.batch
                ),
                err,
            )
        # A team batch is followed on its queue; one the queue lost is queued again or made
        # here when the user says which (--requeue / --here).
        url = await cli_team.resume_target(store, args.batch, args.requeue, args.here)
        if url is not None:
            report = await cli_team.submit_and_follow(
                store, args.batch, url, False, args.format, out
            )
        else:
            resume_batch(store, args.batch)
            report = await run_or_submit(
                store, args.batch, batch.total, args.format, out, args.no_wait
            )
    finally:
        store.close()
    if report is None:
        return submitted(args.batch, args.format, out)
    return print_report(report, args.format, batch.output_dir, out)
