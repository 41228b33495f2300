"""What the reference batch tool gets right and Atelier must too (issue 30, "Requests and
estimates the reference batch tool gets right"): a config without ``size`` sends none, an edit
config is estimated without its reference files, and a config without ``model`` runs on the
reference tool's default model or on the one Atelier names instead."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli


def _write(folder: Path, name: str, doc: object) -> Path:
    p = folder / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def _run_on_fake(cfg: Path, fake: FakeOpenAI, *extra: str) -> object:
    return run_cli(
        "run", str(cfg), "--provider", "openai", "--base-url", fake.base_url, "--format", "json",
        *extra,
    )  # fmt: skip


def test_a_config_without_size_sends_none(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``size``: nothing is sent (the API's ``auto``), so an edit of a 1536x1024 reference
    is not squared to 1024x1024; a job that gives a size still sends it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    Image.new("RGB", (1536, 1024), "navy").save(tmp_path / "wide.png")
    jobs = [
        {"prompt": "edit: add snow", "operation": "edit", "reference_image_path": "wide.png",
         "output_path": "snow.png", "quality": "low", "model": "gpt-image-1.5"},
        {"prompt": "gen: a red chair", "output_path": "chair.png", "quality": "low",
         "model": "gpt-image-1.5"},
        {"prompt": "sized: a lamp", "output_path": "lamp.png", "quality": "low",
         "size": "1024x1536", "model": "gpt-image-1.5"},
    ]  # fmt: skip
    cfg = _write(tmp_path, "c.json", {"jobs": jobs, "output_dir": str(tmp_path / "out")})
    run = _run_on_fake(cfg, fake_openai)
    assert run.code == 0, run.err
    edit = fake_openai.requests("edit:")[0]
    assert edit.path.endswith("/images/edits") and "size" not in edit.body
    assert "size" not in fake_openai.requests("gen:")[0].body
    assert fake_openai.requests("sized:")[0].body["size"] == "1024x1536"
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert est.code == 0, est.err
    assert "jobs[0], jobs[1]: no size given, so none is sent" in est.out


def test_estimate_of_an_edit_config_without_its_reference_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--estimate-only`` sends nothing, so it does not need the reference images: it says
    which are missing and how they are priced; a run still refuses them."""
    monkeypatch.chdir(tmp_path)
    jobs = [
        {"prompt": "Aurora sky", "operation": "edit", "reference_image_path": "./inputs/a.png",
         "mask_image_path": "./inputs/mask.png", "output_path": "a.png", "quality": "high",
         "size": "1536x1024", "model": "gpt-image-1.5"},
        {"prompt": "Oil painting", "operation": "transform", "reference_image_path": "b.png",
         "output_path": "b.png", "quality": "medium", "model": "gpt-image-1.5"},
    ]  # fmt: skip
    cfg = _write(tmp_path, "edit.json", {"jobs": jobs})
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only", "--format", "json")
    assert est.code == 0, est.err
    doc = json.loads(est.out)
    # high 1536x1024 $0.20 + medium at the dearest standard size (no size given) $0.05
    assert doc["estimated_cost"] == pytest.approx(0.25)
    missing = [w for w in doc["warnings"] if "image not found" in w]
    assert [w.split(":")[0] for w in missing] == [
        "jobs[0].reference_image",
        "jobs[0].mask",
        "jobs[1].reference_image",
    ]
    assert "typical 1024x1024 image" in missing[0] and "a run needs the file" in missing[0]
    run = run_cli("run", str(cfg), "--provider", "draft")
    assert run.code == 2 and "jobs[0].reference_image: image not found" in run.err


def test_a_config_without_model_names_the_model_it_runs_on(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference tool sends gpt-image-1 for a config without ``model``; OpenAI retired it
    on 2026-10-23, so Atelier uses gpt-image-1.5 and says so in one sentence, in the estimate
    and in the run's warnings; a ``model`` in the config or ``--model`` is used as given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    cfg = _write(
        tmp_path,
        "m.json",
        {"jobs": [{"prompt": "nomodel: a cup", "quality": "low", "size": "1024x1024"}],
         "output_dir": str(tmp_path / "out")},
    )  # fmt: skip
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only", "--format", "json")
    assert est.code == 0, est.err
    doc = json.loads(est.out)
    assert doc["model"] == "gpt-image-1.5" and doc["estimated_cost"] == pytest.approx(0.009)
    notes = [w for w in doc["warnings"] if "names no model" in w]
    assert notes == [
        "This config names no model: the reference batch tool would use gpt-image-1, which "
        "OpenAI retired on 2026-10-23; Atelier uses gpt-image-1.5 (same sizes and options) "
        'instead. Give "model" in the config, or --model, to choose another.'
    ]
    text = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert "names no model" in text.out
    run = _run_on_fake(cfg, fake_openai)
    assert run.code == 0, run.err
    assert fake_openai.requests("nomodel:")[0].body["model"] == "gpt-image-1.5"
    chosen = run_cli(
        "run", str(cfg), "--provider", "openai", "--model", "gpt-image-2", "--estimate-only",
        "--format", "json",
    )  # fmt: skip
    assert json.loads(chosen.out)["model"] == "gpt-image-2"
    assert not any("names no model" in w for w in json.loads(chosen.out)["warnings"])


def test_before_its_retirement_the_reference_default_is_kept() -> None:
    from atelier.sheet.config_plan import config_default_model

    assert config_default_model("openai", date(2026, 10, 22)) == ("gpt-image-1", None)
    model, note = config_default_model("openai", date(2026, 10, 23))
    assert model == "gpt-image-1.5" and note and "gpt-image-1," in note
    assert config_default_model("gemini") == (None, None)


def test_a_config_whose_jobs_all_name_a_model_says_nothing_of_a_default(tmp_path: Path) -> None:
    """Only a job without a model runs on the default: a config whose jobs each name one got
    the "names no model" sentence and the default as the batch's model all the same."""
    jobs = [
        {"prompt": f"own model {i}", "quality": "low", "size": "1024x1024", "model": "gpt-image-2"}
        for i in range(2)
    ]
    cfg = _write(tmp_path, "own.json", {"jobs": jobs, "output_dir": str(tmp_path / "out")})
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only", "--format", "json")
    assert est.code == 0, est.err
    doc = json.loads(est.out)
    assert doc["model"] == "gpt-image-2"
    assert not any("names no model" in w for w in doc["warnings"])
    mixed = [*jobs, {"prompt": "no model", "quality": "low", "size": "1024x1024"}]
    cfg = _write(tmp_path, "mixed.json", {"jobs": mixed, "output_dir": str(tmp_path / "out")})
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only", "--format", "json")
    assert any("names no model" in w for w in json.loads(est.out)["warnings"])


def test_the_reference_default_follows_the_catalogue_and_its_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shutdown date and successor are the catalogue's (one place), and "today" is the
    providers' clock (``atelier.providers.base.today``), as for every other shutdown."""
    from atelier.providers import base
    from atelier.sheet.config_plan import config_default_model

    monkeypatch.setattr(base, "today", lambda: date(2026, 10, 1))
    assert config_default_model("openai") == ("gpt-image-1", None)
    monkeypatch.setattr(base, "today", lambda: date(2026, 10, 23))
    assert config_default_model("openai")[0] == "gpt-image-1.5"


def test_jobs_of_another_provider_do_not_name_the_batchs_model(tmp_path: Path) -> None:
    """Every job on Gemini's model, the batch on OpenAI: the batch's model is not Gemini's
    (the pair 'openai / gemini-…' exists nowhere), and no default is announced."""
    jobs = [
        {"prompt": f"g {i}", "size": "1024x1024", "provider": "gemini",
         "model": "gemini-3.1-flash-image"}
        for i in range(2)
    ]  # fmt: skip
    cfg = _write(tmp_path, "g.json", {"jobs": jobs, "output_dir": str(tmp_path / "out")})
    est = run_cli("run", str(cfg), "--provider", "openai", "--estimate-only", "--format", "json")
    assert est.code == 0, est.err
    doc = json.loads(est.out)
    assert doc["model"] != "gemini-3.1-flash-image"
    assert not any("names no model" in w for w in doc["warnings"])
