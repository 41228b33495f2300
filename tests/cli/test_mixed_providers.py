"""A spreadsheet batch mixing every provider, run from the command line against the fakes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from atelier.cli.main import run_command
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.bfl import BFLDialect
from tests.fakes.comfyui import ComfyUIDialect
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.openai_server import OpenAIDialect
from tests.fakes.replicate import ReplicateDialect
from tests.fakes.stability import StabilityDialect

WORKFLOW = Path(__file__).resolve().parent.parent / "data" / "comfy-sdxl-api.json"
# provider → (dialect, key env var, key, base URL suffix)
SETUP = {
    "openai": (OpenAIDialect, "OPENAI_API_KEY", "sk-mix", "/v1"),
    "gemini": (GeminiDialect, "GEMINI_API_KEY", "gm-mix", "/v1beta"),
    "stability": (StabilityDialect, "STABILITY_API_KEY", "st-mix", ""),
    "fal": (FalDialect, "FAL_KEY", "fal-mix", ""),
    "replicate": (ReplicateDialect, "REPLICATE_API_TOKEN", "r8-mix", ""),
    "bfl": (BFLDialect, "BFL_API_KEY", "bfl-mix", ""),
    "a1111": (A1111Dialect, None, None, ""),
    "comfyui": (ComfyUIDialect, None, None, ""),
}
ROWS = [  # sku, provider, model, reference
    ("MIX-01", "openai", "gpt-image-1.5", ""),
    ("MIX-02", "gemini", "gemini-2.5-flash-image", ""),
    ("MIX-03", "stability", "core", ""),
    ("MIX-04", "fal", "fal-ai/flux/schnell", ""),
    ("MIX-05", "replicate", "black-forest-labs/flux-schnell", ""),
    ("MIX-06", "bfl", "flux-dev", ""),
    ("MIX-07", "a1111", "", ""),
    ("MIX-08", "comfyui", "", ""),
    ("MIX-09", "", "", ""),  # blank: the batch's provider (draft)
    ("MIX-10", "openai", "", "ref.png"),  # an edit through /v1/images/edits
    ("MIX-11", "fal", "fal-ai/flux-pro/kontext", "ref.png"),
    ("MIX-12", "", "", "ref.png"),  # draft draws over the reference
]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeServer]]:
    servers: dict[str, FakeServer] = {}
    try:
        for name, (dialect, env, key, suffix) in SETUP.items():
            fake = FakeServer(dialect, api_key=key).start()
            servers[name] = fake
            monkeypatch.setenv(f"ATELIER_{name.upper()}_BASE_URL", fake.url + suffix)
            if env:
                monkeypatch.setenv(env, str(key))
        for name in ("fal", "replicate", "bfl"):  # the async ones answer after three polls
            servers[name].dialect.polls_needed = 3  # type: ignore[attr-defined]
        yield servers
    finally:
        for fake in servers.values():
            fake.stop()


def test_mixed_provider_spreadsheet(tmp_path: Path, fakes: dict[str, FakeServer]) -> None:
    Image.new("RGB", (300, 200), "teal").save(tmp_path / "ref.png")
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        "SKU,Product,provider,model,photo\n"
        + "\n".join(f"{sku},Ceramic mug {i},{p},{m},{r}" for i, (sku, p, m, r) in enumerate(ROWS))
        + "\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_command(
        [
            "run",
            "--csv",
            str(csv),
            "--prompt",
            "Studio photo of {Product}",
            "--filename",
            "{SKU}",
            "--provider",
            "draft",
            "--provider-column",
            "provider",
            "--model-column",
            "model",
            "--reference-column",
            "photo",
            "--workflow",
            str(WORKFLOW),
            "--size",
            "1024x1024",
            "--format",
            "json",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        out,
        err,
    )
    assert code == 0, err.getvalue() + out.getvalue()
    report = json.loads(out.getvalue())
    assert report["succeeded"] == len(ROWS), [r["error"] for r in report["results"] if r["error"]]
    for r in report["results"]:
        with Image.open(r["output_path"]) as im:
            assert im.size == (
                1024,
                1024,
            )  # fitted to the requested size whatever the provider returned
    for name, fake in fakes.items():
        assert fake.requests(), f"{name} got no generation request"
    assert fakes["openai"].requests("Ceramic mug 9", "/images/edits")  # the edit row
    assert fakes["fal"].requests("Ceramic mug 10")[0].body["image_url"].startswith("data:image/png")
    # the estimate priced each row on its own provider; local ones at $0; prices known except gpt-image-1.5 auto
    assert (
        report["estimated_cost"] is None
    )  # openai quality "auto" has no fixed price: unknown, never $0


def test_missing_key_for_one_provider_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BFL_API_KEY", raising=False)
    csv = tmp_path / "m.csv"
    csv.write_text("SKU,provider\nA,bfl\nB,\n", encoding="utf-8")
    err = io.StringIO()
    code = run_command(
        [
            "run",
            "--csv",
            str(csv),
            "--prompt",
            "x {SKU}",
            "--filename",
            "{SKU}",
            "--provider",
            "draft",
            "--provider-column",
            "provider",
            "--output-dir",
            str(tmp_path / "o"),
        ],
        io.StringIO(),
        err,
    )
    assert (
        code == 2
        and "provider bfl: no API key" in err.getvalue()
        and "BFL_API_KEY" in err.getvalue()
    )


def test_unknown_provider_in_a_row_is_named(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("SKU,provider\nA,midjourney\n", encoding="utf-8")
    err = io.StringIO()
    code = run_command(
        [
            "run",
            "--csv",
            str(csv),
            "--prompt",
            "x",
            "--filename",
            "{SKU}",
            "--provider",
            "draft",
            "--provider-column",
            "provider",
        ],
        io.StringIO(),
        err,
    )
    assert code == 2 and "row 1: provider" in err.getvalue() and "midjourney" in err.getvalue()


def test_missing_reference_image_names_row_and_column(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("SKU,photo\nA,nope.png\n", encoding="utf-8")
    err = io.StringIO()
    code = run_command(
        [
            "run",
            "--csv",
            str(csv),
            "--prompt",
            "x",
            "--filename",
            "{SKU}",
            "--provider",
            "draft",
            "--reference-column",
            "photo",
        ],
        io.StringIO(),
        err,
    )
    assert (
        code == 2
        and "row 1 (line 2), column 'photo'" in err.getvalue()
        and "nope.png" in err.getvalue()
    )


def test_comfyui_without_workflow_is_bad_input(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("SKU\nA\n", encoding="utf-8")
    err = io.StringIO()
    code = run_command(
        ["run", "--csv", str(csv), "--prompt", "x", "--filename", "{SKU}", "--provider", "comfyui"],
        io.StringIO(),
        err,
    )
    assert code == 2 and "--workflow" in err.getvalue()


def test_config_edit_job_with_reference_relative_to_config(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64), "red").save(tmp_path / "chair.png")
    cfg = tmp_path / "edit.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "prompt": "make it blue",
                        "output_path": "blue-chair.png",
                        "operation": "edit",
                        "reference_image": "chair.png",
                    },
                    {
                        "prompt": "restyle as watercolor",
                        "output_path": "watercolor.png",
                        "operation": "transform",
                        "reference_image": "chair.png",
                    },
                ]
            }
        )
    )
    out = io.StringIO()
    code = run_command(
        [
            "run",
            str(cfg),
            "--provider",
            "draft",
            "--format",
            "json",
            "--output-dir",
            str(tmp_path / "o"),
        ],
        out,
        io.StringIO(),
    )
    assert code == 0 and json.loads(out.getvalue())["succeeded"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "jobs": [
                    {
                        "prompt": "x",
                        "output_path": "x.png",
                        "operation": "transform",
                        "reference_image": "chair.png",
                        "mask": "chair.png",
                    }
                ]
            }
        )
    )
    err = io.StringIO()
    assert run_command(["run", str(bad), "--provider", "draft"], io.StringIO(), err) == 2
    assert "jobs[0]" in err.getvalue() and "takes no mask" in err.getvalue()
