"""``atelier prices import FILE`` adds next month's model (capabilities, dates, prices, token
rates) or corrects a shipped one, without a new release; it is then offered, priced, accepted
and run like a shipped model. A bad file exits 2 naming the file and field and changes nothing
(issue 30)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from atelier.cli.main import run_command
from atelier.core import paths
from atelier.providers import catalogue
from atelier.providers.registry import PROVIDERS
from tests.conftest import FAKE_KEY
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI

NEXT_MONTH = """
[[model]]
provider = "openai"
id = "gpt-image-2.7"
label = "GPT Image 2.7"
released = 2026-12-20
lifecycle_source = "https://platform.openai.com/docs/models"

[model.capabilities]
sizes = ["1024x1024", "1536x1024", "1024x1536", "auto"]
qualities = ["auto", "low", "medium", "high", "xhigh"]
edits = true

[[model.price]]
quality = "xhigh"
size = "1024x1024"
usd = 0.31
as_of = "2026-12-20"
source = "https://platform.openai.com/docs/pricing"
source_kind = "provider page"

[model.tokens]
text_in = 5
image_in = 8
image_out = 32
as_of = "2026-12-20"
source = "https://platform.openai.com/docs/pricing"
source_kind = "provider page"

[[price]]
provider = "openai"
model = "gpt-image-2.7"
quality = "low"
size = "1024x1024"
usd_per_image = 0.007
as_of = "2026-12-21"
source = "my invoice"
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _listed() -> list[dict[str, Any]]:
    code, out, err = _run("prices", "--format", "json")
    assert code == 0, err
    lines: list[dict[str, Any]] = json.loads(out)
    return lines


def _config(tmp_path: Path, model: str, quality: str) -> Path:
    cfg = tmp_path / "c.json"
    jobs = [{"prompt": "vase", "output_path": "v.png", "quality": quality, "size": "1024x1024"}]
    cfg.write_text(json.dumps({"model": model, "jobs": jobs}), encoding="utf-8")
    return cfg


def test_an_imported_model_is_listed_priced_and_run(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(tmp_path, "gpt-image-2.7", "xhigh")
    code, _out, err = _run("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert code == 2 and "has no model 'gpt-image-2.7'" in err  # before the import
    mine = tmp_path / "next.toml"
    mine.write_text(NEXT_MONTH, encoding="utf-8")
    code, out, err = _run("prices", "import", str(mine))
    assert code == 0, err
    assert "1 price(s) added, 0 replaced" in out and "1 model(s) added, 0 replaced" in out
    assert (paths.home() / "catalogue.json").is_file()
    lines = [x for x in _listed() if x["model"] == "gpt-image-2.7"]
    assert {(x["quality"], x["usd"]) for x in lines} >= {("xhigh", 0.31), ("low", 0.007)}
    assert any("per 1M tokens" in x["price"] and x["usd"] == 32 for x in lines)
    assert "gpt-image-2.7" in [m.id for m in PROVIDERS["openai"].capabilities.offered()]
    # Offered after OpenAI's own models, so a config naming no model still gets the default.
    assert PROVIDERS["openai"].capabilities.models[0].id == "gpt-image-1.5"

    code, out, err = _run("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert code == 0, err
    assert "gpt-image-2.7 xhigh 1024x1024: $0.31 " in out and "(2026-12-20," in out

    # OpenAI ships it: the fake learns the id, and a real run bills from its token rates.
    monkeypatch.setattr(openai_server, "MODELS", (*openai_server.MODELS, "gpt-image-2.7"))
    monkeypatch.setattr(openai_server, "XHIGH_MODELS", ("gpt-image-2.7",))
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    argv = ("--base-url", fake_openai.base_url, "--format", "json", "--output-dir", str(tmp_path))
    code, out, err = _run("run", str(cfg), "--provider", "openai", *argv)
    assert code == 0, out + err
    report = json.loads(out)
    assert [r.body["quality"] for r in fake_openai.requests()] == ["xhigh"]
    # The fake's usage: 1 text token ("vase"), 1,056 image tokens (a quality it has no count
    # for); billed at the imported rates ($5 and $32 per 1M), not at the $0.31 list price.
    assert report["total_cost"] == pytest.approx((1 * 5 + 1056 * 32) / 1_000_000, abs=1e-9)


def test_a_shipped_model_is_replaced_whole_and_the_user_file_is_re_read(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "gpt-image-2", "xhigh")
    code, _out, err = _run("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert code == 2 and "quality" in err  # gpt-image-2 takes no xhigh today
    fix = NEXT_MONTH.replace('id = "gpt-image-2.7"', 'id = "gpt-image-2"').replace(
        'model = "gpt-image-2.7"', 'model = "gpt-image-2"'
    )
    mine = tmp_path / "fix.toml"
    mine.write_text(fix, encoding="utf-8")
    code, out, err = _run("prices", "import", str(mine))
    assert code == 0 and "0 model(s) added, 1 replaced" in out, err
    code, out, err = _run("run", str(cfg), "--provider", "openai", "--estimate-only")
    assert code == 0 and "gpt-image-2 xhigh 1024x1024: $0.31 " in out, err
    # The list says whose entry it is, and how old the shipped figures it hides are.
    own = [x for x in _listed() if x["model"] == "gpt-image-2"]
    assert own and all("your own entry, in place of Atelier's" in x["note"] for x in own)
    assert "(whose figures are as of 2026-12-07)" in own[0]["note"]
    # Importing it again replaces the user's own entry, still one model in the file.
    assert "0 model(s) added, 1 replaced" in _run("prices", "import", str(mine))[1]
    saved = json.loads((paths.home() / "catalogue.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in saved["model"]] == ["gpt-image-2"]


RETIRED = """
[[model]]
provider = "bfl"
id = "flux-2-old"
label = "FLUX.2 old"
shutdown = 2026-11-30
successor = "flux-2-pro"

[model.capabilities]
sizes = ["1024x1024"]
qualities = ["auto"]
"""


def test_an_imported_shut_down_model_is_refused_naming_its_successor(tmp_path: Path) -> None:
    mine = tmp_path / "old.toml"
    mine.write_text(RETIRED, encoding="utf-8")
    assert _run("prices", "import", str(mine))[0] == 0
    assert "flux-2-old" not in [m.id for m in PROVIDERS["bfl"].capabilities.offered()]
    cfg = _config(tmp_path, "flux-2-old", "auto")
    code, _out, err = _run("run", str(cfg), "--provider", "bfl", "--estimate-only")
    assert code == 2 and "flux-2-pro" in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (('provider = "openai"', 'provider = "nobody"'), "model[0].provider"),
        (('provider = "openai"', 'provider = "draft"'), "takes no catalogue models"),
        (("released = 2026-12-20", 'released = "last week"'), "model[0].released"),
        (
            ('lifecycle_source = "https', 'shutdown = 2027-01-01\nlifecycle_source = "https'),
            "successor",
        ),
        (
            ('lifecycle_source = "https', 'successor = "gpt-image-9"\nlifecycle_source = "https'),
            "'gpt-image-9' is not listed",
        ),
        (("usd = 0.31", "usd = -1"), "model[0].price[0].usd"),
        (
            ('source_kind = "provider page"\n\n[model', 'source_kind = "a blog"\n\n[model'),
            "source_kind",
        ),
        (('model = "gpt-image-2.7"', 'model = "gpt-image-9"'), "[0].model: openai has no model"),
        (("[[price]]", "[[prices]]"), "nothing else"),
        (('id = "gpt-image-2.7"', 'id = "*"'), "model[0].id"),
        (('"high", "xhigh"]', '"high", "xhigh"]\ncomplexities = ["extreme"]'), "complexities"),
        (('qualities = ["auto", "low", "medium", "high", "xhigh"]', "qualities = []"), "qualities"),
        (("usd = 0.31", "usd = true"), "model[0].price[0].usd"),
        (("edits = true", 'edits = "yes"'), "model[0].capabilities.edits"),
        (
            (
                "[[price]]",
                '[[provider_price]]\nprovider = "openia"\nusd = 0\nas_of = "2026-12"\nsource = "x"\nsource_kind = "user"\n\n[[price]]',
            ),
            "provider_price[0].provider",
        ),
        (("[[model]]", "[[model]"), "not valid TOML"),
    ],
)
def test_a_bad_model_file_exits_2_naming_the_field_and_changes_nothing(
    tmp_path: Path, edit: tuple[str, str], named: str
) -> None:
    home = paths.home()
    (home / "catalogue.json").write_text('{"model": []}\n', encoding="utf-8")
    (home / "prices.json").write_text("[]\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    bad = tmp_path / "bad.toml"
    assert edit[0] in NEXT_MONTH
    bad.write_text(NEXT_MONTH.replace(edit[0], edit[1], 1), encoding="utf-8")
    code, _out, err = _run("prices", "import", str(bad))
    assert code == 2 and str(bad) in err and named in err, err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()} == before


def test_a_file_that_cannot_be_written_leaves_both_files_as_they_were(tmp_path: Path) -> None:
    """Models and prices are staged together: when the second file cannot be written, the
    first is not changed either."""
    import os

    home = paths.home()
    (home / "catalogue.json").write_text('{"model": []}\n', encoding="utf-8")
    (home / "prices.json").write_text("[]\n", encoding="utf-8")
    (home / f".prices.json.import-{os.getpid()}.tmp").mkdir()  # in the way of the staging
    mine = tmp_path / "next.toml"
    mine.write_text(NEXT_MONTH, encoding="utf-8")
    code, _out, err = _run("prices", "import", str(mine))
    assert code == 2 and "prices.json" in err and "cannot write" in err, err
    assert (home / "catalogue.json").read_text(encoding="utf-8") == '{"model": []}\n'
    assert not list(home.glob(".catalogue.json.import-*"))


def test_a_hand_broken_user_file_is_named_left_alone_and_unused(tmp_path: Path) -> None:
    broken = paths.home() / "catalogue.json"
    broken.write_text('{"model": [{"provider": "openai"}]}', encoding="utf-8")
    catalogue.forget_user()
    code, out, err = _run("prices", "--format", "json")
    assert code == 0 and str(broken) in err and "model[0].id" in err, err
    assert any(x["model"] == "gpt-image-2" for x in json.loads(out))  # the shipped list
    assert broken.read_text(encoding="utf-8") == '{"model": [{"provider": "openai"}]}'
    # An import refuses to build on it rather than overwrite it.
    mine = tmp_path / "next.toml"
    mine.write_text(NEXT_MONTH, encoding="utf-8")
    code, _out, err = _run("prices", "import", str(mine))
    assert code == 2 and str(broken) in err


def test_the_batch_discount_is_dated_data_a_user_can_correct(tmp_path: Path) -> None:
    listed = [x for x in _listed() if x["price"].startswith("batch API")]
    openai = next(x for x in listed if x["provider"] == "openai")
    assert openai["price"] == "batch API: 50 % of the list price" and openai["as_of"]
    assert {x["provider"] for x in listed} == {"openai", "gemini"} and openai["source"]
    cfg = _config(tmp_path, "gpt-image-1.5", "medium")
    argv = ("run", str(cfg), "--provider", "openai", "--estimate-only")
    code, out, err = _run(*argv)
    assert code == 0 and "$0.034 now · $0.017 economy" in out, out + err
    mine = tmp_path / "discount.toml"
    mine.write_text(
        '[[batch_discount]]\nprovider = "openai"\nfactor = 0.6\nas_of = "2027-01-02"\n'
        'source = "https://platform.openai.com/docs/guides/batch"\nsource_kind = "provider page"\n',
        encoding="utf-8",
    )
    assert _run("prices", "import", str(mine))[0] == 0
    code, out, err = _run(*argv)
    assert code == 0 and "$0.034 now · $0.020 economy" in out, out + err
    bad = tmp_path / "bad.toml"
    bad.write_text(mine.read_text("utf-8").replace('"openai"', '"bfl"'), encoding="utf-8")
    code, _out, err = _run("prices", "import", str(bad))
    assert code == 2 and "batch_discount[0].provider" in err and "no batch API" in err
