"""``atelier queue ACTION --queue URL``: list and control the team's batches."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK
from atelier.cli.team import queue_password_help
from atelier.core.i18n import tr
from atelier.core.models import RunSettings

if TYPE_CHECKING:
    from atelier.team.queue import TeamBatch


def add_parser(sub: Any) -> None:
    """``atelier queue (list | pause | resume | cancel | retry) [BATCH] --queue URL …``."""
    q = sub.add_parser("queue", help=tr("list and control the team's batches"))
    q.add_argument("action", choices=("list", "pause", "resume", "cancel", "retry"))
    q.add_argument("batch", nargs="?", help=tr("team batch id (from 'atelier queue list')"))
    q.add_argument(
        "--queue",
        required=True,
        metavar="URL",
        help=f"redis://HOST:PORT/DB {queue_password_help()}",
    )
    q.add_argument("--format", choices=("text", "json"), default="text")
    q.add_argument(
        "--budget",
        type=argtypes.bounded(RunSettings, "budget_usd", float),
        metavar="USD",
        help=tr("with resume: the batch's new budget cap (a halted batch goes on up to it)"),
    )
    q.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Do ``args.action`` on the team queue.

    Raises:
        QueueError: no batch named, a flag that does not go with the action, a queue that
            cannot be used.
    """
    return asyncio.run(_queue(args, out))


async def _queue(args: argparse.Namespace, out: TextIO) -> int:
    """List the team's batches, or pause, resume, cancel or retry one."""
    # Here, not at the top: every command builds this one's parser (redis is 75 ms).
    from atelier.team.control import control, list_batches
    from atelier.team.queue import QueueError

    if args.action == "list":
        return _list(await list_batches(args.queue), args.format, out)
    if not args.batch:
        raise QueueError(tr("Name the team batch ('atelier queue list' shows them)."))
    if args.budget is not None and args.action != "resume":
        raise QueueError(tr("--budget goes with 'atelier queue resume'."))
    print(await control(args.queue, args.batch, args.action, args.budget), file=out)
    return EXIT_OK


def _list(rows: list[TeamBatch], fmt: str, out: TextIO) -> int:
    if fmt == "json":
        print(
            json.dumps(
                [
                    {
                        "batch": b.id,
                        "name": b.name,
                        "provider": b.provider,
                        "model": b.model,
                        "total": b.total,
                        "done": b.done,
                        "failed": b.failed,
                        "dead": b.dead,
                        "state": b.state,
                        "reason": b.reason,
                        "submitter": b.submitter,
                        "submitted": b.submitted,
                    }
                    for b in rows
                ],
                ensure_ascii=False,
            ),
            file=out,
        )
        return EXIT_OK
    for b in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.submitted))
        failed = "  " + tr("{count} failed").format(count=b.failed) if b.failed else ""
        if b.dead:  # malformed entries: on the dead-letter stream, with their reasons
            failed += "  " + tr("{count} unreadable entries set aside").format(count=b.dead)
        print(
            f"{b.id}  {when}  {b.state:<9}  {b.done}/{b.total}{failed}  {b.provider}/{b.model}  "
            f"{b.name}  ({b.submitter}){'  ' + b.reason if b.reason else ''}",
            file=out,
        )
    return EXIT_OK
