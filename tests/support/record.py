"""Measurements the reliability tests record for docs/reliability.md.

When ``ATELIER_RELIABILITY_OUT`` names a file, each scenario appends one JSON line to it;
``scripts/reliability.py`` runs the suite that way and renders the table.
"""

from __future__ import annotations

import json
import os
from typing import Any


def record(scenario: str, **figures: Any) -> None:
    """Append ``{"scenario": …, **figures}`` to the measurements file, if one is set."""
    out = os.environ.get("ATELIER_RELIABILITY_OUT")
    if not out:
        return
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps({"scenario": scenario, **figures}) + "\n")
