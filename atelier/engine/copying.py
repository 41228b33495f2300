"""Copying what an identical request already made (``atelier.pricing.reuse``), for one job of a run:
the first job of a batch asking for a key makes it and later ones wait for it; an image any
batch made is copied at $0 while its file still hashes as recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atelier.core.errors import ErrorClass, OutputError, ProviderError
from atelier.core.events import ImageSaved
from atelier.core.status import JobStatus
from atelier.engine.context import ActiveJob
from atelier.output.channels.batch import ON_SAVE
from atelier.output.images import UserFileError, copy_image
from atelier.pricing.reuse import image_key
from atelier.store import ImageRow
from atelier.store.images import Made, QaMarks


def place_copy(
    out_dir: Path, name: str, src: ImageRow, thumb_dir: Path | None, overwrite: bool
) -> tuple[tuple[Path, Path | None], Made] | None:
    """Write ``src`` (an earlier image, hashed) as ``name`` in ``out_dir``: ``((path, thumb),
    its record at $0, pointing at ``src``)``, or ``None`` when ``src``'s file is gone or
    changed. Blocking.

    Raises:
        OutputError: as ``atelier.output.images.copy_image`` (the user's file, a broken folder).
    """
    assert src.sha256 is not None  # reusable_images returns hashed images only
    placed = copy_image(out_dir, name, src.path, src.sha256, thumb_dir, overwrite)
    if placed is None:
        return None
    return placed, Made(src.model, 0.0, src.request_id, src.content_key, src.sha256, src.id)


class SaveFailedError(Exception):
    """Saving failed for good: the job failed (and, for a broken disk, the run halted)."""


async def copy_earlier(jr: ActiveJob, key: str) -> None:
    """Copy the samples an identical request already made: wait for the job of this batch
    making it (the first to ask leads), then copy what any batch made at $0.

    Raises:
        SaveFailedError: as ``save``.
    """
    leader = jr.run.makers.get(key)
    if leader is None:
        jr.leads = jr.run.makers[key] = asyncio.get_running_loop().create_future()
    else:
        await asyncio.shield(leader)
    wanted = [image_key(key, i) for i in range(jr.spec.sample_count) if i not in jr.done]
    wanted = [k for k in wanted if k in jr.run.known_keys]
    if not wanted:  # nothing made it yet: no store query (a burst of new jobs stays fast)
        return
    found = await asyncio.to_thread(jr.ctx.store.reusable_images, wanted)
    for idx in range(jr.spec.sample_count):
        for src in found.get(image_key(key, idx), []) if idx not in jr.done else []:
            if await _copy(jr, idx, src):
                break


async def _copy(jr: ActiveJob, idx: int, src: ImageRow) -> bool:
    """Write ``src`` (an earlier image of the same request) as sample ``idx``; ``False``
    when its file is gone or changed."""
    try:
        placed = await asyncio.to_thread(
            place_copy, jr.run.out_dir, jr.names[idx], src, jr.ctx.thumb_dir,
            jr.run.settings.overwrite,
        )  # fmt: skip
    except OutputError as e:  # the user's file or a broken folder: as for a made image
        jr.move(JobStatus.FAILED, ProviderError(ErrorClass.OUTPUT, str(e)), duration=True)
        if not isinstance(e, UserFileError):
            jr.ctx.halt(jr.run, f"Stopped: {e} Jobs not started yet stay pending.")
        raise SaveFailedError from e
    if placed is None:
        return False
    (path, thumb), made = placed
    # The same bytes: the source's quality flags hold for the copy (but "duplicate", which
    # was about the source's own batch; a copy is not compared, as it was asked to be alike).
    qa = None
    if src.qa_flags is not None:
        flags = tuple(f for f in src.qa_flags if f != "duplicate")
        qa = QaMarks(flags, {k: v for k, v in src.qa_detail.items() if k != "duplicate_of"})
    image_id = jr.ctx.store.add_image(
        jr.id,
        idx,
        path,
        thumb,
        seed=src.seed,
        prompt=jr.spec.prompt,
        made=made,
        outbox=jr.run.outbox,
        qa=qa,
    )
    if jr.run.settings.channels:  # a copy is judged as a made image is
        ON_SAVE.submit(jr.ctx.store, image_id, path, jr.run.settings.channels)
    jr.done.add(idx)
    jr.ctx.events.emit(
        ImageSaved(
            jr.run.batch_id, jr.id, idx, str(path), str(thumb) if thumb else None,
            jr.job.version, image_id, qa.flags if qa else (),
        )
    )  # fmt: skip
    return True
