"""``atelier export BATCH``: a ZIP (with manifest.csv), a contact sheet PDF, the Shopify CSV with delivered URLs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK, known_batch, with_store
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.output import handoff
from atelier.output.channels import batch as channel_batch
from atelier.output.shopify_csv import export_shopify_csv
from atelier.store import Store


def add_parser(sub: Any) -> None:
    """``atelier export BATCH [--zip FILE] [--contact-sheet FILE.pdf] [--shopify-csv FILE]``."""
    e = sub.add_parser("export", help=tr("a ZIP (with manifest.csv) and a contact sheet PDF"))
    e.add_argument("batch", type=int, metavar="BATCH")
    e.add_argument("--picked", action="store_true", help=tr("only picked images (default: all)"))
    e.add_argument("--min-stars", type=argtypes.bounded_int(0, 5), default=0, metavar="0-5")
    e.add_argument("--zip", type=Path, metavar="FILE")
    e.add_argument(
        "--shopify-csv",
        type=Path,
        metavar="FILE",
        help=tr("the batch's Shopify export with Image Src / Variant Image set to delivered URLs"),
    )
    e.add_argument("--contact-sheet", type=Path, metavar="FILE.pdf")
    e.add_argument(
        "--channels",
        metavar="CHANNELS",
        help=tr(
            "one rendition per channel in its own folder (amazon/…); an image failing a rule "
            "no fix can meet is left out of that channel unless overridden"
        ),
    )
    e.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=tr("with --channels: write the channel folders into DIR"),
    )
    e.add_argument(
        "--no-ocr",
        action="store_true",
        help=tr("with --channels: do not read text (text rules are not checked)"),
    )
    e.set_defaults(handler=with_store(export))


async def export(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Write the ZIP (with manifest.csv), the contact sheet and/or the Shopify CSV.

    Raises:
        InputError: no such batch, or neither --zip nor --shopify-csv.
        OutputError: a file cannot be written.
    """
    known_batch(store, args.batch)
    if args.channels:
        return export_channels(args, store, out)
    if args.out:
        raise InputError("--out", tr("only with --channels"))
    if not (args.zip or args.shopify_csv):
        raise InputError("export", tr("give --zip FILE and/or --shopify-csv FILE"))
    if args.shopify_csv:
        done = export_shopify_csv(store, args.batch, args.shopify_csv)
        for note in done.missing:
            print(note, file=out)
        print(
            tr("{n} row(s) with delivered image URLs → {file}").format(
                n=done.rows, file=args.shopify_csv
            ),
            file=out,
        )
        if not args.zip:
            return EXIT_OK
    sel = handoff.Selection(
        frozenset({"picked"}) if args.picked else None, min_stars=args.min_stars
    )
    images = handoff.chosen(store, args.batch, sel)
    n = handoff.export_zip(store, args.batch, images, args.zip)
    print(tr("{n} image(s) and manifest.csv → {file}").format(n=n, file=args.zip), file=out)
    if args.contact_sheet:
        pages = handoff.contact_sheet(images, args.contact_sheet, store.batch(args.batch).name)
        print(
            tr("contact sheet, {pages} page(s) → {file}").format(
                pages=pages, file=args.contact_sheet
            ),
            file=out,
        )
    return EXIT_OK


def export_channels(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """``--channels``: one rendition per channel into ``--zip FILE`` and/or ``--out DIR``.

    Raises:
        InputError: an unknown channel (naming ``--channels``), neither --zip nor --out, or
            nothing chosen.
    """
    channels = channel_batch.channel_list(args.channels)
    if not (args.zip or args.out):
        raise InputError("--channels", tr("give --zip FILE and/or --out DIR"))
    sel = handoff.Selection(
        frozenset({"picked"}) if args.picked else None, min_stars=args.min_stars
    )
    images = handoff.chosen(store, args.batch, sel)
    if not images:
        raise InputError("export", tr("no image matches the selection: nothing to export"))
    named = handoff.named(store, args.batch, images)
    ocr = not args.no_ocr
    done = None
    if args.out:
        done = channel_batch.export_renditions(store, named, channels, args.out, use_ocr=ocr)
    if args.zip:
        done = channel_batch.export_renditions_zip(store, named, channels, args.zip, use_ocr=ocr)
    assert done is not None
    for rel, channel, why in done.skipped:
        print(
            tr("{file}: not exported to {channel} ({rules}; no fix can meet it)").format(
                file=rel, channel=channel, rules=why
            ),
            file=out,
        )
    for channel, n in done.written.items():
        print(
            tr("{channel}: {n} rendition(s) → {dest}").format(
                channel=channel, n=n, dest=args.zip or args.out / channel
            ),
            file=out,
        )
    return EXIT_OK
