"""One door to ask a price (issue 29): a batch is priced once at its start, pricing imports
nothing above it and its modules form no circle."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any

import pytest

import atelier.pricing.table as table_module
from atelier.cli.main import run_command
from tests.conftest import REPO


def test_a_batch_is_priced_once_at_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = table_module.estimate_jobs

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(table_module, "estimate_jobs", counting)
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": f"vase {i}", "output_path": f"v{i}.png"} for i in range(3)]
    cfg.write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    argv = ["run", str(cfg), "--provider", "draft", "--output-dir", str(tmp_path / "out")]
    assert run_command(argv, out, err) == 0, err.getvalue()
    assert len(calls) == 1  # the estimate the run announces is the one stored with the batch


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_pricing_imports_nothing_above_it_and_no_circle() -> None:
    pricing = REPO / "atelier" / "pricing"
    above = ("atelier.engine", "atelier.output", "atelier.delivery", "atelier.team")
    above += ("atelier.cli", "atelier.studio")
    graph: dict[str, set[str]] = {}
    for f in pricing.glob("*.py"):
        names = _imports(f)
        assert not [n for n in names if n.startswith(above)], f.name
        graph[f.stem] = {n.rsplit(".", 1)[1] for n in names if n.startswith("atelier.pricing.")}
    assert "table" not in graph["estimate"] and "estimate" in graph["table"]

    # no circle among pricing's modules: a depth-first walk never meets its own path
    def walk(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " → ".join((*path, node))
        for nxt in graph.get(node, ()):
            walk(nxt, (*path, node))

    for start in graph:
        walk(start, ())
