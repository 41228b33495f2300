"""``atelier run``: a batch config or a spreadsheet batch, estimated (``--estimate-only``) or
stored and run headless, here or on a team queue.

Exit codes: 0 every job succeeded, 1 some failed or were cancelled, 2 bad input (the message
names the file, field, row or column).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any, TextIO

from atelier.cli import delivery_flags
from atelier.cli import economy as cli_economy
from atelier.cli import run_flags as cli_run_flags
from atelier.cli import team as cli_team
from atelier.cli.common import (
    EXIT_OK,
    existing_store,
    open_store,
    print_report,
    run_or_submit,
    submitted,
)
from atelier.cli.inputs import config_inputs, sheet_inputs
from atelier.core.collector import without_cycle_collector
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.logs import setup_logging
from atelier.core.models import RunSettings
from atelier.core.secrets import get_key
from atelier.core.settings import Settings
from atelier.engine.controller import (
    PlannedBatch,
    check_keys,
    check_run,
    price,
    store_batch,
    workflow_options,
)
from atelier.engine.service import default_provider, load_prices
from atelier.output.channels.batch import channel_list
from atelier.pricing.estimate import Estimate
from atelier.pricing.spend import qa_retry_note, qa_worst_case_usd
from atelier.providers.registry import capabilities_of
from atelier.sheet.config_plan import config_default_model
from atelier.sheet.plan import Plan


def add_parser(sub: Any) -> None:
    """``atelier run [CONFIG | --csv FILE …] [flags]``."""
    r = sub.add_parser(
        "run",
        help=tr("run a batch config or a spreadsheet batch headless"),
        epilog=tr(
            "Environment (as the reference batch tool reads them; a flag, then the "
            "config, then these): OPENAI_IMAGE_OUTPUT_DIR, OPENAI_BATCH_MAX_CONCURRENT, "
            "OPENAI_BATCH_TIMEOUT (ms)."
        ),
    )
    cli_run_flags.add_run_arguments(r)
    r.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``atelier run``; returns the exit code.

    Raises:
        AtelierError: bad input (naming the flag, field, row or file), the store, ATELIER_HOME
            or the output folder.
    """
    return asyncio.run(_run_async(args, out, err))


def _choose_provider(asked: str | None, from_config: bool) -> tuple[str, str]:
    """The provider of the batch and why it is that one, in words for the estimate."""
    if asked:
        return asked, tr("the config's provider") if from_config else tr("asked with --provider")
    settings = Settings.load()
    chosen = default_provider(settings)
    if settings.default_provider:
        return chosen, tr("the default provider chosen in Settings")
    if chosen == "openai":
        return chosen, tr("no --provider given, and an OpenAI key is set")
    return chosen, (
        tr(
            "no --provider given and no OpenAI key is set, so the offline draft provider was "
            "used (images are placeholders, $0); give --provider openai (or another) to price it"
        )
    )


def planned_from_args(args: argparse.Namespace) -> tuple[PlannedBatch, str]:
    """The batch the arguments describe (flags > file > environment > defaults), checked,
    and why its provider is the one it is.

    Raises:
        InputError: bad input, naming the flag, field, row or file.
    """
    if args.config and args.csv:
        raise InputError("arguments", tr("give either a batch config or --csv, not both"))
    if not (args.config or args.csv):
        raise InputError(
            "arguments", tr("give a batch config file or --csv FILE (see atelier run --help)")
        )
    p = config_inputs(args) if args.config else sheet_inputs(args)
    provider, why = _choose_provider(
        args.provider or p.provider, args.provider is None and p.provider is not None
    )
    caps = capabilities_of(provider)
    policy = p.policy
    if args.max_retries is not None:
        policy = policy.model_copy(update={"max_retries": args.max_retries})
    delivery, notes = delivery_flags.delivery_from_args(args, p.delivery)
    p.plan.warnings.extend(notes)
    options: dict[str, dict[str, Any]] = {}
    if args.workflow:
        mapping = (
            dict(part.split("=", 1) for part in args.workflow_map.split(",") if "=" in part)
            if args.workflow_map
            else {}
        )
        options["comfyui"] = workflow_options(args.workflow, mapping)
    model = args.model or p.model or (_config_model(p.plan, provider) if args.config else None)
    rs = RunSettings(
        provider=provider,
        model=model or caps.default_model,
        concurrency=args.max_concurrent or p.concurrency or caps.default_concurrency,
        job_timeout_ms=args.job_timeout or p.job_timeout_ms or 300_000,
        batch_timeout_ms=args.timeout or p.batch_timeout_ms,
        retry_policy=policy,
        base_url=args.base_url,
        provider_options=options,
        budget_usd=args.budget if args.budget is not None else p.budget_usd,
        overwrite=args.overwrite,
        delivery=delivery,
        reuse=not args.no_reuse,
        qa_retry=args.qa_retry,
        channels=channel_list(args.channels) if args.channels else [],
        **cli_economy.economy_settings(
            args, sorted({provider} | {s.provider for s in p.plan.specs if s.provider})
        ),
    )
    planned = PlannedBatch(p.plan, rs, p.output_dir, p.source.name, str(p.source), p.rows)
    check_run(planned)
    return planned, why


def _config_model(plan: Plan, provider: str) -> str | None:
    """The batch's model for a config that gives none at its top: the one model every job
    names, when it is ``provider``'s; when a job names none, the reference tool's default (or
    its successor, with a sentence added to ``plan.warnings``)."""
    own = {(s.provider or provider, s.model) for s in plan.specs}
    if own and all(m for _, m in own):
        return own.pop()[1] if len(own) == 1 and provider in dict(own) else None
    model, note = config_default_model(provider)
    if note:
        plan.warnings.insert(0, note)
    return model


def _print_estimate(planned: PlannedBatch, est: Estimate, why: str, fmt: str, out: TextIO) -> None:
    rs, plan = planned.settings, planned.plan
    if fmt == "json":
        doc = {
            "provider": rs.provider,
            "model": rs.model,
            "models": list(est.models),
            "provider_reason": why,
            "jobs": len(plan.specs),
            "per": str(plan.per),
            "rows": plan.rows,
            "distinct_prompts": plan.distinct_prompts,
            "rows_left_out": plan.left_out,
            "images": est.images,
            "reused_images": est.reused_images,
            "estimated_cost": est.total_usd,
            "list_cost": est.list_usd if est.reused_images else est.total_usd,
            "priced_cost": round(est.priced_usd, 6),
            "economy_cost": est.economy_usd,
            "economy": est.economy,
            "unknown_price_images": est.unknown_images,
            "unknown_price_reasons": list(est.unknown_reasons),
            "estimated_cost_range": list(est.auto_range) if est.auto_range else None,
            "prices": list(est.sources),
            "warnings": plan.warnings + plan.skipped,
            "qa_retry": rs.qa_retry,
            "qa_retry_worst_case_cost": qa_worst_case_usd(est.to_pay_usd, rs.qa_retry),
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2), file=out)
        return
    print(f"{', '.join(est.models)}: {plan.summary()}, {est.describe()}", file=out)
    print(tr("Provider {provider}: {why}.").format(provider=rs.provider, why=why), file=out)
    if rs.qa_retry:
        print(qa_retry_note(est.to_pay_usd, rs.qa_retry, rs.budget_usd is not None), file=out)
    caps = capabilities_of(rs.provider)
    if caps.needs_key and not get_key(rs.provider).key:
        print(
            tr(
                "No {label} key is set: these are its list prices; a run would stop before sending anything."
            ).format(label=caps.label),
            file=out,
        )
    _print_section(tr("Prices"), est.sources, out)
    _print_section(tr("Price unknown"), est.unknown_reasons, out)
    _print_section(tr("Warnings"), plan.warnings + plan.skipped, out)


def _print_section(title: str, lines: Sequence[str], out: TextIO) -> None:
    if lines:
        print(f"{title}:", file=out)
        for line in lines:
            print(f"  {line}", file=out)


async def _run_async(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Estimate, or store and run (here, on a team queue, or up to the provider batches)."""
    with without_cycle_collector():
        planned, why = planned_from_args(args)
    prices = load_prices()
    if args.estimate_only:
        # Reuse is priced from the images earlier batches made: read the store if there is
        # one (an estimate never creates it).
        peek = existing_store()
        try:
            with without_cycle_collector():
                est = price(planned, prices, peek)
        finally:
            if peek is not None:
                peek.close()
        _print_estimate(planned, est, why, args.format, out)
        return EXIT_OK
    if not args.queue:  # on a team queue, the workers' keys make the images
        check_keys(planned)
    if args.format == "text":
        for w in planned.plan.warnings + planned.plan.skipped:
            print(tr("warning: {message}").format(message=w), file=err)
    setup_logging()
    store = open_store(args.move_damaged_store, err)
    try:
        est = price(planned, prices, store)
        if args.format == "text":
            print(
                f"{', '.join(est.models)}: {planned.plan.summary()}, {est.describe()} → "
                f"{planned.output_dir}",
                file=err,
            )
            if planned.settings.qa_retry and not est.is_free:
                rs = planned.settings
                note = qa_retry_note(est.to_pay_usd, rs.qa_retry, rs.budget_usd is not None)
                print(note, file=err)
        stored = store_batch(store, planned, est)
        if stored.resumed and args.format == "text":
            print(
                tr("resuming batch {id} (finished images are kept)").format(id=stored.batch_id),
                file=err,
            )
        if args.queue:
            report = await cli_team.submit_and_follow(
                store, stored.batch_id, args.queue, args.detach, args.format, out
            )
        else:
            report = await run_or_submit(
                store, stored.batch_id, len(planned.plan.specs), args.format, out, args.no_wait
            )
    finally:
        store.close()
    if report is None:
        return submitted(stored.batch_id, args.format, out)
    return print_report(report, args.format, planned.output_dir, out)
