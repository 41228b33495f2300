"""Saving a job's answer, the ``save`` stage of ``atelier.engine.jobrun.JobRun``: each image written
(decoded, converted, its metadata embedded; ``atelier.output.images``) and recorded with what made it;
a paid image that cannot be written is spooled for the next resume, and a broken output
folder halts the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atelier.core.errors import ErrorClass, OutputError, ProviderError
from atelier.core.events import ImageSaved
from atelier.core.i18n import tr
from atelier.core.models import parse_size
from atelier.core.status import JobStatus
from atelier.engine.context import ActiveJob, Sent
from atelier.engine.copying import SaveFailedError
from atelier.output.channels.batch import ON_SAVE
from atelier.output.images import UserFileError, image_metadata, save_image, spool_image
from atelier.pricing.reuse import image_key
from atelier.store.images import Made


async def save_answer(jr: ActiveJob, sent: Sent) -> ProviderError | None:
    """Write the answer's images; returns the error of an undecodable one (retried like a
    provider error), else ``None``.

    Raises:
        SaveFailedError: the output folder is broken (the job failed; the run halts).
    """
    assert sent.result is not None
    result, saved, error = sent.result, 0, None
    for idx, image in zip(sent.samples, result.images, strict=False):
        meta = image_metadata(
            jr.provider, jr.model, jr.spec, idx, image.seed, result.revised_prompt
        )
        rel = jr.names[idx]
        size = None if jr.spec.size == "auto" else parse_size(jr.spec.size)
        try:
            path, thumb, sha = await asyncio.to_thread(
                save_image,
                jr.run.out_dir,
                rel,
                image.data,
                jr.spec.output_format,
                meta,
                jr.ctx.thumb_dir,
                size,
                jr.run.settings.overwrite,
            )
        except ProviderError as e:
            error = e
            break
        except UserFileError as e:  # only this job: the user's file stays as it is
            await _output_failed(jr, sent, saved, e, idx, rel, halt=False)
            raise SaveFailedError from e
        except OutputError as e:
            await _output_failed(jr, sent, saved, e, idx, rel)
            raise SaveFailedError from e
        image_id = _record(jr, sent, idx, image.seed, path, thumb, sha)
        jr.done.add(idx)
        saved += 1
        jr.ctx.events.emit(
            ImageSaved(
                jr.run.batch_id,
                jr.id,
                idx,
                str(path),
                str(thumb) if thumb else None,
                jr.job.version,
                image_id,
            )
        )
    jr.ctx.store.finish_attempt(
        sent.attempt_id,
        "ok" if error is None else "error",
        images=saved,
        cost=sent.cost,
        error=error.message if error else None,
        error_type=error.error_class.value if error else None,
    )
    return error


def _record(
    jr: ActiveJob, sent: Sent, idx: int, seed: int | None, path: Path, thumb: Path | None, sha: str
) -> int:
    """Record a written image with what made it: the seed (the provider's, else the
    job's), the prompt, the model, its share of the request's cost, the request id, and
    its content key and file hash (so a later identical request copies it); then have it
    judged against the batch's channels."""
    assert sent.result is not None
    key = image_key(jr.key, idx) if jr.key is not None else None
    if key is not None:
        jr.run.known_keys.add(key)
    image_id = jr.ctx.store.add_image(
        jr.id,
        idx,
        path,
        thumb,
        seed=seed if seed is not None else jr.spec.seed,
        prompt=jr.spec.prompt,
        made=Made(
            f"{jr.provider}/{jr.model}",
            None if sent.cost is None else sent.cost / max(1, len(sent.samples)),
            sent.result.request_id,
            key,
            sha,
        ),
        outbox=jr.run.outbox,
    )
    if jr.run.settings.channels:  # judged on a thread of its own, off the event loop
        ON_SAVE.submit(jr.ctx.store, image_id, path, jr.run.settings.channels)
    return image_id


async def _output_failed(
    jr: ActiveJob, sent: Sent, saved: int, e: OutputError, idx: int, rel: str, halt: bool = True
) -> None:
    """A paid image could not be written: spool it for the next resume, fail the job, and
    (``halt``) stop the run, since every next image would meet the same disk."""
    message = str(e)
    spool = jr.ctx.spool_dir(jr.run)
    if e.payload is not None and await asyncio.to_thread(
        spool_image, spool, jr.id, idx, rel, e.payload
    ):
        message += tr(" The image is kept and will be written when you resume.")
    jr.ctx.store.finish_attempt(
        sent.attempt_id,
        "error",
        error=message,
        error_type="output",
        images=saved,
        cost=sent.cost,
    )
    jr.move(JobStatus.FAILED, ProviderError(ErrorClass.OUTPUT, message), duration=True)
    if halt:
        jr.ctx.halt(
            jr.run,
            tr("Stopped: {reason} Jobs not started yet stay pending.").format(reason=e),
        )
