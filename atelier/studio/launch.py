"""The ``atelier`` command: with a subcommand (``atelier run …``) the headless command line
(``atelier.cli.main``, which never loads Qt); with none, the studio window (``atelier.studio.app``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def choose(argv: Sequence[str]) -> int:
    """Run the command line when ``argv`` holds a subcommand or a flag, else open the studio;
    returns the exit code."""
    if argv:
        from atelier.cli.main import run_command

        return run_command(argv)
    from atelier.studio.app import main as studio_main

    return studio_main([])


def main() -> None:
    """Console-script entry point."""
    sys.exit(choose(sys.argv[1:]))
