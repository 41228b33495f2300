"""``atelier report REPORT.json``: a report file printed as text, JSON or Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from atelier.cli.common import EXIT_OK, print_report
from atelier.core.errors import InputError
from atelier.core.files import read_json
from atelier.core.i18n import N_, tr
from atelier.core.models import BatchReport
from atelier.core.validation_messages import first_problem
from atelier.output.report_markdown import to_markdown


def add_parser(sub: Any) -> None:
    """``atelier report REPORT.json [--format text|json|markdown]``."""
    r = sub.add_parser("report", help=tr("print a report file as text, JSON or Markdown"))
    r.add_argument("report", type=Path, metavar="REPORT.json")
    r.add_argument("--format", choices=["text", "json", "markdown"], default="markdown")
    r.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the report file ``args.report``; the exit code is the one its batch means.

    Raises:
        InputError: an unreadable file, or one that is no Atelier report.
    """
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
