"""gpt-image-2.6's ``complexity`` from a batch config and from ``--complexity``: sent where the
model takes it, refused at the door, naming the job's field, where it does not (issue 30)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli


def _config(tmp_path: Path, model: str, **job: object) -> Path:
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": "a lamp", "output_path": "l.png", "quality": "low"} | job]
    cfg.write_text(json.dumps({"model": model, "jobs": jobs}), encoding="utf-8")
    return cfg


def test_a_configs_complexity_reaches_the_api(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    cfg = _config(tmp_path, "gpt-image-2.6-flare", complexity="high")
    base = (
        "--provider",
        "openai",
        "--base-url",
        fake_openai.base_url,
        "--output-dir",
        str(tmp_path / "o"),
    )
    done = run_cli("run", str(cfg), *base, "--format", "json")
    assert done.code == 0, done.err
    assert [r.body.get("complexity") for r in fake_openai.requests()] == ["high"]
    # --complexity overrides the file's; a model that takes none refuses it before any request.
    other = (*base[:4], "--output-dir", str(tmp_path / "o2"))  # not the first run's file
    again = run_cli("run", str(cfg), *other, "--complexity", "low", "--format", "json")
    assert again.code == 0 and fake_openai.requests()[-1].body["complexity"] == "low"
    refused = run_cli("run", str(_config(tmp_path, "gpt-image-2", complexity="high")), *base)
    assert refused.code == 2 and "jobs[0].complexity" in refused.err, refused.err
    assert "gpt-image-2 takes no complexity" in refused.err and len(fake_openai.requests()) == 2
    bad = run_cli("run", str(_config(tmp_path, "gpt-image-2.6-flare", complexity="huge")), *base)
    assert bad.code == 2 and "complexity" in bad.err and "Traceback" not in bad.err


def test_a_job_without_complexity_is_written_as_before() -> None:
    """Left out of a job's JSON when unset: a team worker of an earlier version (its JobSpec
    refuses unknown fields) still reads the jobs this version queues."""
    from atelier.core.models import JobSpec

    assert "complexity" not in JobSpec(prompt="a", output_path="a.png").model_dump_json()
    set_ = JobSpec(prompt="a", output_path="a.png", complexity="low")
    assert JobSpec.model_validate_json(set_.model_dump_json()).complexity == "low"


def test_a_sheet_run_takes_complexity_from_its_flag(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    sheet = tmp_path / "lamps.csv"
    sheet.write_text("SKU,Title\nL1,Brass lamp\nL2,Paper lamp\n", encoding="utf-8")
    done = run_cli(
        "run", "--csv", str(sheet), "--prompt", "Photo of {Title}",
        "--provider", "openai", "--base-url", fake_openai.base_url,
        "--model", "gpt-image-2.6-sunburst", "--quality", "low", "--complexity", "medium",
        "--output-dir", str(tmp_path / "o"), "--format", "json",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert [r.body.get("complexity") for r in fake_openai.requests()] == ["medium", "medium"]
