"""Running ``atelier`` in-process, for the tests that drive the command line."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from atelier.cli.main import run_command


@dataclass(frozen=True)
class CliRun:
    """What one ``atelier`` call returned and printed."""

    code: int
    out: str
    err: str

    def report(self) -> Any:
        """The JSON report printed with ``--format json``."""
        return json.loads(self.out)


def run_cli(*argv: str) -> CliRun:
    """``atelier ARGV…`` in this process, stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return CliRun(code, out.getvalue(), err.getvalue())
