from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier.core.errors import InputError
from atelier.core.models import load_batch_config
from atelier.pricing.entries import PriceQuery
from atelier.pricing.table import PriceTable
from atelier.sheet.config_plan import plan_from_config
from atelier.sheet.plan import check_plan


def _cfg(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def test_shared_configs_load(data_dir: Path) -> None:
    for p in sorted((data_dir / "batch-configs").glob("*.json")):
        cfg = load_batch_config(p)
        assert cfg.jobs and not cfg.warnings()


def test_bad_field_is_named(tmp_path: Path) -> None:
    p = _cfg(
        tmp_path,
        {
            "jobs": [
                {"prompt": "a", "output_path": "a.png"},
                {"prompt": "b", "output_path": "b.png", "size": "huge"},
            ]
        },
    )
    with pytest.raises(InputError, match=r"cfg\.json: jobs\[1\]\.size"):
        load_batch_config(p)


def test_invalid_json_names_line(tmp_path: Path) -> None:
    p = tmp_path / "cfg.json"
    p.write_text('{"jobs": [\n  {"prompt": "a",}\n]}', encoding="utf-8")
    with pytest.raises(InputError, match=r"cfg\.json line 2"):
        load_batch_config(p)


def test_unknown_keys_are_warnings(tmp_path: Path) -> None:
    cfg = load_batch_config(
        _cfg(
            tmp_path, {"jobs": [{"prompt": "a", "output_path": "a", "colour": 1}], "speed": "fast"}
        )
    )
    assert cfg.warnings() == ["speed: unknown key, ignored", "jobs[0].colour: unknown key, ignored"]


def test_provider_capabilities_name_the_job_field(tmp_path: Path) -> None:
    cfg = load_batch_config(
        _cfg(
            tmp_path,
            {
                "jobs": [
                    {"prompt": "a", "output_path": "a.png"},
                    {"prompt": "b", "output_path": "b.png", "size": "640x480"},
                ]
            },
        )
    )
    plan = plan_from_config(cfg)
    check_plan(plan, "draft", "draft")
    with pytest.raises(InputError, match=r"jobs\[1\]\.size: gpt-image-1\.5 accepts"):
        check_plan(plan, "openai", "gpt-image-1.5")


def test_estimate_uses_table_and_reports_unknown() -> None:
    table = PriceTable()
    est = table.estimate(
        [
            PriceQuery("openai", "gpt-image-1.5", "high", "1024x1024", 2),
            PriceQuery("openai", "gpt-image-1.5", "low", "1536x1024", 1),
        ]
    )
    assert est.total_usd == pytest.approx(2 * 0.133 + 0.013)
    # gpt-image-2.6: token rates only, no published per-image price
    est = table.estimate([PriceQuery("openai", "gpt-image-2.6-flare", "high", "1024x1024", 3)])
    assert est.total_usd is None and est.unknown_images == 3
    assert "unknown" in est.describe()
    auto = PriceQuery("openai", "gpt-image-1.5", "auto", "1024x1024")
    assert table.estimate([auto]).total_usd is None


def test_price_entries_carry_date_and_source() -> None:
    e = PriceTable().lookup("openai", "gpt-image-1", "medium", "1536x1024")
    assert e is not None and e.usd_per_image == 0.063 and e.as_of == "2026-08"
    assert e.source == "https://platform.openai.com/docs/pricing"
    assert e.source_kind == "provider page"


def test_cost_from_usage() -> None:
    usage = {
        "input_tokens": 50,
        "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
        "output_tokens": 4160,
        "total_tokens": 4210,
    }
    usd = PriceTable().cost_from_usage("openai", "gpt-image-1", usage)
    assert usd == pytest.approx(50 * 5 / 1e6 + 4160 * 40 / 1e6)
    # gpt-image-1.5: $5/1M text in, $32/1M image out (its dated, sourced entry)
    usd15 = PriceTable().cost_from_usage("openai", "gpt-image-1.5", usage)
    assert usd15 == pytest.approx(50 * 5 / 1e6 + 4160 * 32 / 1e6)
    # a model without token prices stays unknown, never $0
    assert PriceTable().cost_from_usage("stability", "core", usage) is None


def test_user_overrides_win(tmp_path: Path) -> None:
    p = tmp_path / "prices.json"
    p.write_text(
        json.dumps(
            [
                {
                    "provider": "openai",
                    "model": "gpt-image-2",
                    "quality": "high",
                    "usd_per_image": 0.3,
                    "as_of": "2026-11",
                    "source": "my invoice",
                }
            ]
        )
    )
    assert (
        PriceTable.load(p)
        .estimate([PriceQuery("openai", "gpt-image-2", "high", "1024x1024", 2)])
        .total_usd
        == 0.6
    )


def test_an_estimate_of_edits_says_the_references_input_is_not_in_its_figure() -> None:
    table = PriceTable()
    edit = PriceQuery("openai", "gpt-image-2", "medium", "1024x1024", 3, references=2)
    est = table.estimate([edit, PriceQuery("openai", "gpt-image-2", "low", "1024x1024", 1)])
    assert est.total_usd == pytest.approx(3 * 0.053 + 0.006)  # the output only
    note = [s for s in est.sources if "reference images" in s]
    assert len(note) == 1 and note[0].startswith("gpt-image-2: 3 image(s) made from reference")
    assert "$8 per 1M" in note[0] and "not in this figure" in note[0]
    # Without references, or where the per-reference charge is in the price, no such line.
    plain = table.estimate([PriceQuery("openai", "gpt-image-2", "low", "1024x1024", 1)])
    assert not [s for s in plain.sources if "reference images" in s]
    gemini = PriceQuery("gemini", "gemini-3.1-flash-image", "auto", "1024x1024", 2, 1)
    said = [s for s in table.estimate([gemini]).sources if "reference images" in s]
    assert said and "a rate Atelier's catalogue does not have" in said[0]
    seedream = PriceQuery("seedream", "seedream-5-5-261028", "auto", "2048x2048", 1, 2)
    assert not [s for s in table.estimate([seedream]).sources if "not in this figure" in s]


def test_flux_2_edits_add_the_references_megapixels(tmp_path: Path) -> None:
    """BFL's own formula: (firstMP + (outputMP-1) * mpPrice) + (inputMP * mpPrice); an estimate
    counts a reference as 1024x1024, a run's cost reads the reference's own size."""
    from PIL import Image

    from atelier.core.models import JobSpec
    from atelier.pricing.budget import Budget

    table = PriceTable()
    one = PriceQuery("bfl", "flux-2-pro", "auto", "1024x1024", 1, references=1)
    assert table.price_of(one).usd == pytest.approx(0.045)  # BFL's "edits from $0.045"
    two = PriceQuery("bfl", "flux-2-max", "auto", "1024x1024", 2, references=2)
    assert table.price_of(two).usd == pytest.approx(2 * (0.07 + 2 * 0.03))
    line = next(s for s in table.estimate([one]).sources if s.startswith("bfl flux-2-pro"))
    assert "+ $0.015 per reference megapixel" in line
    assert not [s for s in table.estimate([one]).sources if "not in this figure" in s]

    big = tmp_path / "big.png"
    Image.new("RGB", (2048, 2048)).save(big)
    spec = JobSpec(
        prompt="on a table", output_path="t.png", operation="edit", reference_images=[str(big)]
    )
    budget = Budget(table, lambda run, why: None)
    assert budget.list_cost("bfl", "flux-2-pro", spec, 1) == pytest.approx(0.03 + 4 * 0.015)
    gone = spec.model_copy(update={"reference_images": [str(tmp_path / "gone.png")]})
    assert budget.list_cost("bfl", "flux-2-pro", gone, 1) == pytest.approx(0.045)  # typical
