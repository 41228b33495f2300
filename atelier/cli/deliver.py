"""``atelier deliver``, ``atelier report`` and ``atelier secret``: delivering a batch's images
again (after a target was down), rendering a report for CI, and keeping delivery credentials
in the keyring (never in a file or a flag's history: the value is read from stdin)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from atelier.cli.args import bounded
from atelier.cli.common import EXIT_FAILED, EXIT_OK, print_report
from atelier.core.delivery_config import Delivery
from atelier.core.errors import InputError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import BatchReport
from atelier.core.secrets import set_secret
from atelier.core.settings import Settings
from atelier.core.validation_messages import first_problem
from atelier.delivery.plan import delivery_of
from atelier.engine.service import open_engine
from atelier.output.report import build_report
from atelier.output.report_markdown import to_markdown
from atelier.store import Store

STORE_COMMANDS = ("deliver",)
"""Commands that open the store (run by ``deliver``)."""
PLAIN_COMMANDS = ("report", "secret")
"""Commands that need no store (run by ``run_plain``)."""


def add_parsers(sub: Any) -> None:
    """The three commands' arguments."""
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
    r = sub.add_parser("report", help=tr("print a report file as text, JSON or Markdown"))
    r.add_argument("report", type=Path, metavar="REPORT.json")
    r.add_argument("--format", choices=["text", "json", "markdown"], default="markdown")
    s = sub.add_parser("secret", help=tr("keep a delivery secret in the keyring (read from stdin)"))
    s.add_argument("action", choices=["set"])
    s.add_argument(
        "name", help=tr("webhook, cms, slack, s3:ACCESS_KEY_ID or shopify:SHOP.myshopify.com")
    )


def run_plain(args: argparse.Namespace, out: TextIO, inp: TextIO | None = None) -> int:
    """``report`` and ``secret``.

    Raises:
        InputError: an unreadable report, an empty secret.
    """
    if args.command == "report":
        raw = read_json(args.report, N_("report"))
        try:
            report = BatchReport.model_validate(raw)
        except ValidationError as e:
            raise InputError(
                str(args.report),
                tr("not an Atelier report: {reason}").format(reason=first_problem(e)),
            ) from None
        if args.format == "markdown":
            out.write(to_markdown(report))
            return EXIT_OK
        return print_report(report, args.format, args.report.parent, out)
    value = (inp or sys.stdin).readline().strip()
    if not value:
        raise InputError(
            args.name, tr('no secret on stdin (echo "$SECRET" | atelier secret set NAME)')
        )
    if not set_secret(args.name, value):
        raise InputError(
            "keyring", tr("no keyring works here; set the environment variable instead")
        )
    print(tr("kept {name} in the keyring").format(name=args.name), file=out)
    return EXIT_OK


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
