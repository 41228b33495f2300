"""Economy mode on the command line: ``atelier run … --economy [PROVIDERS] [--no-wait]`` and
``atelier resume BATCH`` (collect a batch submitted with ``--no-wait``, or go on with any
paused one)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, TextIO

from atelier.core.errors import InputError
from atelier.core.events import EconomyWaiting, Event
from atelier.core.i18n import tr
from atelier.providers.economy.lanes import ECONOMY_PROVIDERS
from atelier.providers.registry import capabilities_of
from atelier.store import Store

if TYPE_CHECKING:
    from atelier.engine.engine import Engine

NO_WAIT_CHECK_S = 0.3
"""How often ``--no-wait`` looks whether every job is in a provider batch (seconds)."""


def add_run_arguments(r: Any) -> None:
    """The economy flags of ``atelier run``."""
    r.add_argument(
        "--economy",
        nargs="?",
        const="*",
        metavar="PROVIDERS",
        help=tr(
            "send through the providers' batch APIs at their batch discount (atelier prices "
            "lists it), results within 24 h (OpenAI, Gemini; a comma list limits it to those "
            "lanes)"
        ),
    )
    r.add_argument(
        "--economy-retry",
        choices=("economy", "now"),
        default="economy",
        help=tr(
            "try failed lines again in the next provider batch (default) or at once at list price"
        ),
    )
    r.add_argument(
        "--economy-poll-ms",
        type=int,
        default=3000,
        metavar="MS",
        help=tr("the first wait between polls of a provider batch; each next is 1.5x longer"),
    )
    r.add_argument(
        "--no-wait",
        action="store_true",
        help=tr(
            "with --economy: submit the provider batches and exit; collect later with "
            "'atelier resume BATCH' or in the studio"
        ),
    )


def economy_settings(args: argparse.Namespace, providers: list[str]) -> dict[str, Any]:
    """The ``RunSettings`` fields the flags set.

    Raises:
        InputError: ``--economy`` names a provider without a batch API, or none of the batch's
            providers has one; ``--no-wait`` without ``--economy``; a bad poll interval.
    """
    if args.economy is None:
        if args.no_wait:
            raise InputError("--no-wait", tr("only with --economy (a synchronous run cannot wait)"))
        return {}
    asked = [p.strip() for p in str(args.economy).split(",") if p.strip()]
    names = ", ".join(capabilities_of(p).label for p in ECONOMY_PROVIDERS)
    for p in asked:
        if p != "*" and p not in ECONOMY_PROVIDERS:
            raise InputError(
                "--economy",
                tr("{provider} has no batch API Atelier speaks ({names} do)").format(
                    provider=p, names=names
                ),
            )
    if "*" in asked and not any(p in ECONOMY_PROVIDERS for p in providers):
        raise InputError(
            "--economy",
            tr("none of this batch's providers ({providers}) has a batch API ({names} do)").format(
                providers=", ".join(providers), names=names
            ),
        )
    if args.economy_poll_ms < 10:
        raise InputError("--economy-poll-ms", tr("must be at least 10"))
    return {
        "economy": asked,
        "economy_retry": args.economy_retry,
        "economy_poll_ms": args.economy_poll_ms,
    }


class Waits:
    """Prints each change of a provider batch's state ("waiting for OpenAI · submitted 14:02
    · 120/300 done"), and remembers that something was submitted."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last: dict[str, str] = {}
        self.submitted: dict[str, int] = {}

    def __call__(self, ev: Event) -> None:
        if not isinstance(ev, EconomyWaiting):
            return
        self.submitted[ev.remote_id] = ev.total
        line = f"{ev.describe()} ({ev.remote_id}: {ev.state})"
        if self.last.get(ev.remote_id) != line:
            self.last[ev.remote_id] = line
            print(line, file=self.stream, flush=True)


async def submit_and_leave(engine: Engine, store: Store, batch_id: int, waits: Waits) -> bool:
    """Run ``batch_id`` until every job waits in a provider batch, then leave them running
    there (``Engine.detach``: nothing is cancelled) and stop; returns ``True`` then, ``False``
    when the run ended by itself first (every job was reused, failed or made)."""
    task = asyncio.create_task(engine.run(batch_id))
    while not task.done():
        await asyncio.wait({task}, timeout=NO_WAIT_CHECK_S)
        if task.done() or not waits.submitted or store.unsubmitted(batch_id):
            continue
        engine.detach()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True
    return False
