"""Planning a batch-config file (the reference batch tool's format, see ``atelier.core.models``):
``jobs[]`` → validated ``JobSpec``s, with its own conventions for names, moderation and the
folder image paths are read from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import BatchConfig, ConfigJob, JobSpec, wire_moderation
from atelier.sheet.input_images import resolve_image
from atelier.sheet.plan import Plan
from atelier.sheet.templates import UniqueNamer, format_from_path, safe_relative_path

REFERENCE_TOOL_MODEL = "gpt-image-1"
"""The model the reference batch tool sends for a config without ``model``: its tool schema's
"(default: gpt-image-1)", kept for configs without a model through its 1.3.0 and 1.4.0
(ex-takashima/openAI-gpt-image-1-MCP-SERVER, docs/GPT_IMAGE_2_MIGRATION_PLAN.md §6.8 and
CHANGELOG.md, 2026-04-22)."""


def config_default_model(provider: str, today: date | None = None) -> tuple[str | None, str | None]:
    """The model of a config that names none, run on ``provider``, and the sentence the
    estimate shows when it is not the reference tool's own default.

    Returns:
        ``(model, note)``: on OpenAI the reference tool's default (``REFERENCE_TOOL_MODEL``),
        or, once the catalogue says it is shut down (on ``today``, default
        ``atelier.providers.base.today()``), its successor there with a note naming both;
        ``(None, None)`` on other providers (their own default model applies).
    """
    if provider != "openai":
        return None, None
    from atelier.providers import base, catalogue

    m = catalogue.current().find("openai", REFERENCE_TOOL_MODEL)
    if m is None or m.shutdown is None or (today or base.today()) < m.shutdown:
        return REFERENCE_TOOL_MODEL, None
    return m.successor, tr(
        'This config names no model: the reference batch tool would use {model}, which OpenAI retired on {date}; Atelier uses {successor} (same sizes and options) instead. Give "model" in the config, or --model, to choose another.'
    ).format(model=REFERENCE_TOOL_MODEL, date=m.shutdown.isoformat(), successor=m.successor)


def plan_from_config(
    cfg: BatchConfig,
    where_prefix: str = "",
    base_dir: Path | None = None,
    cwd: Path | None = None,
    missing_images_ok: bool = False,
) -> Plan:
    """One job per config job. The output format is the job's ``output_format``, else what the
    ``output_path`` extension names, else PNG; a mismatching extension is replaced (warned). A
    job without ``output_path`` is named ``batch_N`` (1-based, as the reference batch tool
    names it). ``moderation`` ``medium``/``high`` is sent as the API's ``auto`` (warned).

    Reference images and masks (``reference_image[_path]``, ``mask[_image_path]``) resolve as
    the reference tool resolves them, from ``cwd`` (the working directory), then from
    ``base_dir`` (the config's folder, with a note). With ``missing_images_ok`` (an estimate,
    which sends nothing) a missing one is a warning instead of an error, and the job keeps its
    path.

    A job without ``size`` gets ``auto``: nothing is sent for it, so the provider chooses (an
    edit keeps its reference's shape), as the reference tool sends no size then.

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
        images = _ConfigImages(
            plan, base_dir, cwd or Path.cwd(), f"{where_prefix}jobs[{i}]", missing_images_ok
        )
        plan.specs.append(_config_spec(plan, job, unique, fmt, f"{where_prefix}jobs[{i}]", images))
    unsized = [f"{where_prefix}jobs[{i}]" for i, job in enumerate(cfg.jobs) if job.size is None]
    if unsized:
        shown = ", ".join(unsized[:3]) + (
            tr(" and {n} more").format(n=len(unsized) - 3) if len(unsized) > 3 else ""
        )
        plan.warnings.append(
            tr(
                "{jobs}: no size given, so none is sent and the provider chooses (an edit keeps its reference image's shape); the estimate prices the dearest standard size"
            ).format(jobs=shown)
        )
    return plan


@dataclass
class _ConfigImages:
    """Image paths of one config job, resolved from the working directory first (as the
    reference tool does), then from the config's folder with a note in ``plan``."""

    plan: Plan
    base_dir: Path | None
    cwd: Path
    where: str
    missing_ok: bool = False

    def resolve(self, raw: str, fld: str) -> str:
        """The absolute path of ``raw`` (see ``_resolve_image`` for the checks).

        Raises:
            InputError: the image is in neither folder, or is not an image.
        """
        where = f"{self.where}.{fld}"
        p = Path(raw).expanduser()
        if self.missing_ok and not any(
            (d / p).is_file() for d in (self.cwd, self.base_dir) if d is not None
        ):
            return self._missing(raw, where, self.cwd / p)
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

    def _missing(self, raw: str, where: str, path: Path) -> str:
        """An estimate goes on without a reference image (it is priced as a typical
        1024x1024 one, without reading it), saying so; ``path`` is kept for the job."""
        self.plan.warnings.append(
            tr(
                "{where}: image not found: {raw} (looked in {cwd} and {base_dir}). The estimate goes on: it counts the reference as a typical 1024x1024 image (1 megapixel where a provider bills the references' megapixels; OpenAI bills its input tokens after a run, from usage); a run needs the file."
            ).format(where=where, raw=raw, cwd=self.cwd, base_dir=self.base_dir or self.cwd)
        )
        return str(path)


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
        size=job.size or "auto",
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
        complexity=job.complexity,
    )
