"""``atelier channels`` lists the channel profiles; ``atelier check --channel NAME FILE…``
judges images against them and ``--fix --out DIR`` writes renditions that meet them.

Exit codes of ``check``: 0 every image passes every channel (with ``--fix``: every
rendition does), 1 some rule fails, 2 bad input (an unknown channel, a file that is not an
image: the message names it).
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from atelier.cli.common import EXIT_INPUT, EXIT_OK
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.output.channels.profiles import Profile, load_profiles, profile

if TYPE_CHECKING:
    from atelier.output.channels.check import Judgement, RuleResult
    from atelier.output.channels.fix import Rendition

EXIT_FAILED = 1
_MARK = {"passed": "✓", "failed": "✗", "not_checked": "–"}


def add_parser(sub: Any) -> None:
    """Register ``channels`` and ``check`` on the ``atelier`` subcommand parser."""
    c = sub.add_parser("channels", help=tr("list the channel profiles (built-in and your own)"))
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.set_defaults(handler=run)
    k = sub.add_parser(
        "check",
        help=tr(
            "check images against a channel's image rules; --fix writes renditions that meet them"
        ),
        epilog=tr(
            "Exit codes: 0 all pass, 1 a rule fails, 2 bad input. Your own channel profiles "
            "go in ATELIER_HOME/channels/*.toml (the shape of the built-in profiles.toml)."
        ),
    )
    k.add_argument("files", nargs="+", metavar="FILE", type=Path)
    k.add_argument(
        "--channel",
        required=True,
        help=tr("a channel id, or several separated by commas ('atelier channels' lists them)"),
    )
    k.add_argument("--format", choices=["text", "json"], default="text")
    k.add_argument(
        "--fix", action="store_true", help=tr("write a rendition per channel that meets its rules")
    )
    k.add_argument(
        "--out",
        type=Path,
        help=tr("with --fix: the folder renditions go in (one folder per channel)"),
    )
    k.add_argument(
        "--code", help=tr("the product code the file is named by, for channels that ask (one FILE)")
    )
    k.add_argument(
        "--no-ocr",
        action="store_true",
        help=tr("do not read text (faster; text-area rules are then not checked)"),
    )
    k.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``channels`` or ``check``; returns the exit code.

    Raises:
        AtelierError: bad input (said in one line by ``atelier.cli.main``'s wrapper, exit 2).
    """
    if args.command == "channels":
        return _list(args.format, out)
    return _check(args, out, err)


def _list(fmt: str, out: TextIO) -> int:
    profiles = load_profiles()
    if fmt == "json":
        doc = [p.model_dump(mode="json", by_alias=True) for p in profiles.values()]
        print(json.dumps(doc, ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    for p in profiles.values():
        where = tr("built-in") if p.built_in else p.origin
        print(
            tr("{id}: {name} ({rules} rules, as of {date}; {where})").format(
                id=p.id, name=p.name, rules=len(p.rule), date=p.as_of, where=where
            ),
            file=out,
        )
        if p.recommended:
            print("  " + tr("recommended: {size}").format(size=p.recommended), file=out)
    return EXIT_OK


def _profiles(names: str) -> list[Profile]:
    ids = [n.strip() for n in names.split(",") if n.strip()]
    if not ids:
        raise InputError("--channel", tr("give a channel id ('atelier channels' lists them)"))
    return [profile(i) for i in dict.fromkeys(ids)]


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Here, not at the top: every command builds this one's parser (numpy is 65 ms).
    from atelier.output.channels.check import check_channels
    from atelier.output.channels.fix import fix_channels

    profiles = _profiles(args.channel)
    if args.fix and args.out is None:
        raise InputError("--fix", tr("give --out DIR for the renditions"))
    if args.out is not None and not args.fix:
        raise InputError("--out", tr("--out is for --fix"))
    if args.code and len(args.files) != 1:
        raise InputError("--code", tr("--code names one file; give one FILE with it"))
    bad_input = failed = False
    docs: list[dict[str, Any]] = []
    for path in args.files:
        try:
            judged = check_channels(path, profiles, code=args.code, use_ocr=not args.no_ocr)
        except InputError as e:
            print(tr("atelier: error: {message}").format(message=e), file=err)
            bad_input = True
            continue
        renditions: list[Rendition | None] = [None] * len(profiles)
        if args.fix:
            renditions = list(
                fix_channels(
                    path,
                    profiles,
                    partial(_channel_dir, args.out),
                    code=args.code,
                    judged=judged,
                    use_ocr=not args.no_ocr,
                )
            )
        for p, j, rendition in zip(profiles, judged, renditions, strict=True):
            ok = rendition.after.passed if rendition and rendition.after else j.passed
            failed = failed or not ok
            if args.format == "json":
                docs.append(_doc(j, rendition))
            else:
                _print(j, p, rendition, out)
    if args.format == "json":
        print(json.dumps(docs, ensure_ascii=False, indent=2), file=out)
    return EXIT_INPUT if bad_input else EXIT_FAILED if failed else EXIT_OK


def _channel_dir(root: Path, p: Profile) -> Path:
    """Where a channel's renditions go: one folder per channel under ``--out``."""
    return root / p.id


def _doc(j: Judgement, r: Rendition | None) -> dict[str, Any]:
    doc = j.as_dict()
    if r is not None:
        doc["rendition"] = {
            "path": str(r.path),
            "passed": r.after.passed if r.after else None,
            "steps": list(r.steps),
            "unfixable": [x.kind for x in r.unfixable],
            "rules": [x.as_dict() for x in r.after.results] if r.after else [],
        }
    return doc


def _line(r: RuleResult) -> str:
    text = f"  {_MARK[r.status]} {r.label}: {r.measured}"
    if r.required:
        text += f" ({r.required})"
    if r.status == "failed" and not r.fixable:
        text += " " + tr("[no fix]")
    return text


def _print(j: Judgement, p: Profile, r: Rendition | None, out: TextIO) -> None:
    verdict = tr("passes") if j.passed else tr("fails")
    print(f"{j.path} — {p.name}: {verdict}", file=out)
    for rule in j.results:
        print(_line(rule), file=out)
    if r is None:
        return
    after = r.after
    state = tr("passes") if after is None or after.passed else tr("fails")
    print("  → " + tr("{path}: {state}").format(path=r.path, state=state), file=out)
    if r.steps:
        print("    " + "; ".join(r.steps), file=out)
    if after is not None:
        for rule in after.failed():
            print("  " + _line(rule), file=out)
    if r.unfixable:
        names = ", ".join(x.label for x in r.unfixable)
        print("    " + tr("no fix can meet: {rules}").format(rules=names), file=out)
