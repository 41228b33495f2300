"""What the ``atelier`` commands share: the exit codes, a one-line error, what a command's
handler is, the progress line, the store at ``ATELIER_HOME`` (and a handler that opens it),
running a stored batch headless and printing its report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from atelier.cli.economy import Waits, submit_and_leave
from atelier.core import paths
from atelier.core.errors import InputError
from atelier.core.events import BatchFinished, Event, JobChanged, LaneWaiting
from atelier.core.i18n import tr
from atelier.core.logs import setup_logging
from atelier.core.models import BatchReport
from atelier.core.settings import Settings
from atelier.engine.service import open_engine
from atelier.output.qa import flag_label
from atelier.store import Store
from atelier.store.db import StoreError, move_aside

if TYPE_CHECKING:
    from atelier.engine.engine import Engine

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

Handler: TypeAlias = Callable[[argparse.Namespace, TextIO, TextIO], int]
"""What runs a command (``subparser.set_defaults(handler=…)``): its arguments, stdout and
stderr → the exit code. An ``AtelierError`` it raises is said by ``atelier.cli.main``'s one
error wrapper (exit 2)."""

StoreCommand: TypeAlias = Callable[[argparse.Namespace, Store, TextIO], Awaitable[int]]
"""A command that works on the store: its arguments, the store and stdout → the exit code."""


def fail_input(msg: str, err: TextIO) -> int:
    print(tr("atelier: error: {message}").format(message=msg), file=err)
    return EXIT_INPUT


class Progress:
    """A one-line text progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.status: dict[int, str] = {}
        self.tty = stream.isatty()
        self.note = ""

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, JobChanged):
            self.status[ev.job_id] = ev.status
        elif isinstance(ev, LaneWaiting):
            self.note = tr(" (rate limited, waiting {seconds:.1f} s)").format(seconds=ev.seconds)
        elif isinstance(ev, BatchFinished):
            if self.tty:
                self.stream.write("\n")
            return
        if not self.tty:
            return
        vals = list(self.status.values())
        ok, bad = vals.count("completed"), vals.count("failed") + vals.count("cancelled")
        done = ok + bad
        width = 30
        fill = int(width * done / self.total) if self.total else width
        self.stream.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} "
            f"ok {ok} failed {bad}{self.note}   "
        )
        self.stream.flush()
        self.note = ""


def _print_qa(report: BatchReport, stream: TextIO) -> None:
    """The quality check's line and each flagged job (nothing when none was flagged)."""
    if not (report.qa_flagged or report.qa_remakes):
        return
    print(
        tr(
            "quality check: {flagged} image(s) flagged, {remade} made again (their cost is in the spent figure)"
        ).format(flagged=report.qa_flagged, remade=report.qa_remakes),
        file=stream,
    )
    for r in report.results:
        if r.qa_flags:
            print(
                tr("  job {id} flagged: {flags} — {prompt}").format(
                    id=r.job_id,
                    flags=", ".join(flag_label(f) for f in r.qa_flags),
                    prompt=r.prompt[:60],
                ),
                file=stream,
            )


def print_text_report(report: BatchReport, out_dir: Path, stream: TextIO) -> None:
    cost = tr("unknown") if report.total_cost is None else f"${report.total_cost:.3f}"
    print(
        tr(
            "{succeeded} succeeded, {failed} failed, {cancelled} cancelled of {total} · spent {cost} · {out_dir}"
        ).format(
            succeeded=report.succeeded,
            failed=report.failed,
            cancelled=report.cancelled,
            total=report.total,
            cost=cost,
            out_dir=out_dir,
        ),
        file=stream,
    )
    for r in report.results:
        if r.status != "completed":
            print(
                tr("  job {id} {status}: {error} [{error_type}] — {prompt}").format(
                    id=r.job_id,
                    status=r.status,
                    error=r.error or "",
                    error_type=r.error_type or "",
                    prompt=r.prompt[:60],
                ),
                file=stream,
            )
    if report.stopped_reason:
        print(report.stopped_reason, file=stream)
    _print_qa(report, stream)
    d = report.deliveries
    if d:
        print(
            tr("deliveries: {delivered} delivered, {failed} failed, {pending} pending").format(
                delivered=d.get("delivered", 0),
                failed=d.get("failed", 0),
                pending=d.get("pending", 0),
            ),
            file=stream,
        )
        if d.get("pending"):
            print(
                tr(
                    "{count} deliveries are still in the outbox; 'atelier deliver {id}' sends them"
                ).format(count=d["pending"], id=report.batch_id),
                file=stream,
            )


def _headless(
    store: Store, batch_id: int, jobs: int, fmt: str, out: TextIO
) -> tuple[Engine, Waits]:
    """A headless engine for ``batch_id`` with the progress line, the provider batches'
    waits and the signals that stop it."""
    # Headless runs make no thumbnails: the gallery makes (and caches) them when it shows a batch.
    engine = open_engine(store, Settings.load(), thumbnails=False)
    stream = sys.stderr if fmt == "json" else out
    engine.events.subscribe(Progress(jobs, stream))
    waits = Waits(stream)
    engine.events.subscribe(waits)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(
                sig,
                engine.stop_here,
                batch_id,
                tr("Stopped by signal {name}.").format(name=sig.name),
            )
    return engine, waits


async def run_stored(store: Store, batch_id: int, jobs: int, fmt: str, out: TextIO) -> BatchReport:
    """Run a stored batch on a headless engine, with a progress line and signal handling."""
    engine, _ = _headless(store, batch_id, jobs, fmt, out)
    return await engine.run(batch_id)


async def run_or_submit(
    store: Store, batch_id: int, jobs: int, fmt: str, out: TextIO, no_wait: bool
) -> BatchReport | None:
    """``run_stored``; with ``no_wait``, only until every job waits in a provider batch
    (returns ``None`` then, see ``submitted``)."""
    if not no_wait:
        return await run_stored(store, batch_id, jobs, fmt, out)
    engine, waits = _headless(store, batch_id, jobs, fmt, out)
    if await submit_and_leave(engine, store, batch_id, waits):
        return None
    return engine.report(batch_id)  # it ended by itself: every job was made or reused


def submitted(batch_id: int, fmt: str, out: TextIO) -> int:
    """What ``--no-wait`` prints once its provider batches hold every job."""
    if fmt == "json":
        print(json.dumps({"batch_id": batch_id, "status": "submitted"}), file=out)
    else:
        print(
            tr(
                "Batch {id} is with the provider. Collect the images with 'atelier resume {id}' or in the studio."
            ).format(id=batch_id),
            file=out,
        )
    return EXIT_OK


def open_store(move_damaged: bool, err: TextIO) -> Store:
    """The store at ``ATELIER_HOME``; a damaged one is moved aside (never deleted) and a new
    one made only when the user asked for it with ``--move-damaged-store``.

    Raises:
        StoreError: the store cannot be used (the message says what to do).
    """
    path = paths.store_path()
    try:
        return Store(path)
    except StoreError as e:
        if not (e.damaged and move_damaged):
            raise
        kept = move_aside(path)
        print(
            tr("atelier: the damaged store was moved aside to {path}").format(path=kept), file=err
        )
        return Store(path)


def with_store(command: StoreCommand) -> Handler:
    """The handler of a command on the store at ``ATELIER_HOME``: logging set up, the store
    opened (a damaged one is not moved aside) and closed again, ``command`` awaited."""

    def handler(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        async def go() -> int:
            setup_logging()
            store = open_store(False, err)
            try:
                return await command(args, store, out)
            finally:
                store.close()

        return asyncio.run(go())

    return handler


def known_batch(store: Store, batch_id: int) -> None:
    """Nothing when ``batch_id`` is in the store.

    Raises:
        InputError: no such batch (the message says how to list them).
    """
    try:
        store.batch(batch_id)
    except KeyError:
        raise InputError(
            tr("batch {id}").format(id=batch_id),
            tr("no such batch (atelier batches lists them)"),
        ) from None


def job_ids(store: Store, batch_id: int, numbers: Sequence[int], rows: bool) -> list[int]:
    """Job ids from the command line's numbers (job ids, or sheet rows with ``--rows``).

    Raises:
        InputError: a number that names no job of the batch.
    """
    jobs = store.jobs(batch_id)
    by = (
        {r + 1: j.id for j in jobs for r in j.spec.source_rows()}
        if rows
        else {j.id: j.id for j in jobs}
    )
    missing = [n for n in numbers if n not in by]
    if missing:
        rows_text = tr("no row {numbers} (atelier show {id} lists them)")
        jobs_text = tr("no job {numbers} (atelier show {id} lists them)")
        raise InputError(
            tr("batch {id}").format(id=batch_id),
            (rows_text if rows else jobs_text).format(
                numbers=", ".join(map(str, missing)), id=batch_id
            ),
        )
    return list(dict.fromkeys(by[n] for n in numbers))


def existing_store() -> Store | None:
    """The store at ``ATELIER_HOME`` when there is a usable one (nothing is created)."""
    path = paths.store_path()
    if not path.is_file():
        return None
    try:
        return Store(path)
    except StoreError:
        return None


def silence(stream: TextIO) -> None:
    """The reader of ``stream`` went away: send what is still buffered nowhere, quietly."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


def print_report(report: BatchReport, fmt: str, out_dir: Path, out: TextIO) -> int:
    """Print ``report`` (JSON or text); returns the exit code it means."""
    try:
        if fmt == "json":
            print(report.model_dump_json(indent=2), file=out)
        else:
            print_text_report(report, out_dir.resolve(), out)
        out.flush()
    except BrokenPipeError:  # `atelier … | head`: the report file is written already
        silence(out)
    return EXIT_OK if report.succeeded == report.total else EXIT_FAILED
