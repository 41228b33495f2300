"""The team queue on the command line: ``atelier run … --queue URL``, ``atelier worker``, and
``atelier queue list | pause | resume | cancel | retry``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK, Progress, fail_input
from atelier.core.events import EventBus
from atelier.core.i18n import tr
from atelier.core.logs import setup_logging
from atelier.core.models import BatchReport, RunSettings
from atelier.providers.registry import PROVIDERS
from atelier.store import Store
from atelier.team.control import TeamBatchLostError, control, list_batches, run_on_queue, take_back
from atelier.team.follow import team_ref
from atelier.team.queue import QueueError, TeamBatch, TeamQueue
from atelier.team.shared_images import SHARE_S
from atelier.team.worker import Worker

COMMANDS = ("worker", "queue")


def queue_password_help() -> str:
    """What ``--queue``'s help says of a password (a command line shows in ``ps``)."""
    return tr(
        "(a password written in the address shows in ps: keep it in the keyring, "
        "atelier secret set redis:USER@HOST:PORT, or in ATELIER_REDIS_PASSWORD)"
    )


def add_run_arguments(r: Any) -> None:
    """The team flags of ``atelier run``."""
    r.add_argument(
        "--queue",
        metavar="URL",
        help=tr(
            "put the batch on the team queue at redis://HOST:PORT/DB (rediss:// for TLS) "
            "instead of running it here; workers make it, this machine records it"
        )
        + " "
        + queue_password_help(),
    )
    r.add_argument(
        "--detach",
        action="store_true",
        help=tr("with --queue: submit and exit; follow later with 'atelier resume BATCH'"),
    )


def add_resume_arguments(r: Any) -> None:
    """The team flags of ``atelier resume``: what to do with a batch the team queue lost."""
    how = r.add_mutually_exclusive_group()
    how.add_argument(
        "--requeue",
        action="store_true",
        help=tr(
            "a team batch the queue lost (Redis restarted without persistence): put its "
            "unfinished jobs on the queue again"
        ),
    )
    how.add_argument(
        "--here",
        action="store_true",
        help=tr("a team batch the queue lost: make its unfinished jobs on this machine"),
    )


def lost_hint(batch_id: int) -> str:
    """What the user can do about a team batch the queue lost, naming both flags."""
    return tr(
        "Put them on the queue again with 'atelier resume {batch} --requeue', or make them on "
        "this machine with 'atelier resume {batch} --here'."
    ).format(batch=batch_id)


async def resume_target(store: Store, batch_id: int, requeue: bool, here: bool) -> str | None:
    """Where ``atelier resume BATCH`` goes on: the queue URL to follow (or, with ``requeue``,
    to put the batch on again), or ``None`` to make it here (an ordinary batch, or ``here``).

    Raises:
        QueueError: ``requeue``/``here`` for a batch the team queue still has, or that was
            never on one.
    """
    ref = team_ref(store, batch_id)
    if not (requeue or here):
        return ref[0] if ref else None
    if ref is None:
        flag = "--requeue" if requeue else "--here"
        raise QueueError(
            tr("{flag}: batch {batch} was not put on a team queue.").format(
                flag=flag, batch=batch_id
            )
        )
    await take_back(store, batch_id)
    return ref[0] if requeue else None


def add_parsers(sub: Any) -> None:
    """``atelier worker`` and ``atelier queue``."""
    w = sub.add_parser("worker", help=tr("take jobs from a team queue and make them"))
    w.add_argument(
        "--queue",
        required=True,
        metavar="URL",
        help=f"redis://HOST:PORT/DB {queue_password_help()}",
    )
    w.add_argument(
        "--providers",
        metavar="LIST",
        help=tr("only these providers' jobs (comma list; default: those with a key here)"),
    )
    w.add_argument("--concurrency", type=int, default=4, metavar="N", help=tr("jobs at once"))
    w.add_argument(
        "--visibility-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help=tr("seconds before a silent worker's jobs are taken over (default 60)"),
    )
    w.add_argument(
        "--share-hours",
        type=float,
        default=SHARE_S / 3600,
        metavar="H",
        help=tr(
            "hours the images this worker makes stay reusable by the whole team, kept in Redis (default 24; 0: none)"
        ),
    )
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


async def submit_and_follow(
    store: Store, batch_id: int, url: str, detach: bool, fmt: str, out: TextIO
) -> BatchReport | None:
    """``run_on_queue`` with the progress line and the team batch id on stderr, and a
    warning there for each event skipped unread; returns the batch's report (``None`` when
    detached).

    Raises:
        QueueError: the queue cannot be used, or lost the batch (the message then says what
            to do, ``lost_hint``).
    """
    bus = EventBus()
    bus.subscribe(Progress(store.batch(batch_id).total, sys.stderr if fmt == "json" else out))
    try:
        return await run_on_queue(
            store,
            batch_id,
            url,
            bus,
            detach=detach,
            on_submitted=lambda tid: print(
                tr("On the team queue as {batch}.").format(batch=tid), file=sys.stderr
            ),
            on_warning=lambda text: print(
                tr("warning: {message}").format(message=text), file=sys.stderr
            ),
        )
    except TeamBatchLostError as e:
        raise QueueError(f"{e} {lost_hint(batch_id)}") from e


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``atelier worker`` or ``atelier queue``; returns the exit code."""
    try:
        if args.command == "worker":
            return asyncio.run(_worker(args, out))
        return asyncio.run(_queue(args, out))
    except QueueError as e:
        return fail_input(str(e), err)


async def _worker(args: argparse.Namespace, out: TextIO) -> int:
    setup_logging()
    providers = [p.strip() for p in (args.providers or "").split(",") if p.strip()]
    unknown = [p for p in providers if p not in PROVIDERS]
    if unknown:
        raise QueueError(
            tr("--providers: unknown {names} (known: {known})").format(
                names=", ".join(unknown), known=", ".join(PROVIDERS)
            )
        )
    q = TeamQueue.open(args.queue)
    try:
        await q.ping()
        worker = Worker(
            q,
            providers or None,
            args.concurrency,
            args.visibility_timeout,
            share_s=int(max(0.0, args.share_hours) * 3600),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        print(
            tr("Worker {name} on {url}: {providers}").format(
                name=worker.name, url=q.url, providers=", ".join(worker.providers)
            ),
            file=out,
            flush=True,
        )
        stats = await worker.run(stop)
        print(
            tr("{completed} jobs completed, {duplicates} made twice, {taken} taken over.").format(
                completed=stats.completed, duplicates=stats.duplicates, taken=stats.taken_over
            ),
            file=out,
        )
        return EXIT_OK
    finally:
        await q.aclose()


async def _queue(args: argparse.Namespace, out: TextIO) -> int:
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
