"""``atelier prices``: the catalogue's prices (provider, model, price, as of, source), and
``atelier prices import FILE`` to add or override prices and models in ``ATELIER_HOME``
(``prices.json``, ``catalogue.json``; see ``atelier.pricing.imports``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from atelier.core import paths
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.engine.service import load_prices
from atelier.pricing.catalogue_list import PriceLine, lines_json, price_lines
from atelier.pricing.imports import import_file
from atelier.pricing.table import PRICES_FILE
from atelier.providers import catalogue


def add_parser(sub: Any) -> None:
    """``atelier prices [--format text|json] [--all]`` and ``atelier prices import FILE``."""
    p = sub.add_parser(
        "prices",
        help=tr("list the price catalogue, or import prices and models into ATELIER_HOME"),
    )
    p.add_argument("action", nargs="?", default="list", choices=["list", "import"])
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        help=tr(
            "import: a prices.json list, or a TOML or JSON file of [[price]] and [[model]] tables"
        ),
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--all", action="store_true", help=tr("also list models their provider has shut down")
    )
    p.set_defaults(handler=lambda args, out, err: run(args, out, err))


def _text(lines: list[PriceLine]) -> list[str]:
    rows = [
        [
            x.provider,
            x.model,
            " ".join(v for v in (x.quality, x.size) if v != "*") or "*",
            x.price,
            x.as_of or "—",
            tr("{source} (third party)").format(source=x.source)
            if x.source_kind == "third party"
            else x.source,
        ]
        for x in lines
    ]
    head = [tr("provider"), tr("model"), tr("images"), tr("price"), tr("as of"), tr("source")]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    out = []
    for x, r in zip([None, *lines], [head, *rows], strict=True):
        line = "  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
        if x is not None and x.stale:
            line += "  " + tr("(check the provider's page)")
        if x is not None and x.note:
            line += f"  [{x.note}]"
        out.append(line.rstrip())
    return out


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List or import; returns the exit code.

    Raises:
        InputError: ``import`` without a file, or a bad file (nothing is changed; exit 2).
    """
    home = paths.home()
    if args.action == "import":
        if args.file is None:
            raise InputError("prices import", tr("give the file to import"))
        done = import_file(args.file, home)
        print(
            tr("{added} price(s) added, {replaced} replaced in {target}").format(
                added=done.prices_added,
                replaced=done.prices_replaced,
                target=home / PRICES_FILE,
            ),
            file=out,
        )
        if done.models_added or done.models_replaced:
            print(
                tr("{added} model(s) added, {replaced} replaced in {target}").format(
                    added=done.models_added,
                    replaced=done.models_replaced,
                    target=home / catalogue.USER_FILE,
                ),
                file=out,
            )
        return 0
    if args.file is not None:
        raise InputError("prices", tr("a file is only given to 'prices import'"))
    problem = catalogue.user_problem()
    if problem:
        print(
            tr("Your own catalogue entries are not used: {problem}").format(problem=problem),
            file=err,
        )
    lines = price_lines(load_prices(), include_shut_down=args.all)
    if args.format == "json":
        print(lines_json(lines), file=out)
    else:
        print("\n".join(_text(lines)), file=out)
    return 0
