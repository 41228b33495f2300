"""Putting a local batch on the team queue (``submit_batch``) and finding it there again
(``team_ref``): what this machine made before is copied here at $0 instead of queued, and a
request the batch makes twice goes on the queue once. ``atelier.team.follow`` records what the
workers make."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atelier.core.errors import OutputError
from atelier.core.models import JobSpec, RunSettings
from atelier.core.status import BatchStatus, JobStatus
from atelier.engine.copying import place_copy
from atelier.pricing.reuse import image_key
from atelier.store import ImageRow, Store
from atelier.team.queue import TeamQueue
from atelier.team.shared_images import job_key


def team_ref(store: Store, batch_id: int) -> tuple[str, str] | None:
    """``(queue URL, team batch id)`` of a local batch put on a team queue, else ``None``."""
    ref = store.batch(batch_id).settings.get("team")
    if isinstance(ref, dict) and ref.get("batch"):
        return str(ref.get("queue", "")), str(ref["batch"])
    return None


def _copies(settings: RunSettings, jobs: list[tuple[int, JobSpec]]) -> dict[int, list[int]]:
    """Jobs that make the same request as an earlier job of the batch (``atelier.pricing.reuse``'s content
    key, same sample count), by that first job: only it goes on the queue, the others copy its
    images here at $0, as a local run copies them. ``{}`` with reuse off or delivery on."""
    if not settings.reuse or settings.delivery is not None:
        # Delivered by the workers: each job's own delivery needs its own job there.
        return {}
    first: dict[tuple[str, int], int] = {}
    copies: dict[int, list[int]] = {}
    for jid, spec in jobs:
        key = (job_key(settings, spec), spec.sample_count)
        if key in first:
            copies.setdefault(first[key], []).append(jid)
        else:
            first[key] = jid
    return copies


def _copy_made(
    store: Store,
    batch_id: int,
    settings: RunSettings,
    pending: list[tuple[int, JobSpec]],
    thumb_dir: Path | None,
) -> set[int]:
    """Copy here at $0 the jobs of ``pending`` whose every sample this machine made before
    (an image of any batch in its store whose file still hashes as recorded, ``atelier.pricing.reuse``),
    as a local run copies them and as the estimate said; they never go on the queue.
    Returns their ids; none with reuse off or delivery on (the workers deliver a team batch,
    and copy what the team made). Blocking: run it in a thread."""
    if not settings.reuse or settings.delivery is not None:
        return set()
    keys = {jid: job_key(settings, spec) for jid, spec in pending}
    wanted = [image_key(keys[j], i) for j, spec in pending for i in range(spec.sample_count)]
    found = store.reusable_images(wanted)
    out_dir = store.batch(batch_id).output_dir
    copied = set()
    for jid, spec in pending:
        sources = [found.get(image_key(keys[jid], i), []) for i in range(spec.sample_count)]
        if all(sources) and _copy_job(store, jid, spec, sources, out_dir, thumb_dir, settings):
            copied.add(jid)
    return copied


def _copy_job(
    store: Store,
    jid: int,
    spec: JobSpec,
    sources: list[list[ImageRow]],
    out_dir: Path,
    thumb_dir: Path | None,
    settings: RunSettings,
) -> bool:
    """Write every sample of job ``jid`` from its earlier images (``sources[i]``: sample
    ``i``'s, best first) and complete it; ``False`` (nothing recorded) when one cannot be."""
    names = spec.sample_paths(None)
    placed = []
    for idx, candidates in enumerate(sources):
        for src in candidates:
            try:
                got = place_copy(out_dir, names[idx], src, thumb_dir, settings.overwrite)
            except OutputError:  # the workers' image meets the same folder: it says why
                return False
            if got is not None:
                placed.append((idx, src.seed, got))
                break
        else:
            return False
    store.claim_job(jid)
    for idx, seed, ((path, thumb), made) in placed:
        store.add_image(jid, idx, path, thumb, seed=seed, prompt=spec.prompt, made=made)
    store.set_job_status(jid, JobStatus.COMPLETED, duration_ms=0)
    return True


async def submit_batch(
    q: TeamQueue, store: Store, batch_id: int, thumb_dir: Path | None = None
) -> str:
    """Put the pending jobs of local batch ``batch_id`` on the team queue and remember where;
    returns the team batch id. What this machine made before is copied here instead
    (``_copy_made``), and a request the batch makes twice goes on the queue once
    (``_copies``)."""
    batch = store.batch(batch_id)
    settings = batch.run_settings()
    pending = [(j.id, j.spec) for j in store.jobs(batch_id) if j.status == JobStatus.PENDING]
    if pending:  # as a run does at its start: the user may have removed it
        await asyncio.to_thread(batch.output_dir.mkdir, parents=True, exist_ok=True)
    made = await asyncio.to_thread(_copy_made, store, batch_id, settings, pending, thumb_dir)
    pending = [(j, spec) for j, spec in pending if j not in made]
    copies = _copies(settings, pending)
    copying = {c for cs in copies.values() for c in cs}
    tid = await q.submit(batch.name, settings, [(j, sp) for j, sp in pending if j not in copying])
    ref = {"queue": q.url, "batch": tid, "copies": {str(k): v for k, v in copies.items()}}
    store.update_batch_settings(batch_id, {**batch.settings, "team": ref})
    store.set_batch_status(batch_id, BatchStatus.RUNNING, started=True)
    return tid
