"""Planning a batch-config file (the reference batch tool's format, see ``atelier.core.models``):
``jobs[]`` → validated ``JobSpec``s, with its own conventions for names, moderation and the
folder image paths are read from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import BatchConfig, ConfigJob, JobSpec, wire_moderation
from atelier.sheet.input_images import resolve_image
from atelier.sheet.plan import Plan
from atelier.sheet.templates import UniqueNamer, format_from_path, safe_relative_path


def plan_from_config(
    cfg: BatchConfig,
    where_prefix: str = "",
    base_dir: Path | None = None,
    cwd: Path | None = None,
) -> Plan:
    """One job per config job. The output format is the job's ``output_format``, else what the
    ``output_path`` extension names, else PNG; a mismatching extension is replaced (warned). A
    job without ``output_path`` is named ``batch_N`` (1-based, as the reference batch tool
    names it). ``moderation`` ``medium``/``high`` is sent as the API's ``auto`` (warned).

    Reference images and masks (``reference_image[_path]``, ``mask[_image_path]``) resolve as
    the reference tool resolves them, from ``cwd`` (the working directory), then from
    ``base_dir`` (the config's folder, with a note).

    Raises:
        InputError: an output path that is absolute or escapes the output folder
            (``jobs[2].output_path``), or a missing reference image (``jobs[0].reference_image``).
    """
    namer = UniqueNamer()
    plan = Plan([], warnings=cfg.warnings())
    for i, job in enumerate(cfg.jobs):
        where = f"{where_prefix}jobs[{i}].output_path"
        asked = job.output_path or f"batch_{i + 1}"
        fmt = job.output_format or format_from_path(asked) or "png"
        rel = safe_relative_path(asked, fmt, where)
        if job.output_path and rel != job.output_path.replace("\\", "/"):
            plan.warnings.append(
                tr(
                    "jobs[{i}].output_path: writing {rel!r} (asked {output_path!r}, format {fmt})"
                ).format(i=i, rel=rel, output_path=job.output_path, fmt=fmt)
            )
        unique = namer.claim(rel, job.sample_count, where)
        if unique != rel:
            plan.warnings.append(
                tr(
                    "jobs[{i}].output_path: {rel!r} already used in this batch; using {unique!r}"
                ).format(i=i, rel=rel, unique=unique)
            )
        images = _ConfigImages(plan, base_dir, cwd or Path.cwd(), f"{where_prefix}jobs[{i}]")
        plan.specs.append(_config_spec(plan, job, unique, fmt, f"{where_prefix}jobs[{i}]", images))
    return plan


@dataclass
class _ConfigImages:
    """Image paths of one config job, resolved from the working directory first (as the
    reference tool does), then from the config's folder with a note in ``plan``."""

    plan: Plan
    base_dir: Path | None
    cwd: Path
    where: str

    def resolve(self, raw: str, fld: str) -> str:
        """The absolute path of ``raw`` (see ``_resolve_image`` for the checks).

        Raises:
            InputError: the image is in neither folder, or is not an image.
        """
        where = f"{self.where}.{fld}"
        p = Path(raw).expanduser()
        if p.is_absolute() or (self.cwd / p).is_file() or self.base_dir is None:
            return resolve_image(raw, self.cwd, where)
        if (self.base_dir / p).is_file():
            self.plan.warnings.append(
                tr(
                    "{where}: {raw!r} is not in the working folder {cwd}; using the one beside the config, {path}"
                ).format(where=where, raw=raw, cwd=self.cwd, path=self.base_dir / p)
            )
            return resolve_image(raw, self.base_dir, where)
        raise InputError(
            where,
            tr("image not found: {raw} (looked in {cwd} and {base_dir})").format(
                raw=raw, cwd=self.cwd, base_dir=self.base_dir
            ),
        )


def _config_spec(
    plan: Plan,
    job: ConfigJob,
    output_path: str,
    fmt: str,
    place: str,
    images: _ConfigImages,
) -> JobSpec:
    """The ``JobSpec`` of config job ``place`` (``jobs[3]``), its images resolved.

    Raises:
        InputError: a reference image or mask is missing or not an image.
    """
    moderation, changed = wire_moderation(job.moderation)
    if changed:
        plan.warnings.append(f"{place}.{changed}")
    refs = ([job.reference_image] if job.reference_image else []) + job.reference_images
    ref_field = "reference_image" if job.reference_image else "reference_images"
    return JobSpec(
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        output_path=output_path,
        size=job.size,
        quality=job.quality,
        output_format=fmt,
        transparent_background=job.transparent_background,
        moderation=moderation,
        sample_count=job.sample_count,
        seed=job.seed,
        provider=job.provider,
        model=job.model,
        operation=job.operation,
        reference_images=[images.resolve(r, ref_field) for r in refs],
        mask=images.resolve(job.mask, "mask") if job.mask else None,
        style_preset=job.style_preset,
        input_fidelity=job.input_fidelity,
    )
