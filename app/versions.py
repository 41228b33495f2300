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

from app.errors import InputError, OutputError
from app.outputs import atomic_write, made_by_atelier
from app.status import TERMINAL
from app.store import JobRow, Store

SEED_MAX = 4_294_967_294  # JobSpec.seed's bound


@dataclass(frozen=True)
class Regenerated:
    """What ``regenerate`` did: the jobs put back, and those left alone with the reason."""

    job_ids: list[int]
    skipped: dict[int, str]


def regenerate(
    store: Store,
    batch_id: int,
    job_ids: Iterable[int],
    *,
    prompt: str | None = None,
    same_seed: bool = False,
    rng: random.Random | None = None,
) -> Regenerated:
    """Put finished jobs of ``batch_id`` back as their next version: a new seed (or, with
    ``same_seed``, the seed their shown image was made with) and, when given, a new prompt.
    A job that never made an image is simply tried again (no new version).

    Raises:
        InputError: an empty ``prompt``; OutputError: a file could not be renamed.
    """
    if prompt is not None and not prompt.strip():
        raise InputError("--prompt", "the new prompt is empty")
    rng = rng or random.Random()
    out_dir = Path(store.batch(batch_id).output_dir)
    done: list[int] = []
    skipped: dict[int, str] = {}
    for jid in job_ids:
        try:
            job = store.job(jid)
        except KeyError:
            skipped[jid] = "no such job"
            continue
        if job.batch_id != batch_id:
            skipped[jid] = f"job {jid} belongs to batch {job.batch_id}"
            continue
        if job.status not in TERMINAL:
            skipped[jid] = f"job {jid} is {job.status}"
            continue
        shown = [im for im in store.all_versions(jid) if im.version == _shown_version(store, job)]
        seed: int | None
        if not same_seed:
            seed = rng.randint(0, SEED_MAX)
        elif shown and shown[0].seed is not None:
            seed = shown[0].seed  # what the provider used, when it said
        else:
            seed = job.spec.seed
        spec = job.spec.model_copy(
            update={"seed": seed, **({"prompt": prompt} if prompt is not None else {})}
        )
        if shown and job.version == 1:
            _keep_first_version(store, job, out_dir)
        if not shown:  # nothing made yet: the same version, tried again
            store.reset_for_retry([jid])
            store.set_spec(jid, spec.model_dump_json())
            done.append(jid)
        elif store.start_version(jid, spec.model_dump_json()):
            done.append(jid)
    return Regenerated(done, skipped)


def _shown_version(store: Store, job: JobRow) -> int | None:
    versions = sorted({im.version for im in store.all_versions(job.id)})
    if job.pick_version in versions:
        return job.pick_version
    return versions[-1] if versions else None


def _keep_first_version(store: Store, job: JobRow, out_dir: Path) -> None:
    """Rename a job's first images from its own names to their version names (``cup.v1.png``)
    before its next version is made.

    Raises:
        OutputError: a rename failed (the files are as they were).
    """
    targets = job.spec.sample_paths(1)
    for im in store.all_versions(job.id):
        if im.version != 1 or not im.path.exists():
            continue
        new = out_dir / targets[im.sample_index]
        if im.path.resolve() == new.resolve():
            continue
        try:
            im.path.replace(new)
        except OSError as e:
            raise OutputError(f"cannot keep {im.path} as {new.name}: {e.strerror or e}") from e
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
        raise InputError(f"job {job_id}", "no such job") from None
    versions = {im.version for im in store.all_versions(job_id)}
    if version is not None and version not in versions:
        have = ", ".join(f"v{v}" for v in sorted(versions)) or "none"
        raise InputError(f"job {job_id}", f"has no version {version} (it has {have})")
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
    for im in store.image_paths_shown(job_id):
        dst = out_dir / names[im.sample_index]
        if im.path.resolve() == dst.resolve() or not im.path.exists():
            continue
        if dst.exists() and not made_by_atelier(dst):
            continue
        atomic_write(dst, im.path.read_bytes())
        first = first or dst
    return first
