"""``atelier templates``: the template library from the command line (list, show, import,
export, delete); ``atelier run --csv … --template NAME`` uses one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from atelier.core.i18n import tr
from atelier.sheet import library
from atelier.sheet.variations import format_variations


def add_parser(sub: Any) -> None:
    """``atelier templates [list | show NAME | import FILE | export NAME FILE | delete NAME]``."""
    t = sub.add_parser("templates", help=tr("list, show, import, export or delete saved templates"))
    t.add_argument(
        "action", nargs="?", default="list", choices=["list", "show", "import", "export", "delete"]
    )
    t.add_argument("args", nargs="*", help=tr("NAME, FILE or NAME FILE, as the action needs"))
    t.add_argument(
        "--accept-template-delivery",
        action="store_true",
        help=tr(
            "import: accept the delivery targets the file adds (without it, such a file is not "
            "imported and each target's kind and host is listed)"
        ),
    )
    t.set_defaults(handler=run)


def flags_last(argv: list[str]) -> list[str]:
    """``argv`` with ``templates``' own flags moved to its end: argparse cannot give
    ``import --accept-template-delivery FILE`` its FILE once the flag split the words (an
    optional positional followed by a ``*`` one), and a user may write the flag anywhere."""
    if argv[:1] != ["templates"]:
        return argv
    flags = [a for a in argv if a == "--accept-template-delivery"]
    return [a for a in argv if a not in flags] + flags


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Do ``args.action``; returns the exit code.

    Raises:
        InputError: a missing argument, an unknown template or a bad file (exit 2).
        OutputError: the library or the export file cannot be written.
    """
    from atelier.core.errors import InputError

    need = {"list": 0, "show": 1, "import": 1, "export": 2, "delete": 1}[args.action]
    if len(args.args) != need:
        takes = {
            0: tr("takes nothing, got {args}"),
            1: tr("takes one argument, got {args}"),
            2: tr("takes NAME and FILE, got {args}"),
        }[need]
        raise InputError(f"templates {args.action}", takes.format(args=args.args))
    if args.action == "list":
        for t in library.list_templates():
            extra = "".join(f" × {len(v)} {k}" for k, v in t.variations.items())
            print(f"{t.name}{extra}: {t.description or t.prompt[:60]}", file=out)
        for problem in library.broken_files():
            print(tr("(skipped) {problem}").format(problem=problem), file=out)
    elif args.action == "show":
        t = library.load_template(args.args[0])
        print(json.dumps(t.model_dump(mode="json"), ensure_ascii=False, indent=2), file=out)
        if t.variations:
            print(format_variations(t.variations), file=out)
    elif args.action == "import":
        t = library.import_template(Path(args.args[0]), args.accept_template_delivery)
        print(tr("imported {name!r}").format(name=t.name), file=out)
    elif args.action == "export":
        path = library.export_template(args.args[0], Path(args.args[1]))
        print(tr("exported {name!r} to {path}").format(name=args.args[0], path=path), file=out)
    elif library.delete_template(args.args[0]):
        print(tr("deleted {name!r}").format(name=args.args[0]), file=out)
    else:
        raise InputError(
            tr("template {name!r}").format(name=args.args[0]), tr("no saved template has this name")
        )
    return 0
