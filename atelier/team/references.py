"""Reference images and masks of a team batch's edit jobs, and its ComfyUI workflow file,
travel with it: a path on the submitting machine means nothing on a worker.

At submission every local file a pending job names is stored once by content
(``atelier:ref:<sha256>``, its bytes) and the batch maps each path to it (``atelier:refs:T``,
hash path → sha256), both kept ``IMAGE_TTL_S``. A worker writes each file it needs once into
its own folder (named by content, so 10,000 rows sharing one photo fetch it once) and runs the
job with those paths. The request key is unchanged: it hashes a reference by content
(``atelier.pricing.reuse.reference_digest``). URLs are left as they are (each worker downloads them); a
file the submitter could not read keeps its path, so the job fails with the usual message
naming it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from atelier.core.models import JobSpec, RunSettings
from atelier.sheet import remote

PREFIX = "atelier:"
TTL_S = 7 * 24 * 3600
"""As long as images wait for their submitter (``atelier.team.queue.IMAGE_TTL_S``)."""


def _local_files(specs: Iterable[JobSpec]) -> set[str]:
    out: set[str] = set()
    for spec in specs:
        for ref in [*spec.reference_images, *([spec.mask] if spec.mask else [])]:
            if not remote.is_url(ref):
                out.add(ref)
    return out


def _read(paths: set[str]) -> dict[str, bytes]:
    got = {}
    for p in sorted(paths):
        try:
            got[p] = Path(p).read_bytes()
        except OSError:  # the worker's run fails the job and names the file
            continue
    return got


def _workflows(settings: RunSettings) -> set[str]:
    """The workflow files ``settings``' provider options name (ComfyUI's)."""
    out = set()
    for options in settings.provider_options.values():
        wf = options.get("workflow")
        if isinstance(wf, str) and not remote.is_url(wf):
            out.add(wf)
    return out


async def upload(r: Any, tid: str, specs: Iterable[JobSpec], settings: RunSettings) -> int:
    """Store the local reference, mask and workflow files of ``specs`` and ``settings`` for
    batch ``tid``; returns how many distinct files (by content) were stored."""
    files = await asyncio.to_thread(_read, _local_files(specs) | _workflows(settings))
    if not files:
        return 0
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    async with r.pipeline(transaction=False) as p:
        for path, sha in digests.items():
            p.set(PREFIX + f"ref:{sha}", files[path], ex=TTL_S)
        p.hset(PREFIX + f"refs:{tid}", mapping=digests)
        p.expire(PREFIX + f"refs:{tid}", TTL_S)
        await p.execute()
    return len(set(digests.values()))


async def localize(
    r: Any, tid: str, spec: JobSpec, settings: RunSettings, folder: Path
) -> tuple[JobSpec, RunSettings]:
    """``spec`` and ``settings`` with their files as files in ``folder`` (fetched once each);
    a path the batch did not store is left as it is."""
    where = await _fetch(r, tid, sorted(_local_files([spec]) | _workflows(settings)), folder)
    if not where:
        return spec, settings
    options = {
        name: {**o, "workflow": where.get(o["workflow"], o["workflow"])} if "workflow" in o else o
        for name, o in settings.provider_options.items()
    }
    local = spec.model_copy(
        update={
            "reference_images": [where.get(p, p) for p in spec.reference_images],
            "mask": where.get(spec.mask, spec.mask) if spec.mask else None,
        }
    )
    return local, settings.model_copy(update={"provider_options": options})


async def _fetch(r: Any, tid: str, files: list[str], folder: Path) -> dict[str, str]:
    """``{submitter's path: local path}`` of ``files`` the batch stored."""
    if not files:
        return {}
    shas = await r.hmget(PREFIX + f"refs:{tid}", files)
    where: dict[str, str] = {}
    for path, raw in zip(files, shas, strict=True):
        if raw is None:
            continue
        sha = raw.decode()
        local = folder / f"{sha}{Path(path).suffix}"
        if not local.is_file():
            data = await r.get(PREFIX + f"ref:{sha}")
            if data is None:  # expired: the job fails naming the submitter's path
                continue
            await asyncio.to_thread(_write, local, bytes(data))
        where[path] = str(local)
    return where


def _write(path: Path, data: bytes) -> None:
    # Written aside then renamed: two jobs fetching one photo never read half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{id(data)}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
