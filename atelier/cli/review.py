"""The designer's loop from the command line, for automation and CI: ``atelier batches``,
``show``, ``review``, ``regenerate`` and ``export``. BATCH is the report's ``batch_id``; jobs
are named by the report's ``job_id`` (or by sheet row number with ``--rows``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from atelier.cli import args as argtypes
from atelier.cli.common import EXIT_OK, print_report, run_stored
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import JobSpec
from atelier.core.settings import Settings
from atelier.delivery.plan import delivery_of
from atelier.engine.controller import (
    call_now,
    price_jobs,
    regenerate_jobs,
    rejected_jobs,
    review_images,
)
from atelier.engine.service import load_prices, open_engine
from atelier.output import handoff
from atelier.output.shopify_csv import export_shopify_csv
from atelier.output.versions import Change
from atelier.store import Store
from atelier.store.images import FLAGS

COMMANDS = ("batches", "show", "review", "regenerate", "export")


def add_parsers(sub: Any) -> None:
    """The five commands' arguments."""
    b = sub.add_parser("batches", help=tr("list the batches in the store"))
    b.add_argument("--format", choices=["text", "json"], default="text")
    s = sub.add_parser("show", help=tr("a batch's jobs, versions, review state and picks"))
    s.add_argument("batch", type=int, metavar="BATCH")
    s.add_argument("--format", choices=["text", "json"], default="text")
    r = sub.add_parser("review", help=tr("pick, reject or unflag jobs' images (and star them)"))
    r.add_argument("batch", type=int, metavar="BATCH")
    flag = r.add_mutually_exclusive_group()
    for name in ("pick", "reject", "unflag"):
        flag.add_argument(f"--{name}", action="store_true")
    r.add_argument("--stars", type=argtypes.bounded_int(0, 5), metavar="0-5")
    r.add_argument("jobs", nargs="+", type=int, metavar="JOBS")
    r.add_argument("--rows", action="store_true", help=tr("JOBS are sheet row numbers"))
    g = sub.add_parser("regenerate", help=tr("make jobs again as new versions (earlier ones kept)"))
    g.add_argument("batch", type=int, metavar="BATCH")
    which = g.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--rejected", action="store_true", help=tr("every job with a rejected image")
    )
    which.add_argument("--jobs", nargs="+", type=int, metavar="IDS")
    g.add_argument("--rows", action="store_true", help=tr("IDS are sheet row numbers"))
    g.add_argument("--prompt", help=tr("a new prompt for these jobs"))
    g.add_argument("--same-seed", action="store_true", help=tr("keep the seed (with --prompt)"))
    g.add_argument(
        "--more",
        type=argtypes.bounded(JobSpec, "sample_count"),
        metavar="N",
        help=tr("more like this: N new images of the same prompt"),
    )
    g.add_argument(
        "--edit",
        action="store_true",
        help=tr("edit this: the shown image is the reference, --prompt the instruction"),
    )
    g.add_argument(
        "--estimate-only", action="store_true", help=tr("say what it costs, send nothing")
    )
    g.add_argument("--format", choices=["text", "json"], default="text")
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


async def run(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Run ``args.command`` on ``store``; returns the exit code.

    Raises:
        InputError: an unknown batch or job, or a bad combination of flags (exit 2).
        OutputError: a file cannot be written.
    """
    if args.command == "batches":
        return _batches(store, args.format, out)
    _batch(store, args.batch)
    if args.command == "show":
        return _show(store, args.batch, args.format, out)
    if args.command == "review":
        code = _review(store, args, out)
        if args.pick and delivery_of(store, args.batch) is not None:
            counts = await open_engine(store, Settings.load(), thumbnails=False).deliver(args.batch)
            print(
                tr("deliveries: {delivered} delivered, {failed} failed").format(
                    delivered=counts["delivered"], failed=counts["failed"]
                ),
                file=out,
            )
        return code
    if args.command == "export":
        return _export(store, args, out)
    return await _regenerate(store, args, out)


def _batch(store: Store, batch_id: int) -> None:
    try:
        store.batch(batch_id)
    except KeyError:
        raise InputError(
            tr("batch {id}").format(id=batch_id),
            tr("no such batch (atelier batches lists them)"),
        ) from None


def _batches(store: Store, fmt: str, out: TextIO) -> int:
    rows = store.batches()
    docs: list[dict[str, Any]] = [
        {
            "batch_id": b.id,
            "name": b.name,
            "status": b.status,
            "provider": b.provider,
            "model": b.model,
            "jobs": b.total,
            "counts": {str(k): v for k, v in b.counts.items()},
            "spent_usd": round(store.known_spend_usd(b.id), 6),
            "created_at": b.created_at,
            "output_dir": str(b.output_dir),
        }
        for b in rows
    ]
    if fmt == "json":
        print(json.dumps(docs, ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    for d in docs:
        counts = ", ".join(f"{n} {s}" for s, n in d["counts"].items())
        print(f"{d['batch_id']:>5}  {d['status']:<10} {d['name']}  ({counts}) "
              f"${d['spent_usd']:.3f}  {d['output_dir']}", file=out)  # fmt: skip
    return EXIT_OK


def _show(store: Store, batch_id: int, fmt: str, out: TextIO) -> int:
    shown_of = {im.job_id: im.version for im in store.images(batch_id)}
    jobs: list[dict[str, Any]] = []
    for job in store.jobs(batch_id):
        versions: dict[int, list[dict[str, Any]]] = {}
        for im in store.all_versions(job.id):
            versions.setdefault(im.version, []).append(
                {
                    "sample": im.sample_index,
                    "path": str(im.path),
                    "flag": im.flag,
                    "stars": im.stars,
                    "seed": im.seed,
                    "model": im.model,
                    "cost": im.cost,
                    "request_id": im.request_id,
                    "history_uuid": im.uuid,
                }
            )
        shown = shown_of.get(job.id)
        jobs.append(
            {
                "job_id": str(job.id),
                "row": None if job.spec.row_index is None else job.spec.row_index + 1,
                "status": job.status,
                "prompt": job.spec.prompt,
                "version": job.version,
                "pick_version": shown,
                "versions": [{"version": v, "images": ims} for v, ims in sorted(versions.items())],
            }
        )
    if fmt == "json":
        print(json.dumps({"batch_id": batch_id, "jobs": jobs}, ensure_ascii=False, indent=2), file=out)  # fmt: skip
        return EXIT_OK
    for j in jobs:
        shown_v = next((v for v in j["versions"] if v["version"] == j["pick_version"]), None)
        flags = ",".join(sorted({i["flag"] for i in shown_v["images"]})) if shown_v else "-"
        print(f"{j['job_id']:>6} {j['status']:<10} v{j['pick_version'] or '-'}"
              f"/{len(j['versions'])} {flags:<10} {j['prompt'][:60]}", file=out)  # fmt: skip
    return EXIT_OK


def _job_ids(store: Store, batch_id: int, numbers: Sequence[int], rows: bool) -> list[int]:
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


def _review(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    flag = next((f for f, on in zip(FLAGS, (args.unflag, args.pick, args.reject), strict=True) if on), None)  # fmt: skip
    if flag is None and args.stars is None:
        raise InputError("review", tr("give --pick, --reject, --unflag or --stars"))
    ids = _job_ids(store, args.batch, args.jobs, args.rows)
    images = [im.id for jid in ids for im in store.shown_images(jid)]
    n = review_images(store, images, flag=flag, stars=args.stars)
    marks = " ".join(
        x for x in (tr(flag) if flag else "", f"{args.stars}★" if args.stars else "") if x
    )
    text = tr("{n} image(s) of {count} job(s) marked {marks}")
    print(text.format(n=n, count=len(ids), marks=marks).strip(), file=out)
    return EXIT_OK


def _export(store: Store, args: argparse.Namespace, out: TextIO) -> int:
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


async def _regenerate(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    if args.rejected:
        ids = rejected_jobs(store, args.batch)
        if not ids:
            raise InputError(
                tr("batch {id}").format(id=args.batch), tr("no job has a rejected image")
            )
    else:
        ids = _job_ids(store, args.batch, args.jobs, args.rows)
    est = price_jobs(store, load_prices(), args.batch, ids, args.more)
    if args.estimate_only:
        doc = {"jobs": [str(i) for i in ids], "images": est.images, "estimated_cost": est.total_usd}
        text = tr("{count} job(s): {estimate}").format(count=len(ids), estimate=est.describe())
        print(json.dumps(doc) if args.format == "json" else text, file=out)
        return EXIT_OK
    engine = open_engine(store, Settings.load(), thumbnails=False)
    change = Change(args.prompt, args.same_seed, args.more, args.edit)
    done = regenerate_jobs(store, engine, call_now, args.batch, ids, change)
    if args.format == "text":
        print(
            tr("regenerating {count} job(s): {estimate}").format(
                count=len(done.job_ids), estimate=est.describe()
            ),
            file=out,
        )
        for jid, why in done.skipped.items():
            print(tr("  skipped {job}: {why}").format(job=jid, why=why), file=out)
    report = await run_stored(store, args.batch, len(done.job_ids), args.format, out)
    return print_report(report, args.format, Path(store.batch(args.batch).output_dir), out)
