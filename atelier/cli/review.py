"""``atelier review BATCH JOBS``: pick, reject or unflag jobs' images (and star them)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK, job_ids, known_batch, with_store
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.settings import Settings
from atelier.delivery.plan import delivery_of
from atelier.engine.controller import review_images
from atelier.engine.service import open_engine
from atelier.output.channels.batch import channel_list
from atelier.store import Store
from atelier.store.images import FLAGS


def add_parser(sub: Any) -> None:
    """``atelier review BATCH (--pick | --reject | --unflag) [--stars N] JOBS…``."""
    r = sub.add_parser("review", help=tr("pick, reject or unflag jobs' images (and star them)"))
    r.add_argument("batch", type=int, metavar="BATCH")
    flag = r.add_mutually_exclusive_group()
    for name in ("pick", "reject", "unflag"):
        flag.add_argument(f"--{name}", action="store_true")
    r.add_argument("--stars", type=argtypes.bounded_int(0, 5), metavar="0-5")
    r.add_argument("jobs", nargs="+", type=int, metavar="JOBS")
    r.add_argument("--rows", action="store_true", help=tr("JOBS are sheet row numbers"))
    r.add_argument(
        "--override-channel",
        metavar="CHANNEL",
        help=tr(
            "export and deliver the jobs' images to CHANNEL even though a rule no fix can "
            "meet fails"
        ),
    )
    r.add_argument(
        "--clear-override",
        action="store_true",
        help=tr("with --override-channel: take the override back"),
    )
    r.set_defaults(handler=with_store(review))


async def review(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Pick, reject or unflag jobs' shown images and star them; a pick delivers a batch
    whose delivery waits for review.

    Raises:
        InputError: no such batch or job, or no mark given.
    """
    known_batch(store, args.batch)
    if args.override_channel:
        return _override(store, args, out)
    if args.clear_override:
        raise InputError("--clear-override", tr("only with --override-channel CHANNEL"))
    code = _mark(store, args, out)
    if args.pick and delivery_of(store, args.batch) is not None:
        counts = await open_engine(store, Settings.load(), thumbnails=False).deliver(args.batch)
        print(
            tr("deliveries: {delivered} delivered, {failed} failed").format(
                delivered=counts["delivered"], failed=counts["failed"]
            ),
            file=out,
        )
    return code


def _mark(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    flag = next((f for f, on in zip(FLAGS, (args.unflag, args.pick, args.reject), strict=True) if on), None)  # fmt: skip
    if flag is None and args.stars is None:
        raise InputError("review", tr("give --pick, --reject, --unflag or --stars"))
    ids = job_ids(store, args.batch, args.jobs, args.rows)
    images = [im.id for jid in ids for im in store.shown_images(jid)]
    n = review_images(store, images, flag=flag, stars=args.stars)
    marks = " ".join(
        x for x in (tr(flag) if flag else "", f"{args.stars}★" if args.stars else "") if x
    )
    text = tr("{n} image(s) of {count} job(s) marked {marks}")
    print(text.format(n=n, count=len(ids), marks=marks).strip(), file=out)
    return EXIT_OK


def _override(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    """``--override-channel CHANNEL``: the jobs' shown images go to CHANNEL despite an
    unfixable rule (``--clear-override``: they no longer do)."""
    channels = channel_list(args.override_channel, "--override-channel")
    if len(channels) != 1:
        raise InputError("--override-channel", tr("give one channel"))
    channel = channels[0]
    ids = job_ids(store, args.batch, args.jobs, args.rows)
    images = [im.id for jid in ids for im in store.shown_images(jid)]
    for image_id in images:
        store.set_channel_override(image_id, channel, not args.clear_override)
    text = (
        tr("{n} image(s) no longer overridden for {channel}")
        if args.clear_override
        else tr("{n} image(s) go to {channel} even where a rule no fix can meet fails")
    )
    print(text.format(n=len(images), channel=channel), file=out)
    return EXIT_OK
