"""``atelier deliver BATCH``: a batch's images delivered again (failed ones retried)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from atelier.cli.args import bounded
from atelier.cli.common import EXIT_FAILED, EXIT_OK, with_store
from atelier.core.delivery_config import Delivery
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.settings import Settings
from atelier.delivery.plan import delivery_of
from atelier.engine.service import open_engine
from atelier.output.report import build_report
from atelier.store import Store


def add_parser(sub: Any) -> None:
    """``atelier deliver BATCH [--delivery-wait SECONDS] [--format text|json]``."""
    d = sub.add_parser("deliver", help=tr("deliver a batch's images again (failed ones retried)"))
    d.add_argument("batch", type=int, metavar="BATCH")
    d.add_argument(
        "--delivery-wait",
        type=bounded(Delivery, "wait_s", float, unit=" s"),
        metavar="SECONDS",
        help=tr(
            "stop after SECONDS, leaving what is unfinished in the outbox (default: until "
            "every delivery is delivered or failed for good); exit 1 when some failed or are left"
        ),
    )
    d.add_argument("--format", choices=["text", "json"], default="text")
    d.set_defaults(handler=with_store(deliver))


async def deliver(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """``atelier deliver BATCH``: failed deliveries tried again, missing ones recorded, and
    every pending one sent (for at most ``--delivery-wait`` seconds); prints the report.
    Exit 1 when some delivery still failed or is left pending."""
    try:
        store.batch(args.batch)
    except KeyError:
        raise InputError(
            tr("batch {id}").format(id=args.batch),
            tr("no such batch (atelier batches lists them)"),
        ) from None
    if delivery_of(store, args.batch) is None:
        raise InputError(tr("batch {id}").format(id=args.batch), tr("it has no delivery targets"))
    engine = open_engine(store, Settings.load(), thumbnails=False)
    counts = await engine.deliver(args.batch, wait_s=args.delivery_wait)
    report = build_report(store, args.batch)
    if args.format == "json":
        print(report.model_dump_json(indent=2), file=out)
    else:
        print(
            tr("deliveries: {delivered} delivered, {failed} failed, {pending} pending").format(
                delivered=counts["delivered"],
                failed=counts["failed"],
                pending=counts["pending"] + counts["sending"],
            ),
            file=out,
        )
        for r in report.results:
            for d in r.deliveries:
                if d.status == "failed":
                    print(
                        tr("  job {id} → {target}: {error}").format(
                            id=r.job_id, target=d.target, error=d.error
                        ),
                        file=out,
                    )
        left = counts["pending"] + counts["sending"]
        if left:
            print(
                tr(
                    "{count} deliveries are still in the outbox; 'atelier deliver {id}' sends them"
                ).format(count=left, id=args.batch),
                file=out,
            )
    unfinished = counts["failed"] + counts["pending"] + counts["sending"]
    return EXIT_OK if unfinished == 0 else EXIT_FAILED
