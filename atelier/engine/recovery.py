"""What a run does before its first request, so a crash or a broken disk costs nothing twice:
write images that were paid for but could not be written (the spool), notice files that were
deleted, and adopt files a killed run wrote but did not get to record."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from atelier.core.errors import OutputError
from atelier.core.events import EventBus
from atelier.core.status import JobStatus
from atelier.engine.lane import Run
from atelier.engine.moves import JobMoves
from atelier.output.images import deliver_spooled, job_key, read_metadata, spooled, version_names
from atelier.store import Store

log = logging.getLogger("atelier.engine")


async def deliver_spool(
    store: Store, events: EventBus, run: Run, spool_dir: Path, thumb_dir: Path | None
) -> None:
    """Write images that were paid for but could not be written last time; a job whose every
    sample then exists is completed."""
    for job_id, sample, rel, f in await asyncio.to_thread(spooled, spool_dir):
        try:
            path, thumb = await asyncio.to_thread(deliver_spooled, run.out_dir, rel, f, thumb_dir)
        except (OutputError, OSError) as e:
            log.warning(
                "batch %s: spooled image for job %s still cannot be written: %s",
                run.batch_id,
                job_id,
                e,
            )
            continue
        store.add_image(job_id, sample, path, thumb, outbox=run.outbox)
        job = store.job(job_id)
        if (
            len(store.samples_done(job_id)) == job.spec.sample_count
            and job.status != JobStatus.COMPLETED
        ):
            JobMoves(store, events).move(run.batch_id, job_id, JobStatus.COMPLETED)


async def verify_outputs(store: Store, run: Run) -> None:
    """Completed jobs whose files are gone (a deleted folder) go back to pending."""

    def missing() -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for im in store.images(run.batch_id, current=True):
            if not im.path.exists():
                out.setdefault(im.job_id, []).append(im.sample_index)
        return out

    for job_id, samples in (await asyncio.to_thread(missing)).items():
        store.forget_images(job_id, samples)
        log.warning(
            "batch %s: job %s lost %s file(s) on disk; it will be made again",
            run.batch_id,
            job_id,
            len(samples),
        )


async def adopt_existing(moves: JobMoves, run: Run) -> None:
    """Record files a killed run wrote but did not get to record (checked by embedded key)."""
    store = moves.store
    # A fresh batch writes into an empty folder: then there is nothing to adopt, and no
    # reason to read every pending job's spec.
    if not await asyncio.to_thread(lambda: any(p.is_file() for p in run.out_dir.rglob("*"))):
        return
    for jid in store.pending_job_ids(run.batch_id):
        job = store.job(jid)
        provider, model = run.job_target(job.spec)
        done = store.samples_done(jid)
        names = (
            await asyncio.to_thread(
                version_names, run.out_dir, provider, model, job.spec, job.version
            )
            if job.version > 1
            else job.spec.sample_paths()
        )
        for idx, rel in enumerate(names):
            path = run.out_dir / rel
            if idx in done or not path.exists():
                continue
            meta = await asyncio.to_thread(read_metadata, path)
            if meta and meta.get("job_key") == job_key(provider, model, job.spec, idx):
                store.add_image(jid, idx, path.resolve(), None, adopted=True, outbox=run.outbox)
                done.add(idx)
        if len(done) == job.spec.sample_count:
            moves.move(run.batch_id, jid, JobStatus.COMPLETED)
