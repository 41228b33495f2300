"""A model past its shutdown date is not offered and a batch naming it is refused at the door
with its successor; a deprecated one is offered with its note (issue 30). Today's date is
``atelier.providers.base.today``, replaced here."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from atelier.cli.main import run_command
from atelier.core.errors import InputError
from atelier.core.models import JobSpec
from atelier.providers import base
from atelier.providers.base import ModelInfo
from atelier.providers.registry import capabilities_of
from atelier.sheet.plan import Plan, check_plan


def _config(tmp_path: Path, model: str) -> Path:
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": "a vase", "output_path": "v.png", "quality": "low"}]
    cfg.write_text(json.dumps({"model": model, "jobs": jobs}), encoding="utf-8")
    return cfg


@pytest.mark.parametrize("estimate_only", [True, False])
def test_a_config_naming_a_shut_down_model_is_refused_with_its_successor(
    tmp_path: Path, estimate_only: bool
) -> None:
    argv = ["run", str(_config(tmp_path, "gpt-image-1")), "--provider", "openai"]
    argv += ["--output-dir", str(tmp_path / "out")]
    argv += ["--estimate-only"] if estimate_only else []
    out, err = io.StringIO(), io.StringIO()
    assert run_command(argv, out, err) == 2
    said = err.getvalue()
    assert "gpt-image-1 was shut down by its provider on 2026-10-23" in said
    assert "use gpt-image-1.5 instead" in said and "Traceback" not in said
    assert not (tmp_path / "out").exists()


def test_a_sheet_row_naming_a_retired_gemini_id_is_refused() -> None:
    plan = Plan([JobSpec(prompt="p", output_path="p.png", row_index=2)])
    plan.specs[0].model = "gemini-3-pro-image-preview"
    with pytest.raises(InputError) as e:
        check_plan(plan, "gemini", "gemini-3-pro-image", rows=True)
    assert "row 3: model" in str(e.value) and "use gemini-3-pro-image instead" in str(e.value)


def test_the_day_before_shutdown_it_is_still_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    caps = capabilities_of("openai")
    assert "gpt-image-1" not in [m.id for m in caps.offered()]
    monkeypatch.setattr(base, "today", lambda: dt.date(2026, 10, 22))
    assert "gpt-image-1" in [m.id for m in caps.offered()]
    check_plan(Plan([JobSpec(prompt="p", output_path="p.png")]), "openai", "gpt-image-1")
    monkeypatch.setattr(base, "today", lambda: dt.date(2026, 10, 23))
    with pytest.raises(InputError, match=r"use gpt-image-1\.5 instead"):
        check_plan(Plan([JobSpec(prompt="p", output_path="p.png")]), "openai", "gpt-image-1")


def test_imagen_and_preview_ids_are_not_offered() -> None:
    offered = [m.id for m in capabilities_of("gemini").offered()]
    assert offered[0] == capabilities_of("gemini").default_model == "gemini-2.5-flash-image"
    assert "gemini-3.1-flash-image" in offered and "gemini-nano-banana-2.1" in offered
    assert not [m for m in offered if m.endswith("-preview") or m.startswith("imagen")]


def test_a_deprecated_model_is_offered_with_its_note() -> None:
    old = ModelInfo(
        "m-1",
        "M 1",
        ("1024x1024",),
        ("auto",),
        deprecated=dt.date(2026, 11, 1),
        shutdown=dt.date(2027, 2, 1),
        successor="m-2",
    )
    day = dt.date(2026, 12, 7)
    assert not old.is_shut_down(day) and old.refusal(day) is None
    note = old.lifecycle_note(day)
    assert note == "deprecated since 2026-11-01, shuts down on 2027-02-01; successor m-2"
    assert old.lifecycle_note(dt.date(2026, 10, 1)) == ""
    assert old.refusal(dt.date(2027, 2, 1)) == (
        "m-1 was shut down by its provider on 2027-02-01; use m-2 instead"
    )
