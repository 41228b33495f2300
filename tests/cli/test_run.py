"""``atelier run`` end to end: the shared data, exit codes, estimates, reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from atelier.cli.main import run_command
from atelier.output.images import read_metadata
from atelier.sheet.tabular import read_csv
from tests.conftest import FAKE_KEY
from tests.fakes.openai_server import FakeOpenAI


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_shopify_csv_makes_one_image_per_row_named_by_sku(tmp_path: Path, data_dir: Path) -> None:
    csv = data_dir / "shopify-home-goods.csv"
    code, out, _ = _run(
        "run",
        "--csv",
        str(csv),
        "--provider",
        "draft",
        "--format",
        "json",
        "--prompt",
        "Product photo of {Title} in {Option1 Value}",
        "--filename",
        "{Variant SKU}",
        "--output-dir",
        str(tmp_path / "out"),
        "--size",
        "1024x1024",
    )
    assert code == 0
    report = json.loads(out)
    skus = [r[read_csv(csv).headers.index("Variant SKU")] for r in read_csv(csv).rows]
    assert report["total"] == report["succeeded"] == len(skus) == 38
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(
        f"{s}.png" for s in skus
    )
    for r in report["results"]:
        with Image.open(r["output_path"]) as im:
            im.verify()
    assert set(report) >= {
        "total",
        "succeeded",
        "failed",
        "cancelled",
        "results",
        "started_at",
        "finished_at",
        "total_duration_ms",
        "estimated_cost",
        "total_cost",
    }
    assert set(report["results"][0]) == {  # the reference's shape: no error on success
        "job_id",
        "prompt",
        "status",
        "output_path",
        "output_paths",
        "history_uuid",
        "attempts",
        "duration_ms",
        "cost",
    }
    assert report["estimated_cost"] == 0.0 and report["total_cost"] == 0.0
    assert json.loads((tmp_path / "out" / "atelier-report.json").read_text())["succeeded"] == 38
    # Shopify variant rows got their product's Title (fill-down)
    assert any("Nordic Scented Candle in Ocean Breeze" in r["prompt"] for r in report["results"])


def test_shift_jis_catalog_makes_one_image_per_row_named_by_hinban(
    tmp_path: Path, data_dir: Path
) -> None:
    code, out, _ = _run(
        "run",
        "--csv",
        str(data_dir / "jp-zakka-shift_jis.csv"),
        "--provider",
        "draft",
        "--format",
        "json",
        "--prompt",
        "{商品名}（{カラー}・{素材}）、{シーン}で撮影",
        "--filename",
        "{品番}",
        "--output-dir",
        str(tmp_path / "jp"),
    )
    assert code == 0
    report = json.loads(out)
    assert report["succeeded"] == 12
    assert report["results"][0]["prompt"] == "急須（黒・常滑焼）、和室の縁側で撮影"
    assert sorted(p.name for p in (tmp_path / "jp").glob("*.png"))[0] == "JP-BAG-001.png"
    meta = read_metadata(tmp_path / "jp" / "JP-TEA-001.png")
    assert meta and meta["prompt"].startswith("急須")


@pytest.mark.parametrize(
    "name", ["batch-simple.json", "batch-detailed.json", "batch-multi-variant.json"]
)
def test_shared_batch_configs_run(tmp_path: Path, data_dir: Path, name: str) -> None:
    cfg_path = data_dir / "batch-configs" / name
    cfg = json.loads(cfg_path.read_text())
    code, out, _ = _run(
        "run",
        str(cfg_path),
        "--provider",
        "draft",
        "--format",
        "json",
        "--output-dir",
        str(tmp_path / "o"),
    )
    assert code == 0
    report = json.loads(out)
    assert report["succeeded"] == len(cfg["jobs"])
    files = sorted(
        p for p in (tmp_path / "o").iterdir() if not p.name.startswith("atelier-report.")
    )
    assert len(files) == sum(j.get("sample_count", 1) for j in cfg["jobs"])
    for job, res in zip(cfg["jobs"], report["results"], strict=True):
        assert len(res["output_paths"]) == job.get("sample_count", 1)
        w, h = (int(x) for x in job.get("size", "1024x1024").split("x"))
        fmt = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[job.get("output_format", "png")]
        for p in res["output_paths"]:
            with Image.open(p) as im:
                assert (im.size, im.format) == ((w, h), fmt)
                if job.get("transparent_background"):
                    assert im.mode == "RGBA"


def test_config_against_fake_openai_with_flags_overriding_file(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    code, out, _ = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-multi-variant.json"),
        "--provider",
        "openai",
        "--base-url",
        fake_openai.base_url,
        "--format",
        "json",
        "--output-dir",
        str(tmp_path / "v"),
        "--max-concurrent",
        "1",
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["succeeded"] == 3
    assert [r.body["n"] for r in fake_openai.requests()] == [3, 5, 4]
    assert report["estimated_cost"] == pytest.approx(3 * 0.20 + 5 * 0.133 + 4 * 0.05)


def test_env_base_url_is_used(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ATELIER_OPENAI_BASE_URL", fake_openai.base_url)
    code, _, _ = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-simple.json"),
        "--provider",
        "openai",
        "--output-dir",
        str(tmp_path / "s"),
    )
    assert code == 0 and len(fake_openai.requests()) == 3


def test_default_provider_is_draft_without_key_and_openai_with_one(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = str(data_dir / "batch-configs" / "batch-simple.json")
    code, out, _ = _run("run", cfg, "--estimate-only", "--format", "json")
    assert code == 0 and json.loads(out)["provider"] == "draft"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-something")
    code, out, _ = _run("run", cfg, "--estimate-only", "--format", "json")
    assert json.loads(out)["provider"] == "openai"


def test_estimate_only_sends_nothing(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    code, out, _ = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-detailed.json"),
        "--provider",
        "openai",
        "--base-url",
        fake_openai.base_url,
        "--estimate-only",
        "--format",
        "json",
        "--output-dir",
        str(tmp_path / "e"),
    )
    est = json.loads(out)
    assert code == 0 and est["images"] == 5
    assert est["estimated_cost"] == pytest.approx(0.20 + 0.034 + 0.20 + 0.05 + 0.133)
    assert fake_openai.requests() == [] and not (tmp_path / "e").exists()
    code, out, _ = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-simple.json"),
        "--provider",
        "openai",
        "--estimate-only",
    )
    assert "price unknown" in out  # quality "auto" has no fixed price: unknown, never $0


def test_quality_auto_is_billed_from_usage(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate cannot price ``auto`` (unknown, not $0); the run can: each answer's
    ``usage`` at gpt-image-1.5's token prices ($5/1M text in, $32/1M image out)."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    cfg = tmp_path / "auto.json"
    jobs = [{"prompt": f"a teapot on {m}", "quality": "auto"} for m in ("linen", "slate")]
    cfg.write_text(json.dumps({"jobs": jobs}))
    code, out, err = _run(
        "run", str(cfg), "--provider", "openai", "--model", "gpt-image-1.5", "--base-url",
        fake_openai.base_url, "--output-dir", str(tmp_path / "auto"), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    text_tokens = len("a teapot on linen") // 4  # what the fake counts
    per_image = text_tokens * 5 / 1e6 + 1056 * 32 / 1e6  # auto is answered as medium
    assert report["total_cost"] == pytest.approx(2 * per_image)
    assert [r["cost"] for r in report["results"]] == [pytest.approx(per_image)] * 2


@pytest.mark.parametrize(
    ("config", "where"),
    [
        (
            {
                "jobs": [
                    {"prompt": "a", "output_path": "a.png"},
                    {"prompt": "b", "output_path": "b.png", "size": 7},
                ]
            },
            "jobs[1].size",
        ),
        ({"jobs": [{"prompt": "a", "output_path": "../../etc/a.png"}]}, "jobs[0].output_path"),
        (
            {"jobs": [{"prompt": "a", "output_path": "a.png", "sample_count": 11}]},
            "jobs[0].sample_count",
        ),
        ({"jobs": []}, "jobs"),
        (
            {
                "jobs": [
                    {
                        "prompt": "a",
                        "output_path": "a.jpg",
                        "output_format": "jpeg",
                        "transparent_background": True,
                    }
                ]
            },
            "jobs[0].transparent_background",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_field(tmp_path: Path, config: object, where: str) -> None:
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps(config))
    code, _, err = _run("run", str(p), "--provider", "draft", "--output-dir", str(tmp_path / "o"))
    assert code == 2 and where in err, err
    assert not (tmp_path / "o").exists()


def test_unknown_placeholder_exits_2_naming_the_column(tmp_path: Path, data_dir: Path) -> None:
    code, _, err = _run(
        "run",
        "--csv",
        str(data_dir / "shopify-home-goods.csv"),
        "--provider",
        "draft",
        "--prompt",
        "{Titel} photo",
        "--filename",
        "{Variant SKU}",
    )
    assert code == 2 and "{Titel}" in err and "did you mean {Title}" in err


def test_failures_exit_1(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    fake_openai.script_for("sunset", ["moderation_blocked"])
    code, out, _ = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-simple.json"),
        "--provider",
        "openai",
        "--base-url",
        fake_openai.base_url,
        "--output-dir",
        str(tmp_path / "f"),
    )
    assert code == 1 and "1 failed" in out and "content policy" in out


def test_missing_key_is_bad_input(tmp_path: Path, data_dir: Path) -> None:
    code, _, err = _run(
        "run",
        str(data_dir / "batch-configs" / "batch-simple.json"),
        "--provider",
        "openai",
        "--output-dir",
        str(tmp_path / "k"),
    )
    assert code == 2 and "OPENAI_API_KEY" in err


def test_rerun_into_same_folder_requests_nothing_again(
    tmp_path: Path, data_dir: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    fake_openai.script_for("city", ["insufficient_quota"])
    args = (
        "run",
        str(data_dir / "batch-configs" / "batch-simple.json"),
        "--provider",
        "openai",
        "--base-url",
        fake_openai.base_url,
        "--output-dir",
        str(tmp_path / "r"),
        "--format",
        "json",
    )
    code, out, _ = _run(*args)
    assert code == 1 and json.loads(out)["failed"] == 1
    code, out, _ = _run(*args)
    assert code == 0 and json.loads(out)["succeeded"] == 3
    assert fake_openai.counts_by_prompt() == {
        "A beautiful sunset over the ocean": 1,
        "A futuristic city skyline at night": 2,
        "A serene mountain landscape": 1,
    }
