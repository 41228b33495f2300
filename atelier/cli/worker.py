"""``atelier worker --queue URL``: take jobs from a team queue and make them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any, TextIO

from atelier.cli.common import EXIT_OK
from atelier.cli.team import queue_password_help
from atelier.core.i18n import tr
from atelier.core.logs import setup_logging
from atelier.providers.registry import PROVIDERS
from atelier.team.shared_images import SHARE_S


def add_parser(sub: Any) -> None:
    """``atelier worker --queue URL [--providers LIST] [--concurrency N] …``."""
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
    w.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Work for the queue until stopped.

    Raises:
        QueueError: an unknown provider, or a queue that cannot be used.
    """
    return asyncio.run(_worker(args, out))


async def _worker(args: argparse.Namespace, out: TextIO) -> int:
    """Take jobs until SIGINT/SIGTERM; prints what was done."""
    # Here, not at the top: every command builds this one's parser (redis is 75 ms).
    from atelier.team.queue import QueueError, TeamQueue
    from atelier.team.worker import Worker

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
