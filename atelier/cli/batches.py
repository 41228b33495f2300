"""``atelier batches``: the batches in the store."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from atelier.cli.common import EXIT_OK, with_store
from atelier.core.i18n import tr
from atelier.store import Store


def add_parser(sub: Any) -> None:
    """``atelier batches [--format text|json]``."""
    b = sub.add_parser("batches", help=tr("list the batches in the store"))
    b.add_argument("--format", choices=["text", "json"], default="text")
    b.set_defaults(handler=with_store(batches))


async def batches(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    """Print the batches in the store (text or JSON)."""
    fmt = args.format
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
