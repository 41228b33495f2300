"""The command line: ``atelier`` opens the studio; ``atelier run`` runs a batch headless.

Exit codes: 0 every job succeeded, 1 some failed or were cancelled, 2 bad input (the message
names the file, field, row or column).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from atelier import __version__
from atelier.cli import deliver as cli_deliver
from atelier.cli import economy as cli_economy
from atelier.cli import review as cli_review
from atelier.cli import run_flags as cli_run_flags
from atelier.cli import team as cli_team
from atelier.cli import templates as cli_templates
from atelier.cli import url_flags as cli_url_flags
from atelier.cli.argparse_i18n import TranslatedParser
from atelier.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    existing_store,
    fail_input,
    open_store,
    print_report,
    run_or_submit,
    submitted,
)
from atelier.cli.inputs import config_parts, sheet_parts
from atelier.core.errors import AtelierError, InputError
from atelier.core.i18n import system_language, tr, use_language
from atelier.core.logs import setup_logging
from atelier.core.models import (
    RunSettings,
)
from atelier.core.secrets import get_key
from atelier.core.settings import Settings
from atelier.delivery import cli_flags
from atelier.engine.controller import (
    Draft,
    check_keys,
    check_run,
    price,
    resume_batch,
    store_batch,
    workflow_options,
)
from atelier.engine.service import default_provider, load_prices
from atelier.pricing.estimate import Estimate
from atelier.pricing.spend import qa_retry_note, qa_worst_case_usd
from atelier.providers.registry import capabilities_of


class _UsageError(Exception):
    """A flag argparse refused (its message names the flag)."""


class _Parser(TranslatedParser):
    """argparse that hands its refusal back as one sentence instead of exiting with the usage."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(
            tr("{prog}: {message} (see {prog} --help)").format(prog=self.prog, message=message)
        )


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="atelier",
        description=tr(
            "Batch studio for AI image generation. "
            "With no command, the atelier command opens the studio window."
        ),
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"atelier {__version__}",
        help=tr("show the version and exit"),
    )
    sub = p.add_subparsers(dest="command")
    cli_run_flags.add_run_arguments(
        sub.add_parser(
            "run",
            help=tr("run a batch config or a spreadsheet batch headless"),
            epilog=tr(
                "Environment (as the reference batch tool reads them; a flag, then the "
                "config, then these): OPENAI_IMAGE_OUTPUT_DIR, OPENAI_BATCH_MAX_CONCURRENT, "
                "OPENAI_BATCH_TIMEOUT (ms)."
            ),
        )
    )
    cli_templates.add_parser(sub)
    cli_review.add_parsers(sub)
    cli_deliver.add_parsers(sub)
    cli_economy.add_parsers(sub)
    cli_team.add_parsers(sub)
    cli_team.add_resume_arguments(sub.choices["resume"])
    return p


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


def _draft(args: argparse.Namespace) -> tuple[Draft, str]:
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
    p = config_parts(args) if args.config else sheet_parts(args)
    provider, why = _choose_provider(
        args.provider or p.provider, args.provider is None and p.provider is not None
    )
    caps = capabilities_of(provider)
    policy = p.policy
    if args.max_retries is not None:
        policy = policy.model_copy(update={"max_retries": args.max_retries})
    delivery, notes = cli_flags.delivery_from_args(args, p.delivery)
    p.plan.warnings.extend(notes)
    options: dict[str, dict[str, Any]] = {}
    if args.workflow:
        mapping = (
            dict(part.split("=", 1) for part in args.workflow_map.split(",") if "=" in part)
            if args.workflow_map
            else {}
        )
        options["comfyui"] = workflow_options(args.workflow, mapping)
    rs = RunSettings(
        provider=provider,
        model=args.model or p.model or caps.default_model,
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
        **cli_economy.economy_settings(
            args, sorted({provider} | {s.provider for s in p.plan.specs if s.provider})
        ),
    )
    draft = Draft(p.plan, rs, p.output_dir, p.source.name, str(p.source), p.rows)
    check_run(draft)
    return draft, why


def _print_estimate(draft: Draft, est: Estimate, why: str, fmt: str, out: TextIO) -> None:
    rs, plan = draft.settings, draft.plan
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
    try:
        draft, why = _draft(args)
    except AtelierError as e:
        return fail_input(str(e), err)
    prices = load_prices()
    if args.estimate_only:
        # Reuse is priced from the images earlier batches made: read the store if there is
        # one (an estimate never creates it).
        peek = existing_store()
        try:
            est = price(draft, prices, peek)
        finally:
            if peek is not None:
                peek.close()
        _print_estimate(draft, est, why, args.format, out)
        return EXIT_OK
    try:
        if not args.queue:  # on a team queue, the workers' keys make the images
            check_keys(draft)
    except InputError as e:
        return fail_input(str(e), err)
    if args.format == "text":
        for w in draft.plan.warnings + draft.plan.skipped:
            print(tr("warning: {message}").format(message=w), file=err)
    setup_logging()
    store = open_store(args.move_damaged_store, err)
    try:
        est = price(draft, prices, store)
        if args.format == "text":
            print(
                f"{', '.join(est.models)}: {draft.plan.summary()}, {est.describe()} → "
                f"{draft.output_dir}",
                file=err,
            )
            if draft.settings.qa_retry and not est.is_free:
                rs = draft.settings
                note = qa_retry_note(est.to_pay_usd, rs.qa_retry, rs.budget_usd is not None)
                print(note, file=err)
        stored = store_batch(store, draft, prices)
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
                store, stored.batch_id, len(draft.plan.specs), args.format, out, args.no_wait
            )
    finally:
        store.close()
    if report is None:
        return submitted(stored.batch_id, args.format, out)
    return print_report(report, args.format, draft.output_dir, out)


async def _resume_async(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``atelier resume BATCH``: failed and cancelled jobs go back to pending, remote jobs and
    provider batches still running are followed, and the rest is made."""
    setup_logging()
    store = open_store(False, err)
    try:
        try:
            batch = store.batch(args.batch)
        except KeyError:
            return fail_input(
                tr("batch {id}: no such batch ('atelier batches' lists them)").format(
                    id=args.batch
                ),
                err,
            )
        # A team batch is followed on its queue; one the queue lost is queued again or made
        # here when the user says which (--requeue / --here).
        url = await cli_team.resume_target(store, args.batch, args.requeue, args.here)
        if url is not None:
            report = await cli_team.submit_and_follow(
                store, args.batch, url, False, args.format, out
            )
        else:
            resume_batch(store, args.batch)
            report = await run_or_submit(
                store, args.batch, batch.total, args.format, out, args.no_wait
            )
    finally:
        store.close()
    if report is None:
        return submitted(args.batch, args.format, out)
    return print_report(report, args.format, batch.output_dir, out)


async def _review_async(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    setup_logging()
    store = open_store(False, err)
    try:
        if args.command == "deliver":
            return await cli_deliver.deliver(args, store, out)
        return await cli_review.run(args, store, out)
    finally:
        store.close()


def run_command(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``atelier`` with ``argv`` (without the program name); returns the exit code. With no
    command it prints the help: opening the studio is ``atelier.studio.launch``'s choice, not the CLI's."""
    out = out or sys.stdout
    err = err or sys.stderr
    # The CLI speaks the locale's language (ATELIER_LANGUAGE=en forces English in a CI log).
    use_language(system_language())
    parser = _parser()
    try:
        args = parser.parse_args(cli_templates.flags_last(list(argv)))
    except _UsageError as e:
        print(tr("atelier: error: {message}").format(message=e), file=err)
        return EXIT_INPUT
    except SystemExit as e:  # --help and --version print and exit 0
        return int(e.code or 0)
    for w in cli_url_flags.warnings(args):  # before anything runs, once per flag
        print(tr("warning: {message}").format(message=w), file=err)
    if args.command == "templates":
        try:
            return cli_templates.run(args, out)
        except AtelierError as e:
            return fail_input(str(e), err)
    if args.command in cli_deliver.PLAIN_COMMANDS:
        try:
            return cli_deliver.run_plain(args, out)
        except AtelierError as e:
            return fail_input(str(e), err)
    if args.command in (*cli_review.COMMANDS, *cli_deliver.STORE_COMMANDS):
        try:
            return asyncio.run(_review_async(args, out, err))
        except AtelierError as e:
            return fail_input(str(e), err)
    if args.command in cli_team.COMMANDS:
        return cli_team.run(args, out, err)
    if args.command in cli_economy.COMMANDS:
        try:
            return asyncio.run(_resume_async(args, out, err))
        except AtelierError as e:
            return fail_input(str(e), err)
    if args.command != "run":
        parser.print_help(out)
        return EXIT_OK
    try:
        return asyncio.run(_run_async(args, out, err))
    except AtelierError as e:  # the store, ATELIER_HOME or the output folder: said plainly
        return fail_input(str(e), err)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_command(sys.argv[1:]))
