"""The command line: ``atelier`` opens the studio; ``atelier run`` runs a batch headless.

Each command is a module of this package (``atelier.cli.run``, ``.resume``, ``.batches``…)
with ``add_parser(sub)``, which gives its subparser the function that runs it
(``set_defaults(handler=…)``, see ``atelier.cli.common.Handler``). ``run_command`` parses,
then calls that handler inside the one error wrapper (``_guarded``).

Exit codes: 0 every job succeeded, 1 some failed or were cancelled, 2 bad input (the message
names the file, field, row or column).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from atelier import __version__
from atelier.cli import (
    batches,
    channels,
    deliver,
    export,
    prices,
    queue,
    regenerate,
    report,
    resume,
    review,
    run,
    secret,
    show,
    templates,
    worker,
)
from atelier.cli import url_flags as cli_url_flags
from atelier.cli.argparse_i18n import TranslatedParser
from atelier.cli.common import EXIT_INPUT, EXIT_OK, Handler, fail_input
from atelier.core.errors import AtelierError
from atelier.core.i18n import system_language, tr, use_language

COMMANDS = (
    run,
    templates,
    prices,
    batches,
    show,
    review,
    regenerate,
    export,
    deliver,
    report,
    secret,
    resume,
    worker,
    queue,
    channels,
)
"""The commands' modules, in the order ``atelier --help`` lists them."""


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
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def _guarded(handler: Handler, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The one place an ``AtelierError`` a command raises (bad input, the store, ATELIER_HOME,
    the output folder, the team queue) becomes a one-line message on ``err`` and exit code 2:
    a user never sees a traceback for what they can put right."""
    try:
        return handler(args, out, err)
    except AtelierError as e:
        return fail_input(str(e), err)


def run_command(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``atelier`` with ``argv`` (without the program name); returns the exit code. With no
    command it prints the help: opening the studio is ``atelier.studio.launch``'s choice, not the CLI's."""
    out = out or sys.stdout
    err = err or sys.stderr
    # The CLI speaks the locale's language (ATELIER_LANGUAGE=en forces English in a CI log).
    use_language(system_language())
    parser = _parser()
    try:
        args = parser.parse_args(templates.flags_last(list(argv)))
    except _UsageError as e:
        print(tr("atelier: error: {message}").format(message=e), file=err)
        return EXIT_INPUT
    except SystemExit as e:  # --help and --version print and exit 0
        return int(e.code or 0)
    for w in cli_url_flags.warnings(args):  # before anything runs, once per flag
        print(tr("warning: {message}").format(message=w), file=err)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(out)
        return EXIT_OK
    return _guarded(handler, args, out, err)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_command(sys.argv[1:]))
