"""``atelier show BATCH``: a batch's jobs, versions, review state and picks."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from atelier.cli.common import EXIT_OK, known_batch, with_store
from atelier.core.i18n import tr
from atelier.store import Store


def add_parser(sub: Any) -> None:
    """``atelier show BATCH [--format text|json]``."""
    s = sub.add_parser("show", help=tr("a batch's jobs, versions, review state and picks"))
    s.add_argument("batch", type=int, metavar="BATCH")
    s.add_argument("--format", choices=["text", "json"], default="text")
    s.set_defaults(handler=with_store(show))


async def show(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Print a batch's jobs with their versions, review state and picks (text or JSON).

    Raises:
        InputError: no such batch.
    """
    batch_id, fmt = args.batch, args.format
    known_batch(store, batch_id)
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
