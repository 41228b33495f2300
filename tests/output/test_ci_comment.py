"""The CI trigger (``.github/workflows/atelier-batch.yml``): its triggers and guard, and its
shell steps run here as the runner would run them (``${{ … }}`` filled in as GitHub does) on
a ``/batch`` comment holding a draft config: the config read from the comment, the batch run,
the Markdown summary written for the comment and the run's page. GitHub's schema check is in
``.ci/run`` (``check-jsonschema --builtin-schema vendor.github-workflows``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from atelier.core.errors import InputError
from atelier.output.ci_comment import config_from_comment

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "atelier-batch.yml"
_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _step(name: str) -> dict[str, Any]:
    steps = _workflow()["jobs"]["batch"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def _fill(script: str, context: dict[str, str]) -> str:
    """``${{ expr }}`` replaced as GitHub does before the shell sees the script; an
    expression this test does not know fails it (so a new one gets looked at)."""

    def one(m: re.Match[str]) -> str:
        assert m.group(1) in context, f"unknown expression in the workflow: {m.group(1)}"
        return context[m.group(1)]

    return _EXPR.sub(one, script)


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_triggers_and_guard() -> None:
    wf = _workflow()
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert on["issue_comment"] == {"types": ["created"]}
    assert on["workflow_dispatch"]["inputs"]["config"]["required"] is True
    assert on["workflow_call"]["inputs"]["config"]["type"] == "string"
    assert "OPENAI_API_KEY" in on["workflow_call"]["secrets"]
    guard = wf["jobs"]["batch"]["if"]
    assert "startsWith(github.event.comment.body, '/batch')" in guard
    assert '"OWNER", "MEMBER", "COLLABORATOR"' in guard
    # The comment reaches the script only through the environment, never pasted into it.
    read = _step("Read the batch config")
    assert "comment.body" not in read["run"]
    assert read["env"]["ATELIER_COMMENT"] == "${{ github.event.comment.body }}"
    uses = [s.get("uses", "") for s in wf["jobs"]["batch"]["steps"]]
    assert "actions/upload-artifact@v4" in uses


@pytest.mark.parametrize("fenced", [True, False])
def test_a_batch_comment_runs_and_is_summarised(
    tmp_path: Path, atelier_home: Path, fenced: bool
) -> None:
    config = {
        "jobs": [
            {"prompt": f"a blue mug {i}", "output_path": f"mug-{i}.png", "size": "256x256"}
            for i in range(3)
        ]
    }
    body = json.dumps(config, indent=2)
    comment = f"/batch\n```json\n{body}\n```\n" if fenced else f"/batch {body}"
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "ATELIER_COMMENT": comment,
        "PROVIDER": "draft",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    context = {
        "github.event_name": "issue_comment",
        "github.server_url": "https://github.com",
        "github.repository": "shop/atelier-batches",
        "github.run_id": "4242",
    }
    work = tmp_path / "checkout"
    work.mkdir()
    read = _bash(_fill(_step("Read the batch config")["run"], context), work, env)
    assert read.returncode == 0, read.stderr
    assert json.loads((work / "batch.json").read_text(encoding="utf-8")) == config

    run = _bash(_fill(_step("Run the batch")["run"], context), work, env)
    assert run.returncode == 0, run.stderr
    assert outputs.read_text().strip() == "exit-code=0"
    assert sorted(p.name for p in (work / "out").glob("*.png")) == [f"mug-{i}.png" for i in range(3)]  # fmt: skip

    context["steps.run.outputs.exit-code"] = "0"
    done = _bash(_fill(_step("Summarise")["run"], context), work, env)
    assert done.returncode == 0, done.stderr
    text = (work / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("### ✅ Atelier batch 1 (draft/")
    assert "| 3 | 3 | 0 | 0 |" in text and "- `mug-0.png`: a blue mug 0" in text
    assert text.rstrip().endswith("https://github.com/shop/atelier-batches/actions/runs/4242")
    assert summary.read_text(encoding="utf-8") == text


def test_a_bad_comment_is_answered_with_its_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ATELIER_COMMENT": '/batch\n{"jobs": [\n  {"prompt": "mug",}\n]}',
    }
    read = _bash(
        _fill(_step("Read the batch config")["run"], {"github.event_name": "issue_comment"}),
        tmp_path,
        env,
    )
    assert read.returncode == 2
    error = (tmp_path / "batch.error.md").read_text(encoding="utf-8")
    assert "comment: line 3, column 20" in error and "/batch" in error
    assert not (tmp_path / "batch.json").exists()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("please run /batch {}", "does not start with /batch"),
        ("/batch", "needs a JSON batch config"),
        ("/batch\n```json\n[1, 2]\n```", "must be a JSON object"),
        ('/batch {"jobs": [}', "line 1, column 18"),
    ],
)
def test_comments_without_a_config(body: str, said: str) -> None:
    with pytest.raises(InputError, match=re.escape(said)):
        config_from_comment(body)


def test_windows_line_ends_and_a_bare_fence() -> None:
    body = '/batch\r\n```\r\n{"jobs": [{"prompt": "杯"}]}\r\n```\r\n'
    assert config_from_comment(body) == {"jobs": [{"prompt": "杯"}]}
