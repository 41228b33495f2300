"""Every config the reference batch tool documents (its BATCH_PROCESSING.md and examples/, in
the seed format of ``shared/data/batch-configs/``), run on draft: no ``output_path``, the
documented ``moderation`` values, free-text ``retry_on_errors``, ``reference_image_path`` and
``mask_image_path`` from the working directory, per-job models such as ``gpt-image-2``, its
environment variables with its precedence, and its report shape."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.models import RetryPolicy
from atelier.engine.jobrun import should_retry
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _write(folder: Path, name: str, doc: object) -> Path:
    p = folder / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def test_the_shared_configs_run_on_draft_in_the_reference_report_shape(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for cfg in sorted((data_dir / "batch-configs").glob("*.json")):
        run = run_cli("run", str(cfg), "--provider", "draft", "--format", "json")
        assert run.code == 0, run.err
        report = run.report()
        assert report["succeeded"] == report["total"] == len(json.loads(cfg.read_text())["jobs"])
        assert ISO_Z.match(report["started_at"]) and ISO_Z.match(report["finished_at"])
        assert report["total_cost"] == 0.0  # every price known (draft): a number
        for r in report["results"]:
            assert isinstance(r["job_id"], str) and UUID.match(r["history_uuid"])
            assert "error" not in r and "error_type" not in r  # "only when failed"
            assert Path(r["output_path"]).is_file()
        out_dir = tmp_path / json.loads(cfg.read_text()).get("output_dir", "generated-images")
        assert (out_dir / "atelier-report.json").is_file()


def test_simple_config_without_output_path_is_named_automatically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = _write(
        tmp_path,
        "simple.json",
        {"jobs": [{"prompt": "海に沈む夕日"}, {"prompt": "A futuristic skyline"}]},
    )
    run = run_cli("run", str(cfg), "--provider", "draft", "--format", "json")
    assert run.code == 0, run.err
    names = [Path(r["output_path"]).name for r in run.report()["results"]]
    assert names == ["batch_1.png", "batch_2.png"]
    assert (tmp_path / "generated-images" / "batch_1.png").is_file()


def test_per_job_model_and_size_rehearse_on_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    jobs = [
        {"prompt": "Zen garden", "output_path": "zen.png", "model": "gpt-image-2", "size": "1024x1024", "quality": "low"},
        {"prompt": "Aurora", "output_path": "aurora.png", "model": "gpt-image-2", "size": "2048x1152", "quality": "medium"},
    ]  # fmt: skip
    cfg = _write(tmp_path, "gpt2.json", {"jobs": jobs, "output_dir": "./out"})
    est = run_cli("run", str(cfg), "--provider", "draft", "--estimate-only")
    assert est.code == 0 and est.out.startswith("draft / gpt-image-2: 2 jobs"), est.out + est.err
    run = run_cli("run", str(cfg), "--provider", "draft", "--format", "json")
    assert run.code == 0, run.err
    with Image.open(tmp_path / "out" / "aurora.png") as im:
        assert im.size == (2048, 1152)


def test_moderation_values_and_free_text_retry_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    jobs = [
        {"prompt": p, "moderation": m}
        for p, m in [("a", "auto"), ("b", "low"), ("c", "medium"), ("d", "high")]
    ]
    policy = {
        "max_retries": 2,
        "retry_delay_ms": 100,
        "retry_on_errors": ["rate_limit", "overloaded"],
    }
    cfg = _write(tmp_path, "mod.json", {"jobs": jobs, "retry_policy": policy})  # fmt: skip
    run = run_cli("run", str(cfg), "--provider", "draft", "--estimate-only", "--format", "json")
    assert run.code == 0, run.err
    warnings = run.report()["warnings"]
    assert any(w.startswith("jobs[2].moderation: 'medium'") for w in warnings)
    assert any(w.startswith("jobs[3].moderation: 'high'") for w in warnings)
    assert any("'overloaded' is not an error class" in w for w in warnings)
    # the pattern matches the message; the class still works; never-retried classes stay so
    rp = RetryPolicy.model_validate(policy)
    busy = ProviderError(ErrorClass.SERVER_ERROR, "The engine is currently overloaded")
    assert rp.retries_on(busy.error_class, busy.message) and should_retry(rp, busy, 0)
    other = ProviderError(ErrorClass.SERVER_ERROR, "Bad gateway")
    assert not rp.retries_on(other.error_class, other.message)
    assert rp.retries_on("rate_limit", "Too many requests")
    refused = ProviderError(ErrorClass.CONTENT_POLICY, "overloaded with nonsense")
    assert not should_retry(rp, refused, 0)


def test_reference_and_mask_paths_resolve_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, configs = tmp_path / "work", tmp_path / "configs"
    (work / "inputs").mkdir(parents=True)
    (configs / "inputs").mkdir(parents=True)
    Image.new("RGB", (64, 64), "navy").save(work / "inputs" / "landscape.png")
    Image.new("L", (64, 64), 0).save(work / "inputs" / "mask.png")
    Image.new("RGB", (64, 64), "olive").save(configs / "inputs" / "portrait.png")
    jobs = [
        {"operation": "edit", "prompt": "Aurora sky", "reference_image_path": "./inputs/landscape.png",
         "mask_image_path": "./inputs/mask.png", "output_path": "aurora.png", "quality": "high"},
        {"operation": "edit", "prompt": "Add a beanie", "reference_image_path": "./inputs/portrait.png",
         "output_path": "beanie.png", "model": "gpt-image-1.5", "input_fidelity": "high"},
    ]  # fmt: skip
    cfg = _write(configs, "edit.json", {"jobs": jobs, "output_dir": str(tmp_path / "edited")})
    monkeypatch.chdir(work)
    run = run_cli("run", str(cfg), "--provider", "draft", "--format", "json")
    assert run.code == 0, run.err
    report = run.report()
    assert report["succeeded"] == 2
    note = [w for w in report["warnings"] if "jobs[1].reference_image" in w]
    assert note and "beside the config" in note[0] and "portrait.png" in note[0]
    assert not any("jobs[0]." in w for w in report["warnings"])  # found in the working folder
    shutil.rmtree(work / "inputs")
    missing = run_cli("run", str(cfg), "--provider", "draft")
    assert missing.code == 2
    assert "jobs[0].reference_image: image not found: ./inputs/landscape.png" in missing.err
    assert str(work) in missing.err and str(configs) in missing.err


def test_environment_variables_with_the_reference_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bare = _write(tmp_path, "bare.json", {"jobs": [{"prompt": "a"}, {"prompt": "b"}]})
    full = _write(
        tmp_path,
        "full.json",
        {"jobs": [{"prompt": "a"}], "output_dir": "./from-config", "max_concurrent": 3, "timeout": 700000},
    )  # fmt: skip
    monkeypatch.setenv("OPENAI_IMAGE_OUTPUT_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("OPENAI_BATCH_MAX_CONCURRENT", "5")
    monkeypatch.setenv("OPENAI_BATCH_TIMEOUT", "800000")

    def settings(*argv: str) -> tuple[Path, int, int | None]:
        from atelier.cli.main import _parser
        from atelier.cli.run import planned_from_args

        planned, _ = planned_from_args(_parser().parse_args(["run", *argv, "--provider", "draft"]))
        rs = planned.settings
        return planned.output_dir, rs.concurrency, rs.batch_timeout_ms

    assert settings(str(bare)) == (tmp_path / "from-env", 5, 800000)  # env over default
    assert settings(str(full)) == (Path("./from-config"), 3, 700000)  # config over env
    flags = ("--output-dir", "flag-dir", "--max-concurrent", "7", "--timeout", "900000")
    assert settings(str(full), *flags) == (Path("flag-dir"), 7, 900000)  # flag over config
    for var in ("OPENAI_IMAGE_OUTPUT_DIR", "OPENAI_BATCH_MAX_CONCURRENT", "OPENAI_BATCH_TIMEOUT"):
        monkeypatch.delenv(var)
    out, conc, timeout = settings(str(bare))
    assert (out, conc, timeout) == (Path("./generated-images"), 2, None)  # draft's default
    monkeypatch.setenv("OPENAI_BATCH_MAX_CONCURRENT", "lots")
    bad = run_cli("run", str(bare), "--provider", "draft", "--estimate-only")
    assert bad.code == 2
    assert "environment variable OPENAI_BATCH_MAX_CONCURRENT: expected a whole number" in bad.err
    # a run really writes where the variable says
    monkeypatch.delenv("OPENAI_BATCH_MAX_CONCURRENT")
    monkeypatch.setenv("OPENAI_IMAGE_OUTPUT_DIR", str(tmp_path / "env-out"))
    assert run_cli("run", str(bare), "--provider", "draft").code == 0
    assert (tmp_path / "env-out" / "batch_2.png").is_file()


def test_failed_results_carry_error_not_paths(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_openai.script_for("refused", ["moderation_blocked"])
    jobs = [{"prompt": "refused", "quality": "low"}, {"prompt": "fine", "quality": "low"}]
    cfg = _write(tmp_path, "two.json", {"jobs": jobs, "output_dir": str(tmp_path / "out")})
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    run = run_cli(
        "run", str(cfg), "--provider", "openai", "--base-url", fake_openai.base_url,
        "--format", "json",
    )  # fmt: skip
    assert run.code == 1, run.err
    failed, done = run.report()["results"]
    assert failed["status"] == "failed" and failed["error"] and failed["job_id"] == "1"
    assert "output_path" not in failed and "history_uuid" not in failed
    assert (
        done["status"] == "completed" and "error" not in done and UUID.match(done["history_uuid"])
    )
