"""The flags of ``atelier run``, in argparse groups of a few each: what to read, the
provider and images, and what bounds and steers the run (flags override a batch config)."""

from __future__ import annotations

import argparse
from pathlib import Path

from atelier.cli import args as argtypes
from atelier.cli import delivery_flags
from atelier.cli import economy as cli_economy
from atelier.cli import team as cli_team
from atelier.cli import url_flags as cli_url_flags
from atelier.core.i18n import tr
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.providers.registry import PROVIDERS


def add_run_arguments(r: argparse.ArgumentParser) -> None:
    """The flags of ``atelier run`` that say what to read (flags override a batch config; see
    the README)."""
    _add_template_arguments(r)
    _add_sheet_arguments(r)
    _add_column_arguments(r)
    _add_settings_arguments(r)
    delivery_flags.add_arguments(r)


def _add_settings_arguments(r: argparse.ArgumentParser) -> None:
    """The flags of ``atelier run`` that set the provider, the images and the run."""
    r.add_argument(
        "--provider",
        choices=sorted(PROVIDERS),
        help=tr("provider (default: openai with a key, else draft)"),
    )
    r.add_argument("--model", help=tr("model id (default: the provider's recommended model)"))
    r.add_argument(
        "--base-url",
        help=tr(
            "provider endpoint, e.g. http://127.0.0.1:8080/v1 ({ps}: use ATELIER_<PROVIDER>_BASE_URL)"
        ).format(ps=cli_url_flags.ps_note()),
    )
    r.add_argument("--size", type=argtypes.size, help=tr("WxH or auto"))
    r.add_argument("--quality", help=tr("auto, low, medium or high"))
    r.add_argument(
        "--complexity",
        choices=["low", "medium", "high"],
        help=tr("how much the model plans each image (OpenAI gpt-image-2.6)"),
    )
    r.add_argument("--output-format", choices=["png", "jpeg", "webp"])
    r.add_argument(
        "--transparent", action="store_true", help=tr("transparent background (png/webp)")
    )
    r.add_argument(
        "--sample-count",
        type=argtypes.bounded(JobSpec, "sample_count"),
        help=tr("images per prompt"),
    )
    r.add_argument("--seed", type=argtypes.bounded(JobSpec, "seed"))
    r.add_argument("--output-dir", type=Path)
    r.add_argument("--format", choices=["text", "json"], default="text", help=tr("output format"))
    _add_run_control_arguments(r)


def _add_run_control_arguments(r: argparse.ArgumentParser) -> None:
    """The flags of ``atelier run`` that bound and steer the run: timeouts, concurrency,
    retries, the store, overwriting, reuse, economy and the budget."""
    ms = argtypes.bounded(RunSettings, "job_timeout_ms", unit=" ms")
    r.add_argument(
        "--timeout", type=ms, metavar="MS", help=tr("whole-batch timeout in milliseconds")
    )
    r.add_argument("--job-timeout", type=ms, metavar="MS", help=tr("one request's timeout in ms"))
    r.add_argument(
        "--max-concurrent", type=argtypes.bounded(RunSettings, "concurrency"), metavar="N"
    )
    r.add_argument("--max-retries", type=argtypes.bounded(RetryPolicy, "max_retries"), metavar="N")
    r.add_argument(
        "--estimate-only", action="store_true", help=tr("print the estimate and send nothing")
    )
    r.add_argument(
        "--move-damaged-store",
        action="store_true",
        help=tr(
            "if the store in ATELIER_HOME is damaged, move it aside (kept) and start a new one"
        ),
    )
    r.add_argument(
        "--overwrite",
        action="store_true",
        help=tr(
            "replace files in the output folder that Atelier did not make (default: new names)"
        ),
    )
    r.add_argument(
        "--no-reuse",
        action="store_true",
        help=tr("always make new images: do not copy identical requests' images (default: reuse)"),
    )
    _add_image_check_arguments(r)
    cli_economy.add_run_arguments(r)
    cli_team.add_run_arguments(r)
    r.add_argument(
        "--budget",
        type=argtypes.bounded(RunSettings, "budget_usd", float),
        metavar="USD",
        help=tr("stop starting jobs before spend could exceed USD"),
    )


def _add_image_check_arguments(r: argparse.ArgumentParser) -> None:
    """The flags of ``atelier run`` that judge each image as it is saved: the quality check's
    re-makes and the channels' image rules."""
    r.add_argument(
        "--qa-retry",
        type=argtypes.bounded(RunSettings, "qa_retry"),
        default=0,
        metavar="N",
        help=tr(
            "make an image the quality check flags (blank, black, near-uniform, wrong size or "
            "aspect, near-duplicate) again, up to N times, each re-make paid, within --budget "
            "(default 0: flag only)"
        ),
    )
    r.add_argument(
        "--channels",
        metavar="CHANNELS",
        help=tr(
            "judge each image against these channels as it is saved (a comma list of "
            "'atelier channels' ids, e.g. amazon,rakuten)"
        ),
    )


def _add_template_arguments(r: argparse.ArgumentParser) -> None:
    """The config or spreadsheet, the templates and how rows become jobs."""
    r.add_argument("config", nargs="?", type=Path, help=tr("batch config JSON"))
    r.add_argument(
        "--csv", type=Path, help=tr("spreadsheet (CSV/TSV/XLSX) for a spreadsheet batch")
    )
    r.add_argument("--prompt", help=tr("prompt template, e.g. 'Product photo of {Title}'"))
    r.add_argument("--filename", help=tr("file-name template, e.g. '{Variant SKU}'"))
    r.add_argument("--negative-prompt", default="", help=tr("negative prompt template"))
    r.add_argument(
        "--template",
        metavar="NAME",
        help=tr("a template from the library (atelier templates lists them); flags override it"),
    )
    r.add_argument(
        "--accept-template-delivery",
        action="store_true",
        help=tr(
            "send to the delivery targets the --template adds (without it, a template that "
            "delivers stops the run and lists each target's kind and host)"
        ),
    )
    r.add_argument(
        "--vary",
        action="append",
        metavar="'NAME: V1 | V2'",
        help=tr("make every row once per value, each usable as {NAME} (repeatable)"),
    )
    r.add_argument(
        "--per",
        type=argtypes.per,
        metavar="product|row|option:NAME",
        help=tr(
            "make one image per product (a shop export's product rows: Shopify Handle, "
            "WooCommerce parent, Rakuten/Yahoo/BASE item code), per option value "
            "(option:Color, or a column) or per row (default); rows that make the same image "
            "are always one job"
        ),
    )


def _add_sheet_arguments(r: argparse.ArgumentParser) -> None:
    """How the spreadsheet is read: encoding, delimiter, worksheet and header row."""
    r.add_argument(
        "--encoding", help=tr("force the CSV encoding (e.g. cp932, gb18030, big5, cp949)")
    )
    r.add_argument(
        "--delimiter",
        type=argtypes.delimiter,
        help=tr("force the CSV delimiter (',', ';' or 'tab')"),
    )
    r.add_argument("--sheet", help=tr("Excel worksheet name"))
    r.add_argument(
        "--header-row",
        type=argtypes.positive,
        metavar="N",
        help=tr("the line (CSV) or row (Excel) the column names are on (default: detected)"),
    )


def _add_column_arguments(r: argparse.ArgumentParser) -> None:
    """The steering columns, the ComfyUI workflow and Shopify fill-down."""
    r.add_argument(
        "--reference-column",
        help=tr("column holding each row's reference image: a path, or http(s) URLs"),
    )
    r.add_argument("--mask-column", help=tr("column holding a mask path (with --reference-column)"))
    r.add_argument(
        "--provider-column", help=tr("column naming each row's provider (blank: --provider)")
    )
    r.add_argument(
        "--model-column", help=tr("column naming each row's model (blank: the provider's default)")
    )
    r.add_argument("--workflow", type=Path, help=tr("ComfyUI workflow saved in API format"))
    r.add_argument("--workflow-map", help=tr("ComfyUI inputs, e.g. 'prompt=6.text,seed=3.seed'"))
    r.add_argument(
        "--no-fill-down",
        action="store_true",
        help=tr("do not fill blank Shopify product fields from the product's first row"),
    )
