"""The command line: ``atelier`` opens the studio; ``atelier run`` runs a batch headless.

Exit codes: 0 every job succeeded, 1 some failed or were cancelled, 2 bad input (the message
names the file, field, row or column).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from app import __version__, paths
from app.batch import Plan, RowColumns, check_plan, estimate, plan_from_config, plan_from_table
from app.errors import AtelierError, InputError
from app.events import BatchFinished, Event, JobChanged, LaneWaiting
from app.logs import setup_logging
from app.models import BatchReport, JobDefaults, RetryPolicy, RunSettings, load_batch_config
from app.providers.comfyui import find_targets, load_workflow
from app.providers.registry import PROVIDERS, capabilities_of
from app.secrets import get_key
from app.service import default_provider, load_prices, open_engine, prepare_batch
from app.settings import Settings
from app.store import Store
from app.tabular import read_table, shopify_fill_down

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="atelier",
        description="Batch studio for AI image generation. "
        "With no command, opens the studio window.",
    )
    p.add_argument("--version", action="version", version=f"atelier {__version__}")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run a batch config or a spreadsheet batch headless")
    r.add_argument("config", nargs="?", type=Path, help="batch config JSON")
    r.add_argument("--csv", type=Path, help="spreadsheet (CSV/TSV/XLSX) for a spreadsheet batch")
    r.add_argument("--prompt", help="prompt template, e.g. 'Product photo of {Title}'")
    r.add_argument("--filename", help="file-name template, e.g. '{Variant SKU}'")
    r.add_argument("--negative-prompt", default="", help="negative prompt template")
    r.add_argument("--encoding", help="force the CSV encoding (e.g. cp932, gb18030, big5, cp949)")
    r.add_argument("--delimiter", help="force the CSV delimiter (',', ';' or 'tab')")
    r.add_argument("--sheet", help="Excel worksheet name")
    r.add_argument(
        "--reference-column", help="column holding a reference image path to edit (per row)"
    )
    r.add_argument("--mask-column", help="column holding a mask path (with --reference-column)")
    r.add_argument(
        "--provider-column", help="column naming each row's provider (blank: --provider)"
    )
    r.add_argument(
        "--model-column", help="column naming each row's model (blank: the provider's default)"
    )
    r.add_argument("--workflow", type=Path, help="ComfyUI workflow saved in API format")
    r.add_argument("--workflow-map", help="ComfyUI inputs, e.g. 'prompt=6.text,seed=3.seed'")
    r.add_argument(
        "--no-fill-down",
        action="store_true",
        help="do not fill blank Shopify product fields from the product's first row",
    )
    r.add_argument(
        "--provider",
        choices=sorted(PROVIDERS),
        help="provider (default: openai with a key, else draft)",
    )
    r.add_argument("--model", help="model id (default: the provider's recommended model)")
    r.add_argument("--base-url", help="provider endpoint, e.g. http://127.0.0.1:8080/v1")
    r.add_argument("--size", help="WxH or auto")
    r.add_argument("--quality", help="auto, low, medium or high")
    r.add_argument("--output-format", choices=["png", "jpeg", "webp"])
    r.add_argument("--transparent", action="store_true", help="transparent background (png/webp)")
    r.add_argument("--sample-count", type=int, help="images per prompt, 1-10")
    r.add_argument("--seed", type=int)
    r.add_argument("--output-dir", type=Path)
    r.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    r.add_argument("--timeout", type=int, metavar="MS", help="whole-batch timeout in milliseconds")
    r.add_argument(
        "--job-timeout", type=int, metavar="MS", help="one request's timeout in milliseconds"
    )
    r.add_argument("--max-concurrent", type=int, metavar="N")
    r.add_argument("--max-retries", type=int, metavar="N")
    r.add_argument(
        "--estimate-only", action="store_true", help="print the estimate and send nothing"
    )
    r.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="stop starting jobs before spend could exceed USD",
    )
    return p


def _fail_input(msg: str, err: TextIO) -> int:
    print(f"atelier: error: {msg}", file=err)
    return EXIT_INPUT


class _Progress:
    """A one-line text progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.status: dict[int, str] = {}
        self.tty = stream.isatty()
        self.note = ""

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, JobChanged):
            self.status[ev.job_id] = ev.status
        elif isinstance(ev, LaneWaiting):
            self.note = f" (rate limited, waiting {ev.seconds:.1f} s)"
        elif isinstance(ev, BatchFinished):
            if self.tty:
                self.stream.write("\n")
            return
        if not self.tty:
            return
        vals = list(self.status.values())
        ok, bad = vals.count("completed"), vals.count("failed") + vals.count("cancelled")
        done = ok + bad
        width = 30
        fill = int(width * done / self.total) if self.total else width
        self.stream.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} "
            f"ok {ok} failed {bad}{self.note}   "
        )
        self.stream.flush()
        self.note = ""


def _plan(args: argparse.Namespace) -> tuple[Plan, RunSettings, Path, str, bool]:
    """Build the plan and run settings from the arguments (flags > file > defaults)."""
    settings = Settings.load()
    cfg_budget: float | None = None
    if args.config and args.csv:
        raise InputError("arguments", "give either a batch config or --csv, not both")
    if args.config:
        cfg = load_batch_config(args.config)
        cfg_budget = cfg.budget_usd
        plan = plan_from_config(cfg, base_dir=args.config.resolve().parent)
        provider = args.provider or cfg.provider or default_provider(settings)
        out = args.output_dir or Path(cfg.output_dir)
        policy = cfg.retry_policy
        concurrency = args.max_concurrent or cfg.max_concurrent
        batch_timeout = args.timeout or cfg.timeout
        job_timeout = args.job_timeout or cfg.job_timeout
        model = args.model or cfg.model
        source, rows = str(args.config), False
        overrides = {
            k: getattr(args, k)
            for k in ("size", "quality", "output_format", "sample_count", "seed")
            if getattr(args, k) is not None
        }
        if overrides or args.transparent:
            plan.specs = [
                s.model_copy(
                    update={
                        **overrides,
                        **({"transparent_background": True} if args.transparent else {}),
                    }
                )
                for s in plan.specs
            ]
    elif args.csv:
        if not args.prompt:
            raise InputError("--prompt", "a spreadsheet batch needs a prompt template")
        delim = {"tab": "\t", "\\t": "\t"}.get(args.delimiter or "", args.delimiter)
        table = read_table(args.csv, args.encoding, delim, args.sheet)
        if not args.no_fill_down:
            shopify_fill_down(table)
        provider = args.provider or default_provider(settings)
        d = JobDefaults(
            size=args.size or "1024x1024",
            quality=args.quality or "auto",
            output_format=args.output_format or "png",
            transparent_background=args.transparent,
            sample_count=args.sample_count or 1,
            seed=args.seed,
        )
        columns = RowColumns(
            reference=args.reference_column,
            mask=args.mask_column,
            provider=args.provider_column,
            model=args.model_column,
        )
        plan = plan_from_table(
            table, args.prompt, args.filename or "", args.negative_prompt, d, columns=columns
        )
        plan.warnings = table.notes + plan.warnings
        if not plan.specs:
            raise InputError(str(args.csv), "no row produced a job: " + "; ".join(plan.skipped[:3]))
        out = args.output_dir or Path(f"atelier-{args.csv.stem}")
        policy, concurrency = RetryPolicy(), args.max_concurrent
        batch_timeout, job_timeout, model = args.timeout, args.job_timeout, args.model
        source, rows = str(args.csv), True
    else:
        raise InputError(
            "arguments", "give a batch config file or --csv FILE (see atelier run --help)"
        )
    caps = capabilities_of(provider)
    model = model or caps.default_model
    if args.max_retries is not None:
        policy = policy.model_copy(update={"max_retries": args.max_retries})
    options: dict[str, dict[str, Any]] = {}
    if args.workflow:
        mapping = (
            dict(part.split("=", 1) for part in args.workflow_map.split(",") if "=" in part)
            if args.workflow_map
            else {}
        )
        find_targets(
            load_workflow(args.workflow), mapping
        )  # bad workflows are bad input: exit 2 now
        options["comfyui"] = {"workflow": str(args.workflow.resolve()), "mapping": mapping}
    rs = RunSettings(
        provider=provider,
        model=model,
        concurrency=concurrency or caps.default_concurrency,
        job_timeout_ms=job_timeout or 300_000,
        batch_timeout_ms=batch_timeout,
        retry_policy=policy,
        base_url=args.base_url,
        provider_options=options,
        budget_usd=args.budget if args.budget is not None else cfg_budget,
    )
    check_plan(plan, provider, model, rows=rows)
    uses_comfy = provider == "comfyui" or any(s.provider == "comfyui" for s in plan.specs)
    if uses_comfy and "comfyui" not in options:
        raise InputError(
            "--workflow", "ComfyUI jobs need a workflow saved in API format (--workflow FILE)"
        )
    return plan, rs, out, source, rows


def _print_text_report(report: BatchReport, out_dir: Path, stream: TextIO) -> None:
    cost = "unknown" if report.total_cost is None else f"${report.total_cost:.3f}"
    print(
        f"{report.succeeded} succeeded, {report.failed} failed, {report.cancelled} cancelled "
        f"of {report.total} · spent {cost} · {out_dir}",
        file=stream,
    )
    for r in report.results:
        if r.status != "completed":
            print(
                f"  job {r.job_id} {r.status}: {r.error or ''} [{r.error_type or ''}] — {r.prompt[:60]}",
                file=stream,
            )
    if report.stopped_reason:
        print(report.stopped_reason, file=stream)


async def _run_async(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        plan, rs, out_dir, source, _ = _plan(args)
    except AtelierError as e:
        return _fail_input(str(e), err)
    prices = load_prices()
    est = estimate(plan, prices, rs.provider, rs.model)
    if args.estimate_only:
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "provider": rs.provider,
                        "model": rs.model,
                        "jobs": len(plan.specs),
                        "images": est.images,
                        "estimated_cost": est.total_usd,
                        "priced_cost": round(est.priced_usd, 6),
                        "unknown_price_images": est.unknown_images,
                        "prices": list(est.sources),
                        "warnings": plan.warnings + plan.skipped,
                    },
                    ensure_ascii=False,
                    indent=2,
                ),
                file=out,
            )
        else:
            print(f"{rs.provider} / {rs.model}: {len(plan.specs)} jobs, {est.describe()}", file=out)
            for s in est.sources:
                print(f"  {s}", file=out)
        return EXIT_OK
    used = {rs.provider} | {s.provider for s in plan.specs if s.provider}
    for name in sorted(used):
        caps = capabilities_of(name)
        if caps.needs_key and not get_key(name).key:
            return _fail_input(
                f"provider {name}: no API key. Add it in the studio (Settings → Providers) "
                f"or set {caps.key_env_var}.",
                err,
            )
    if args.format == "text":
        for w in plan.warnings + plan.skipped:
            print(f"warning: {w}", file=err)
        print(
            f"{rs.provider} / {rs.model}: {len(plan.specs)} jobs, {est.describe()} → {out_dir}",
            file=err,
        )
    setup_logging()
    store = Store(paths.store_path())
    try:
        prepared = prepare_batch(
            store, plan, rs, out_dir, name=Path(source).name, source=source, prices=prices
        )
        if prepared.resumed and args.format == "text":
            print(f"resuming batch {prepared.batch_id} (finished images are kept)", file=err)
        # Headless runs make no thumbnails: the gallery makes (and caches) them when it shows a batch.
        engine = open_engine(store, Settings.load(), thumbnails=False)
        progress = _Progress(len(plan.specs), sys.stderr if args.format == "json" else out)
        engine.events.subscribe(progress)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(
                    sig, engine.cancel, prepared.batch_id, f"Stopped by signal {sig.name}."
                )
        report = await engine.run(prepared.batch_id)
    finally:
        store.close()
    if args.format == "json":
        print(report.model_dump_json(indent=2), file=out)
    else:
        _print_text_report(report, out_dir.resolve(), out)
    return EXIT_OK if report.succeeded == report.total else EXIT_FAILED


def run_command(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``atelier`` with ``argv`` (without the program name); returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(list(argv))
    if args.command != "run":
        from ui.app import main as studio_main  # deferred: the CLI never loads Qt

        return int(studio_main([]))
    return asyncio.run(_run_async(args, out, err))


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_command(sys.argv[1:]))
