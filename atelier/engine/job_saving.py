"""Saving a job's answer, the ``save`` stage of ``atelier.engine.jobrun.JobRun``: each image written
(decoded, converted, its metadata embedded; ``atelier.output.images``), checked
(``atelier.output.qa``: blank, black, near-uniform, wrong size or aspect, near-duplicate; a
flagged sample is made again while ``RunSettings.qa_retry`` allows) and recorded with what made it;
a paid image that cannot be written is spooled for the next resume, and a broken output
folder halts the run."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from atelier.core.errors import ErrorClass, OutputError, ProviderError
from atelier.core.events import ImageSaved
from atelier.core.i18n import tr
from atelier.core.models import parse_size
from atelier.core.status import JobStatus
from atelier.engine.context import ActiveJob, Sent
from atelier.engine.copying import SaveFailedError
from atelier.output.channels.batch import ON_SAVE
from atelier.output.images import (
    THUMB_SIZE,
    UserFileError,
    image_metadata,
    save_image,
    spool_image,
)
from atelier.output.qa import (
    HashIndex,
    Inspection,
    SizeRule,
    decode,
    inspect_image,
    with_duplicate,
)
from atelier.pricing.reuse import image_key
from atelier.store.images import Made, QaMarks

log = logging.getLogger("atelier.engine")


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
            path, thumb, sha, found = await asyncio.to_thread(
                _save_checked,
                jr.qa_rule,
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
        _keep(jr, sent, idx, image.seed, (path, thumb, sha), found)
        saved += 1
    jr.ctx.store.finish_attempt(
        sent.attempt_id,
        "ok" if error is None else "error",
        images=saved,
        cost=sent.cost,
        error=error.message if error else None,
        error_type=error.error_class.value if error else None,
    )
    return error


_ONE_CHECK_AT_A_TIME = threading.Semaphore(1)
"""The quality checks of saved images run one at a time, whichever saving thread asks: 16
saving threads checking at once as a run ramps up (numpy, imagehash, Python in between) took
the GIL from the window so often that it stalled 100–170 ms about a second after Start; one
at a time it does not (``bench/window.py``, 2026-12-07: longest stall 100–142 ms with the
checks free, 51–73 ms without them, docs/benchmarks.md). A check takes 0.1–1.4 ms (19 ms for
a noisy 1024² PNG, ``atelier/output/qa.py``), against seconds per image at any provider."""


def _save_checked(
    rule: SizeRule,
    out_dir: Path,
    rel: str,
    data: bytes,
    output_format: str,
    meta: dict[str, Any],
    thumb_dir: Path | None,
    size: tuple[int, int] | None,
    overwrite: bool,
) -> tuple[Path, Path | None, str, Inspection | None]:
    """``save_image``, then the quality checks on what the provider sent (``atelier.output.qa``;
    blocking, in the saving thread). ``data`` is decoded once, for the checks and the
    thumbnail (a JPEG at the thumbnail's scale). Bytes that do not decode are left to
    ``save_image`` to refuse; a check that cannot run costs only its flags (``None``)."""
    try:
        pixels: tuple[Image.Image, tuple[int, int]] | None = decode(data, 2 * THUMB_SIZE)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        pixels = None
    path, thumb, sha = save_image(
        out_dir, rel, data, output_format, meta, thumb_dir, size, overwrite,
        preview=pixels[0] if pixels else None,
    )  # fmt: skip
    try:
        with _ONE_CHECK_AT_A_TIME:
            found = inspect_image(*pixels, size, rule) if pixels else None
    except Exception as e:  # a check that cannot run costs only its flags, never the image
        log.warning("quality check of %s skipped: %s", path, e)
        found = None
    return path, thumb, sha, found


def _keep(
    jr: ActiveJob,
    sent: Sent,
    idx: int,
    seed: int | None,
    written: tuple[Path, Path | None, str],
    found: Inspection | None,
) -> None:
    """Record a written image with its QA marks, decide whether it is made again, and tell
    the views."""
    path, thumb, sha = written
    try:
        marks = _qa_marks(jr, idx, found)
    except Exception as e:  # a check that cannot run costs only its flags, never the image
        log.warning("quality check of %s skipped: %s", path, e)
        marks = None
    # Decided before the image is recorded: one that is made again goes to no delivery and
    # to no channel judge (its re-make replaces it).
    again = _remake(jr, idx, marks)
    image_id = _record(jr, sent, idx, seed, path, thumb, sha, marks, final=not again)
    _after_check(jr, idx, image_id, marks, again)
    jr.ctx.events.emit(
        ImageSaved(
            jr.run.batch_id,
            jr.id,
            idx,
            str(path),
            str(thumb) if thumb else None,
            jr.job.version,
            image_id,
            marks.flags if marks else (),
        )
    )


def _qa_marks(jr: ActiveJob, idx: int, found: Inspection | None) -> QaMarks | None:
    """The image's QA marks: ``found`` with ``duplicate`` when another image of the batch is
    near it (draft images are not compared: their layout is the same by design), and how often
    the sample was made again."""
    if found is None:
        return None
    if jr.provider != "draft" and found.phash is not None:
        if jr.run.qa_index is None:
            jr.run.qa_index = HashIndex(jr.ctx.store.qa_hashes(jr.run.batch_id))
        found = with_duplicate(found, jr.run.qa_index, (jr.id, idx))
    return QaMarks(found.flags, found.detail, found.phash, jr.qa_remakes.get(idx, 0))


def _remake(jr: ActiveJob, idx: int, marks: QaMarks | None) -> bool:
    """Whether a flagged sample is made again (``RunSettings.qa_retry`` allows one more)."""
    return (
        marks is not None
        and bool(marks.flags)
        and jr.qa_remakes.get(idx, 0) < jr.run.settings.qa_retry
    )


def _after_check(
    jr: ActiveJob, idx: int, image_id: int, marks: QaMarks | None, again: bool
) -> None:
    """Index the image's hash (a re-make without one takes the old one out of the index); a
    flagged sample made ``again`` stays out of ``jr.done``, else the sample is done."""
    if jr.run.qa_index is not None:
        if marks is not None and marks.phash is not None:
            jr.run.qa_index.add((jr.id, idx), image_id, marks.phash)
        else:
            jr.run.qa_index.forget((jr.id, idx))
    if again:
        assert marks is not None
        jr.qa_remakes[idx] = jr.qa_remakes.get(idx, 0) + 1
        jr.qa_pending.add(idx)
        log.info("job %s sample %s flagged %s: made again", jr.id, idx, ",".join(marks.flags))
        return
    jr.qa_pending.discard(idx)
    jr.done.add(idx)


def _record(
    jr: ActiveJob,
    sent: Sent,
    idx: int,
    seed: int | None,
    path: Path,
    thumb: Path | None,
    sha: str,
    qa: QaMarks | None = None,
    final: bool = True,
) -> int:
    """Record a written image with what made it: the seed (the provider's, else the
    job's), the prompt, the model, its share of the request's cost, the request id, and
    its content key and file hash (so a later identical request copies it); a ``final`` one
    (not about to be made again) with its deliveries, then judged against the batch's
    channels."""
    assert sent.result is not None
    key = image_key(jr.key, idx) if jr.key is not None else None
    if key is not None:
        jr.run.known_keys.add(key)
    image_id = jr.ctx.store.add_image(
        jr.id,
        idx,
        path,
        thumb,
        seed=seed
        if seed is not None
        else None
        if jr.spec.seed is None
        else jr.spec.seed + jr.remake_offset(idx),
        prompt=jr.spec.prompt,
        made=Made(
            f"{jr.provider}/{jr.model}",
            None if sent.cost is None else sent.cost / max(1, len(sent.samples)),
            sent.result.request_id,
            key,
            sha,
        ),
        qa=qa,
        outbox=jr.run.outbox if final else None,
    )
    if final and jr.run.settings.channels:  # judged on a thread of its own, off the loop
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
