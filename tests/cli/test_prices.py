"""``atelier prices`` lists the catalogue; ``atelier prices import FILE`` adds or overrides
entries in ATELIER_HOME after validating them (a bad file changes nothing); the estimate names
each price's date and marks those older than 120 days (issue 30)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from atelier.cli.main import run_command
from atelier.core import paths
from atelier.providers import base


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _listed(*flags: str) -> list[dict[str, Any]]:
    code, out, err = _run("prices", "--format", "json", *flags)
    assert code == 0, err
    lines: list[dict[str, Any]] = json.loads(out)
    return lines


def test_the_list_names_provider_model_price_date_and_source() -> None:
    lines = _listed()
    g2 = [x for x in lines if x["model"] == "gpt-image-2" and x["quality"] == "high"]
    assert g2[0]["usd"] == 0.211 and g2[0]["as_of"] == "2026-12-07"
    assert g2[0]["source"].startswith("https://") and g2[0]["source_kind"] == "third party"
    assert {x["model"] for x in lines} >= {
        "flux-2-pro",
        "seedream-5-5-261028",
        "gpt-image-2.6-flare",
    }
    assert not [x for x in lines if x["model"] == "gpt-image-1"]  # shut down: not offered
    old = [x for x in _listed("--all") if x["model"] == "gpt-image-1"]
    assert old and "shut down on 2026-10-23: use gpt-image-1.5" in old[0]["note"]
    code, text, _ = _run("prices")
    assert code == 0
    row = next(r for r in text.splitlines() if r.startswith("openai") and "gpt-image-1.5 " in r)
    assert "2026-08" in row and "check the provider's page" in row


def _entry(**kw: Any) -> dict[str, Any]:
    e = {"provider": "openai", "model": "gpt-image-2", "quality": "high", "size": "1024x1024"}
    return e | {"usd_per_image": 0.25, "as_of": "2026-12-01", "source": "my invoice"} | kw


def test_import_adds_then_overrides_and_the_estimate_uses_it(tmp_path: Path) -> None:
    mine = tmp_path / "prices.json"  # today's prices.json format: a list of entries
    mine.write_text(json.dumps([_entry()]), encoding="utf-8")
    code, out, err = _run("prices", "import", str(mine))
    assert code == 0, err
    assert "1 price(s) added, 0 replaced" in out
    mine.write_text(json.dumps([_entry(usd_per_image=0.3)]), encoding="utf-8")
    assert _run("prices", "import", str(mine))[1].startswith("0 price(s) added, 1 replaced")
    home = paths.home() / "prices.json"
    assert [e["usd_per_image"] for e in json.loads(home.read_text(encoding="utf-8"))] == [0.3]
    first = _listed()[0]
    assert (first["model"], first["usd"], first["source_kind"]) == ("gpt-image-2", 0.3, "user")
    toml = tmp_path / "more.toml"
    toml.write_text(
        '[[price]]\nprovider = "bfl"\nmodel = "flux-2-pro"\nusd_per_image = 0.031\n'
        'as_of = "2026-12-05"\nsource = "https://docs.bfl.ai/quick_start/pricing"\n'
        'source_kind = "provider page"\n',
        encoding="utf-8",
    )
    assert _run("prices", "import", str(toml))[0] == 0
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": "vase", "output_path": "v.png", "quality": "high"}]
    cfg.write_text(json.dumps({"model": "gpt-image-2", "jobs": jobs}), encoding="utf-8")
    code, out, err = _run("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert code == 0, err
    assert "$0.300" in out and "(2026-12-01, my invoice)" in out


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (json.dumps([_entry(), _entry(as_of="last week")]), "[1].as_of"),
        (json.dumps([_entry(model="gpt-image-9")]), "[0].model: openai has no model"),
        (json.dumps([_entry(source_kind="a blog")]), "[0].source_kind"),
        (json.dumps({"provider": "openai"}), "a price file is a JSON list"),
        ("[{", "invalid JSON"),
    ],
)
def test_a_bad_file_exits_2_naming_file_and_field_and_changes_nothing(
    tmp_path: Path, content: str, named: str
) -> None:
    home = paths.home() / "prices.json"
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text(json.dumps([_entry()]), encoding="utf-8")
    before = home.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    code, _out, err = _run("prices", "import", str(bad))
    assert code == 2 and str(bad) in err and named in err, err
    assert "Traceback" not in err and home.read_bytes() == before
    assert not list(home.parent.glob("*.tmp"))


def test_the_estimate_names_each_date_and_marks_old_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": "vase", "output_path": "v.png", "quality": "low", "size": "1024x1024"}]
    cfg.write_text(json.dumps({"model": "gpt-image-1.5", "jobs": jobs}), encoding="utf-8")
    argv = ("run", str(cfg), "--provider", "openai", "--estimate-only")
    code, out, err = _run(*argv)
    assert code == 0, err
    line = next(x for x in out.splitlines() if "gpt-image-1.5 low 1024x1024: $0.009" in x)
    assert "(2026-08, https://platform.openai.com/docs/pricing, as copied by a third party)" in line
    assert "older than 120 days: check the provider's page" in line
    monkeypatch.setattr(base, "today", lambda: dt.date(2026, 9, 1))
    code, out, err = _run(*argv)
    assert code == 0 and "check the provider's page" not in out
