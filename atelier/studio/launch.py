"""The ``atelier`` command: with a subcommand (``atelier run …``) the headless command line
(``atelier.cli.main``, which never loads Qt); with none, the studio window
(``atelier.studio.app``); with one spreadsheet file (the desktop entry's ``atelier %f``, when
a file is opened with Atelier), the studio with that file imported."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
"""The files the studio imports (``atelier.sheet.tabular.read_table``): the desktop entry's
MimeType list names the same ones."""


def sheet_argument(argv: Sequence[str]) -> Path | None:
    """The spreadsheet ``atelier FILE`` opens, when ``argv`` is one existing file with a
    spreadsheet's extension (no command is named so); else ``None``."""
    if len(argv) != 1 or argv[0].startswith("-"):
        return None
    path = Path(argv[0])
    return path if path.suffix.lower() in SHEET_SUFFIXES and path.is_file() else None


def choose(argv: Sequence[str]) -> int:
    """Run the command line when ``argv`` holds a subcommand or a flag, else open the studio
    (with the spreadsheet ``argv`` names imported, see ``sheet_argument``); returns the exit
    code."""
    sheet = sheet_argument(argv)
    if argv and sheet is None:
        from atelier.core.collector import without_cycle_collector

        with without_cycle_collector():  # as ``python -m atelier.cli`` does
            from atelier.cli.main import run_command

        return run_command(argv)
    from atelier.studio.app import main as studio_main

    return studio_main([], sheet)


def main() -> None:
    """Console-script entry point."""
    sys.exit(choose(sys.argv[1:]))
