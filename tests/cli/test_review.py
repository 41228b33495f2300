"""The designer's loop from the command line against the fake OpenAI server: run, reject,
regenerate the rejected jobs (same ids, one new request per image, earlier versions kept),
pick, export a ZIP with its manifest and a contact sheet; edit one job's prompt."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.support.cli import run_cli

PRICE_LOW = 0.009  # gpt-image-1.5 low 1024x1024 (atelier.pricing.table): what estimates say


def billed(prompt: str) -> float:
    """What one answer of the fake costs, from its ``usage`` at gpt-image-1.5's token prices:
    text tokens (the fake counts len // 4, at least 1) at $5/1M, 272 image tokens at $32/1M."""
    return (max(1, len(prompt) // 4) * 5 + 272 * 32) / 1e6


def _prompts(fake: FakeOpenAI) -> list[str]:
    return [e.prompt for e in fake.log if e.prompt is not None]


def _config(tmp_path: Path, name: str, letters: str) -> Path:
    """A config of one low-quality 1024² job per letter (``{name} A`` → ``{name}-A.png``)."""
    jobs = [{"prompt": f"{name.capitalize()} {c}", "output_path": f"{name}-{c}.png", "quality": "low", "size": "1024x1024"} for c in letters]  # fmt: skip
    cfg = tmp_path / f"{name}s.json"
    cfg.write_text(json.dumps({"jobs": jobs, "output_dir": str(tmp_path / "out")}))
    return cfg


def test_reject_regenerate_pick_export(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    cfg = _config(tmp_path, "mug", "ABCDE")
    base = ("--provider", "openai", "--base-url", fake_openai.base_url)
    first = run_cli("run", str(cfg), *base, "--format", "json")
    assert first.code == 0, first.err
    report = first.report()
    batch = str(report["batch_id"])
    ids = [r["job_id"] for r in report["results"]]
    assert len(_prompts(fake_openai)) == 5

    assert run_cli("review", batch, "--reject", ids[1], ids[3]).code == 0
    shown = run_cli("show", batch, "--format", "json").report()
    flags = {j["job_id"]: j["versions"][0]["images"][0]["flag"] for j in shown["jobs"]}
    assert flags == {ids[0]: "unflagged", ids[1]: "rejected", ids[2]: "unflagged", ids[3]: "rejected", ids[4]: "unflagged"}  # fmt: skip

    est = run_cli("regenerate", batch, "--rejected", "--estimate-only", "--format", "json")
    assert est.code == 0 and est.report() == {"jobs": [ids[1], ids[3]], "images": 2, "estimated_cost": pytest.approx(2 * PRICE_LOW)}  # fmt: skip
    assert len(_prompts(fake_openai)) == 5  # an estimate sends nothing

    v1 = (tmp_path / "out" / "mug-B.png").read_bytes()
    again = run_cli("regenerate", batch, "--rejected", "--format", "json")
    assert again.code == 0, again.err
    rep = again.report()
    assert sorted(_prompts(fake_openai)[5:]) == ["Mug B", "Mug D"]
    assert len(_prompts(fake_openai)) == 7  # one new request per regenerated image, nothing else
    by = {r["job_id"]: r for r in rep["results"]}
    assert set(by) == set(ids) and by[ids[1]]["version"] == 2 and "version" not in by[ids[0]]
    assert rep["total_cost"] == pytest.approx(sum(billed(p) for p in _prompts(fake_openai)))
    out = tmp_path / "out"
    assert (out / "mug-B.v1.png").read_bytes() == v1  # the earlier image kept as version 1
    assert (out / "mug-B.png").read_bytes() == (out / "mug-B.v2.png").read_bytes() != v1
    assert Path(by[ids[1]]["output_path"]).name == "mug-B.v2.png"

    assert run_cli("review", batch, "--pick", *ids).code == 0
    zpath, pdf = tmp_path / "picked.zip", tmp_path / "sheet.pdf"
    exp = run_cli("export", batch, "--picked", "--zip", str(zpath), "--contact-sheet", str(pdf))
    assert exp.code == 0, exp.err
    with zipfile.ZipFile(zpath) as z:
        names = sorted(z.namelist())
        manifest = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
        assert z.read("mug-B.png") == (out / "mug-B.v2.png").read_bytes()  # the job's own name
    assert names == ["manifest.csv", "mug-A.png", "mug-B.png", "mug-C.png", "mug-D.png", "mug-E.png"]  # fmt: skip
    assert [(m["file"], m["version"], m["flag"]) for m in manifest][:2] == [("mug-A.png", "1", "picked"), ("mug-B.png", "2", "picked")]  # fmt: skip
    assert all(m["model"] == "openai/gpt-image-1.5" and float(m["cost_usd"]) == pytest.approx(billed(m["prompt"])) for m in manifest)  # fmt: skip
    assert pdf.read_bytes().startswith(b"%PDF")

    # one job's prompt edited, the same seed, just that job
    edit = run_cli("regenerate", batch, "--jobs", ids[2], "--prompt", "Mug C, matte glaze", "--same-seed", "--format", "json")  # fmt: skip
    assert edit.code == 0, edit.err
    assert _prompts(fake_openai)[7:] == ["Mug C, matte glaze"]
    jobs_now = {j["job_id"]: j for j in run_cli("show", batch, "--format", "json").report()["jobs"]}
    assert (
        jobs_now[ids[2]]["prompt"] == "Mug C, matte glaze" and jobs_now[ids[2]]["pick_version"] == 2
    )
    assert len(jobs_now[ids[2]]["versions"]) == 2

    # more like this: 2 new images of the same prompt; edit this: the shown image as reference
    more = run_cli("regenerate", batch, "--jobs", ids[0], "--more", "2", "--format", "json")
    assert more.code == 0, more.err
    jobs_now = {j["job_id"]: j for j in run_cli("show", batch, "--format", "json").report()["jobs"]}
    assert [len(v["images"]) for v in jobs_now[ids[0]]["versions"]] == [1, 2]
    assert (out / "mug-A-1.v2.png").is_file() and (out / "mug-A-2.v2.png").is_file()
    edit = run_cli("regenerate", batch, "--jobs", ids[4], "--edit", "--prompt", "Make it cobalt blue", "--format", "json")  # fmt: skip
    assert edit.code == 0, edit.err
    last = fake_openai.log[-1]
    assert last.path.endswith("/images/edits") and last.prompt == "Make it cobalt blue"
    no_text = run_cli("regenerate", batch, "--jobs", ids[4], "--edit")
    assert no_text.code == 2 and "an edit needs an instruction" in no_text.err

    bad = run_cli("review", batch, "--pick", "999")
    assert bad.code == 2 and "no job 999" in bad.err
    assert run_cli("regenerate", "77", "--rejected").code == 2


def test_regenerate_never_replaces_a_users_file_with_a_version_name(tmp_path: Path) -> None:
    cfg = tmp_path / "one.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": "Cup", "output_path": "cup.png"}], "output_dir": str(tmp_path / "o")}))  # fmt: skip
    run = run_cli("run", str(cfg), "--provider", "draft", "--format", "json")
    assert run.code == 0, run.err
    mine = tmp_path / "o" / "cup.v1.png"
    mine.write_bytes(b"the designer's own file")
    again = run_cli("regenerate", str(run.report()["batch_id"]), "--jobs", "1")
    assert again.code == 0, again.err
    assert mine.read_bytes() == b"the designer's own file"
    # The first version takes a free name beside the user's file, as ``run`` names do.
    assert (tmp_path / "o" / "cup.v1-2.png").is_file()
    assert (tmp_path / "o" / "cup.v2.png").is_file()


def test_the_spend_cap_applies_to_regenerations(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    cfg = _config(tmp_path, "bowl", "ABCD")
    # 4 images paid; the cap leaves room for one more, not for the three asked again
    run = run_cli("run", str(cfg), "--provider", "openai", "--base-url", fake_openai.base_url, "--budget", str(5.5 * PRICE_LOW), "--format", "json")  # fmt: skip
    assert run.code == 0, run.err
    batch = str(run.report()["batch_id"])
    again = run_cli("regenerate", batch, "--jobs", "1", "2", "3", "--format", "json")
    report = again.report()
    assert again.code == 1 and "Budget cap" in (report["stopped_reason"] or "")
    assert len([e for e in fake_openai.log if e.prompt]) == 5  # one more request, not three
    assert report["total_cost"] <= 5.5 * PRICE_LOW + 1e-9 and report["pending"] == 2
