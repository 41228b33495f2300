"""The team queue in ``atelier run … --queue URL`` and ``atelier resume`` (their flags,
submitting and following a batch, a batch the queue lost); ``atelier worker`` and
``atelier queue`` are the modules of those names."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from atelier.cli.common import Progress
from atelier.core.events import EventBus
from atelier.core.i18n import tr
from atelier.core.models import BatchReport
from atelier.store import Store

# The team's modules (and redis with them) are imported by the functions that use them: a
# command that never meets a queue (an estimate, a run here) does not load them (75 ms).


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
    from atelier.team.control import take_back
    from atelier.team.follow import team_ref
    from atelier.team.queue import QueueError

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
    from atelier.team.control import TeamBatchLostError, run_on_queue
    from atelier.team.queue import QueueError

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
