"""The house's sizes, measured with ``ast``: in ``atelier/`` no file over 500 lines,
no class over 400 and no function over 60, so every room stays readable in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

MAX_FILE, MAX_CLASS, MAX_FUNCTION = 500, 400, 60


def _sources() -> list[Path]:
    return sorted(p for root in ("atelier",) for p in (REPO / root).rglob("*.py"))


def oversized(path: Path, root: Path = REPO) -> list[str]:
    """Everything in ``path`` over the limits, as ``file:line name (n lines)`` relative to
    ``root``."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(root)
    out = []
    if (n := text.count("\n")) > MAX_FILE:
        out.append(f"{rel} ({n} lines)")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                out.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_room_is_over_the_house_sizes() -> None:
    sources = _sources()
    assert len(sources) > 40  # the walk found the code
    assert [o for p in sources for o in oversized(p)] == []


def test_the_measure_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    # Written under tmp_path, never into the source tree (a parallel worker walking atelier/
    # would see the probe, and a killed run would leave it behind).
    f = tmp_path / "atelier" / "_sizes_probe.py"
    f.parent.mkdir()
    f.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert oversized(f, tmp_path) == ["atelier/_sizes_probe.py:1 long (61 lines)"]
