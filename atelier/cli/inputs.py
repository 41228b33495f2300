"""What ``atelier run`` reads before flags and defaults are resolved: a batch-config file or a
spreadsheet with its template flags, and the reference batch tool's environment variables
(precedence: a flag, then the config, then ``OPENAI_IMAGE_OUTPUT_DIR`` /
``OPENAI_BATCH_MAX_CONCURRENT`` / ``OPENAI_BATCH_TIMEOUT``, then the default)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from atelier.cli import args as argtypes
from atelier.core.delivery_config import Delivery
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.models import (
    JobDefaults,
    JobSpec,
    RetryPolicy,
    RunSettings,
    load_batch_config,
    problems_error,
    validation_problems,
)
from atelier.sheet.config_plan import plan_from_config
from atelier.sheet.importing import import_sheet
from atelier.sheet.library import TemplateDeliveryError, delivery_to_accept, load_template
from atelier.sheet.plan import Plan, RowColumns, plan_from_table
from atelier.sheet.variations import parse_variations

DEFAULT_OUTPUT_DIR = "./generated-images"  # a config without output_dir, and no variable


@dataclass
class FileInputs:
    """What a config file or a spreadsheet gives, before flags and defaults are resolved
    (``None``: not given there)."""

    plan: Plan
    output_dir: Path
    source: Path
    rows: bool
    provider: str | None = None
    model: str | None = None
    concurrency: int | None = None
    job_timeout_ms: int | None = None
    batch_timeout_ms: int | None = None
    budget_usd: float | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    delivery: Delivery | None = None


def sheet_inputs(args: argparse.Namespace) -> FileInputs:
    """A spreadsheet batch from ``--csv`` and the template flags: ``--template NAME`` from the
    library, each of its parts overridden by the flag that names it; ``--vary`` adds
    variations to the template's."""
    t = load_template(args.template) if args.template else None
    if t is not None and not args.accept_template_delivery and not args.estimate_only:
        added = delivery_to_accept(t)
        if added:
            raise TemplateDeliveryError(
                "--template",
                added,
                tr("Nothing was run. Run again with --accept-template-delivery to accept them."),
            )
    prompt = args.prompt or (t.prompt if t else "")
    if not prompt:
        raise InputError(
            "--prompt", tr("a spreadsheet batch needs a prompt template (or --template)")
        )
    table = import_sheet(
        args.csv,
        args.encoding,
        args.delimiter,
        args.sheet,
        args.header_row,
        fill_down=not args.no_fill_down,
    )
    defaults = _sheet_defaults(args, t.settings if t else JobDefaults())
    variations = dict(t.variations) if t else {}
    for text in args.vary or []:
        variations.update(parse_variations(text, "--vary"))
    filename = args.filename if args.filename is not None else (t.filename if t else "")
    negative = args.negative_prompt or (t.negative_prompt if t else "")
    columns = RowColumns(
        reference=args.reference_column,
        mask=args.mask_column,
        provider=args.provider_column,
        model=args.model_column,
    )
    plan = plan_from_table(
        table,
        prompt,
        filename,
        negative,
        defaults,
        columns=columns,
        variations=variations,
        per=args.per,
        consume=True,  # read once here: its rows go as they become jobs
    )
    plan.warnings = table.notes + plan.warnings
    out = args.output_dir or _env_output_dir() or Path(f"atelier-{args.csv.stem}")
    return FileInputs(
        plan,
        out,
        args.csv,
        rows=True,
        concurrency=_env_concurrency(),
        batch_timeout_ms=_env_timeout(),
        delivery=t.delivery if t else None,
    )


def _sheet_defaults(args: argparse.Namespace, base: JobDefaults) -> JobDefaults:
    """The image settings of a spreadsheet batch: each flag given overrides ``base`` (the
    template's settings, or the defaults)."""
    return JobDefaults(
        size=args.size or base.size,
        quality=args.quality or base.quality,
        output_format=args.output_format or base.output_format,
        transparent_background=args.transparent or base.transparent_background,
        sample_count=args.sample_count or base.sample_count,
        seed=args.seed if args.seed is not None else base.seed,
        style_preset=base.style_preset,
        complexity=args.complexity or base.complexity,
    )


def _env_output_dir() -> Path | None:
    raw = os.environ.get(argtypes.ENV_OUTPUT_DIR, "").strip()
    return Path(raw).expanduser() if raw else None


def _env_concurrency() -> int | None:
    """``OPENAI_BATCH_MAX_CONCURRENT``, checked like ``--max-concurrent``.

    Raises:
        InputError: out of bounds, naming the variable."""
    value: int | None = argtypes.from_env(
        argtypes.ENV_MAX_CONCURRENT, argtypes.bounded(RunSettings, "concurrency")
    )
    return value


def _env_timeout() -> int | None:
    """``OPENAI_BATCH_TIMEOUT`` (ms), checked like ``--timeout``.

    Raises:
        InputError: out of bounds, naming the variable."""
    value: int | None = argtypes.from_env(
        argtypes.ENV_TIMEOUT, argtypes.bounded(RunSettings, "job_timeout_ms", unit=" ms")
    )
    return value


def config_inputs(args: argparse.Namespace) -> FileInputs:
    """A batch config file, its jobs overridden by the job flags."""
    if args.template or args.vary or args.per:
        flag = "--template" if args.template else "--vary" if args.vary else "--per"
        raise InputError(flag, tr("templates and variations are for spreadsheet batches (--csv)"))
    cfg = load_batch_config(args.config)
    plan = plan_from_config(
        cfg,
        base_dir=args.config.resolve().parent,
        cwd=Path.cwd(),
        missing_images_ok=bool(getattr(args, "estimate_only", False)),
    )
    overrides: dict[str, Any] = {
        k: getattr(args, k)
        for k in ("size", "quality", "output_format", "sample_count", "seed", "complexity")
        if getattr(args, k) is not None
    }
    if args.transparent:
        overrides["transparent_background"] = True
    if overrides:  # validated like the file's own values, so a flag can never store a bad job
        try:
            plan.specs = [
                JobSpec.model_validate({**s.model_dump(), **overrides}) for s in plan.specs
            ]
        except ValidationError as e:
            flags = [
                (f"--{place.rsplit('.', 1)[-1].replace('_', '-')}", msg)
                for place, msg in validation_problems(e)
            ]
            raise problems_error("", list(dict.fromkeys(flags))) from e
    # Precedence as the reference tool's: a flag, then the config, then its environment
    # variables, then the default.
    out = (
        args.output_dir
        or (Path(cfg.output_dir).expanduser() if cfg.output_dir else None)
        or _env_output_dir()
        or Path(DEFAULT_OUTPUT_DIR)
    )
    return FileInputs(
        plan,
        out,
        args.config,
        rows=False,
        provider=cfg.provider,
        model=cfg.model,
        concurrency=cfg.max_concurrent or _env_concurrency(),
        job_timeout_ms=cfg.job_timeout,
        batch_timeout_ms=cfg.timeout or _env_timeout(),
        budget_usd=cfg.budget_usd,
        policy=cfg.retry_policy,
        delivery=Delivery(targets=cfg.deliver, after_review=cfg.deliver_after_review)
        if cfg.deliver
        else None,
    )
