"""Regenerating: a job made again as itself (same id, a new attempt, a new version), its
earlier images kept beside the new ones, and the version it shows (its *pick*) under the job's
own file names.

Files: a job's first images carry its own names (``cup.png``). When it is first regenerated
they are renamed to their version names (``cup.v1.png``); every later version is written
under its own (``cup.v2.png``); and the pick (the newest, unless the designer chose another)
is copied to the job's own names. Nothing made is ever overwritten.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from atelier.core.errors import InputError, OutputError
from atelier.core.files import atomic_write
from atelier.core.i18n import tr
from atelier.core.models import JobSpec, problems_error, validation_problems
from atelier.core.status import TERMINAL
from atelier.output.images import embedded_key, free_name, made_by_atelier
from atelier.sheet.plan import Plan, check_plan
from atelier.store import ImageRow, JobRow, Store

SEED_MAX = 4_294_967_294  # JobSpec.seed's bound


@dataclass(frozen=True)
class Regenerated:
    """What ``regenerate`` did: the jobs put back, and those left alone with the reason."""

    job_ids: list[int]
    skipped: dict[int, str]


@dataclass(frozen=True)
class Change:
    """How the next version differs: a new ``prompt`` (and ``negative_prompt``, ``""`` for
    none); the seed kept (``same_seed``); ``samples`` images instead of the job's sample count
    ("more like this"); or ``edit``: the shown image becomes the reference of an edit whose
    instruction is ``prompt``."""

    prompt: str | None = None
    same_seed: bool = False
    samples: int | None = None
    edit: bool = False
    negative_prompt: str | None = None  # last: callers build a Change by position


def regenerate(
    store: Store,
    batch_id: int,
    job_ids: Iterable[int],
    change: Change | None = None,
    rng: random.Random | None = None,
) -> Regenerated:
    """Put finished jobs of ``batch_id`` back as their next version: a new seed (or, with
    ``same_seed``, the seed their shown image was made with) and what ``change`` says. A job
    that never made an image is simply tried again (no new version). Nothing changes unless
    every job's next version fits its provider.

    Raises:
        InputError: an empty prompt, an edit without an instruction or on a provider that
            does not edit, a sample count out of range; OutputError: a file could not be
            renamed.
    """
    c = change or Change()
    if c.prompt is not None and not c.prompt.strip():
        raise InputError("--prompt", tr("the new prompt is empty"))
    if c.edit and not c.prompt:
        raise InputError("--prompt", tr("an edit needs an instruction (--prompt)"))
    rng = rng or random.Random()
    planned: list[tuple[JobRow, JobSpec, bool]] = []
    skipped: dict[int, str] = {}
    for jid in job_ids:
        job, why = _finished_job(store, batch_id, jid)
        if job is None:
            skipped[jid] = why
            continue
        shown = store.shown_images(jid)
        planned.append((job, _next_spec(job, shown, c, rng), bool(shown)))
    rs = store.batch(batch_id)
    check_plan(Plan([spec for _, spec, _ in planned]), rs.provider, rs.model)
    out_dir = Path(rs.output_dir)
    done: list[int] = []
    for job, spec, made in planned:
        if made and job.version == 1:
            _keep_first_version(store, job, out_dir)
            if c.edit:  # the reference is the first version, under its new name
                first = next(im for im in store.all_versions(job.id) if im.version == 1)
                spec = spec.model_copy(update={"reference_images": [str(first.path)]})
        if not made:  # nothing made yet: the same version, tried again
            store.reset_for_retry([job.id])
            store.set_spec(job.id, spec.model_dump_json())
            done.append(job.id)
        elif store.start_version(job.id, spec.model_dump_json()):
            done.append(job.id)
    return Regenerated(done, skipped)


def _finished_job(store: Store, batch_id: int, jid: int) -> tuple[JobRow | None, str]:
    try:
        job = store.job(jid)
    except KeyError:
        return None, tr("no such job")
    if job.batch_id != batch_id:
        return None, tr("job {job} belongs to batch {id}").format(job=jid, id=job.batch_id)
    if job.status not in TERMINAL:
        return None, tr("job {job} is {status}").format(job=jid, status=job.status)
    return job, ""


def _next_spec(job: JobRow, shown: list[ImageRow], c: Change, rng: random.Random) -> JobSpec:
    """The spec of a job's next version.

    Raises:
        InputError: a value the job's spec does not take (a sample count out of range).
    """
    seed: int | None
    if not c.same_seed:
        seed = rng.randint(0, SEED_MAX)
    elif shown and shown[0].seed is not None:
        seed = shown[0].seed  # what the provider used, when it said
    else:
        seed = job.spec.seed
    update: dict[str, object] = {"seed": seed}
    if c.prompt is not None:
        update["prompt"] = c.prompt
    if c.negative_prompt is not None:
        update["negative_prompt"] = c.negative_prompt
    if c.samples is not None:
        update["sample_count"] = c.samples
    if c.edit:
        if not shown:
            raise InputError(tr("job {id}").format(id=job.id), tr("has no image to edit yet"))
        update |= {"operation": "edit", "reference_images": [str(shown[0].path)], "mask": None}
    try:
        return JobSpec.model_validate({**job.spec.model_dump(), **update})
    except ValidationError as e:
        raise problems_error(tr("job {id}: ").format(id=job.id), validation_problems(e)) from e


def _keep_first_version(store: Store, job: JobRow, out_dir: Path) -> None:
    """Rename a job's first images from its own names to their version names (``cup.v1.png``)
    before its next version is made; a version name another file holds (the user's) is left
    alone and the image takes a free name beside it (``cup.v1-2.png``, ``free_name``).

    Raises:
        OutputError: a rename failed (the files renamed before it are recorded under their
            new names).
    """
    targets = job.spec.sample_paths(1)
    for im in store.all_versions(job.id):
        if im.version != 1 or not im.path.exists():
            continue
        if im.path.resolve() == (out_dir / targets[im.sample_index]).resolve():
            continue
        new = out_dir / free_name(out_dir, targets[im.sample_index], embedded_key(im.path))
        if im.path.resolve() == new.resolve():
            continue
        try:
            im.path.replace(new)
        except OSError as e:
            raise OutputError(
                tr("cannot keep {path} as {name}: {reason}").format(
                    path=im.path, name=new.name, reason=e.strerror or e
                )
            ) from e
        store.move_image(im.id, new.resolve())


def choose_version(store: Store, job_id: int, version: int | None) -> Path | None:
    """Make ``version`` the job's pick (``None``: its newest) and put its files under the
    job's own names. Returns the job's first file, or ``None`` when nothing was published.

    Raises:
        InputError: the job has no such version; OutputError: a file could not be written.
    """
    try:
        store.job(job_id)
    except KeyError:
        raise InputError(tr("job {job}").format(job=job_id), tr("no such job")) from None
    versions = {im.version for im in store.all_versions(job_id)}
    if version is not None and version not in versions:
        have = ", ".join(f"v{v}" for v in sorted(versions)) or "none"
        raise InputError(
            tr("job {job}").format(job=job_id),
            tr("has no version {version} (it has {have})").format(version=version, have=have),
        )
    store.set_pick(job_id, version)
    return publish_pick(store, job_id)


def publish_pick(store: Store, job_id: int) -> Path | None:
    """Copy the images a job shows to the job's own file names, for a job that has versions
    (a job never regenerated already has its images there). A file there that Atelier did not
    make is left alone. Returns the first file written.

    Raises:
        OutputError: a file could not be written.
    """
    job = store.job(job_id)
    out_dir = Path(store.batch(job.batch_id).output_dir)
    names = job.spec.sample_paths()
    first: Path | None = None
    for im in store.shown_images(job_id):
        dst = out_dir / names[im.sample_index]
        if im.path.resolve() == dst.resolve() or not im.path.exists():
            continue
        if dst.exists() and not made_by_atelier(dst):
            continue
        atomic_write(dst, im.path.read_bytes())
        first = first or dst
    return first
