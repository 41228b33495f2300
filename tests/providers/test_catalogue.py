"""The catalogue as dated data (issue 30): every entry validates, each added model's estimate
is its table price, the economy price, Seedream 5.5's per-reference charge, token billing."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from atelier.core.errors import InputError
from atelier.pricing.entries import PriceQuery
from atelier.pricing.table import PriceTable
from atelier.providers import catalogue
from atelier.providers.base import GenerationRequest
from atelier.providers.economy.lanes import economy_factors
from atelier.providers.economy.openai_batch import OpenAIBatchApi
from atelier.providers.openai import OpenAIProvider
from atelier.providers.registry import PROVIDERS


def _raw() -> dict[str, object]:
    text = resources.files("atelier.providers").joinpath("catalogue.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_every_catalogue_entry_validates_and_carries_its_source() -> None:
    cat = catalogue.parse(_raw(), "catalogue.toml")
    assert cat.model and cat.as_of.isoformat() == "2026-12-07"
    for m in cat.model:
        assert PROVIDERS[m.provider].capabilities.model(m.id) is not None, m.id
        for p in (*m.price, *([m.tokens] if m.tokens else [])):
            assert p.as_of and p.source and p.source_kind in ("provider page", "third party")
            assert p.source.startswith("https://"), (m.id, p.source)
        if m.shutdown:
            assert cat.find(m.provider, m.successor or "") is not None, m.id


def test_a_bad_entry_is_named_by_its_field() -> None:
    raw = _raw()
    models = raw["model"]
    assert isinstance(models, list)
    models[0]["price"][0]["usd"] = -1
    with pytest.raises(InputError, match=r"catalogue\.toml: model\[0\]\.price\[0\]\.usd"):
        catalogue.parse(raw, "catalogue.toml")
    raw = _raw()
    models = raw["model"]
    assert isinstance(models, list)
    models[0]["price"][0]["source_kind"] = "a blog"
    with pytest.raises(InputError, match="source_kind"):
        catalogue.parse(raw, "catalogue.toml")


# (provider, model, quality, size, USD per image) as shared/docs/providers.md gives them
ADDED = [
    ("openai", "gpt-image-2", "low", "1024x1024", 0.006),
    ("openai", "gpt-image-2", "medium", "1024x1024", 0.053),
    ("openai", "gpt-image-2", "high", "1024x1024", 0.211),
    ("openai", "gpt-image-2", "low", "1024x1536", 0.005),
    ("openai", "gpt-image-2", "medium", "1536x1024", 0.041),
    ("openai", "gpt-image-2", "high", "1536x1024", 0.165),
    ("openai", "gpt-image-2.5-flare", "high", "1024x1024", 0.211),
    ("openai", "gpt-image-2.5-sunburst", "medium", "1024x1536", 0.041),
    ("gemini", "gemini-3.1-flash-image", "auto", "512x512", 0.045),
    ("gemini", "gemini-3.1-flash-image", "auto", "1024x1024", 0.067),
    ("gemini", "gemini-3.1-flash-image", "auto", "2048x2048", 0.101),
    ("gemini", "gemini-3.1-flash-image", "auto", "4096x4096", 0.151),
    ("gemini", "gemini-3-pro-image", "auto", "2048x1536", 0.134),
    ("gemini", "gemini-3-pro-image", "auto", "4096x2304", 0.24),
    ("bfl", "flux-2-klein-4b", "auto", "1024x1024", 0.014),
    ("bfl", "flux-2-klein-9b", "auto", "1024x1024", 0.015),
    ("bfl", "flux-2-pro", "auto", "1024x1024", 0.03),
    ("bfl", "flux-2-flex", "auto", "1024x1024", 0.05),
    ("bfl", "flux-2-max", "auto", "1024x1024", 0.07),
    ("bfl", "flux-kontext-pro", "auto", "1024x1024", 0.04),
]


@pytest.mark.parametrize(("provider", "model", "quality", "size", "usd"), ADDED)
def test_the_estimate_of_each_added_model_is_its_table_price(
    provider: str, model: str, quality: str, size: str, usd: float
) -> None:
    est = PriceTable().estimate([PriceQuery(provider, model, quality, size, 3)])
    assert est.total_usd == pytest.approx(3 * usd)
    assert est.sources and "2026-" in est.sources[0]


def test_flux2_bills_each_megapixel_past_the_first() -> None:
    # [pro]: $0.03 the first megapixel (1024²), $0.015 each further one: 2048² = 4 MP
    price = PriceTable().price_of(PriceQuery("bfl", "flux-2-pro", "auto", "2048x2048"))
    assert price.usd == pytest.approx(0.03 + 3 * 0.015)


def test_unconfirmed_figures_stay_unknown() -> None:
    table = PriceTable()
    for provider, model, quality in (
        ("openai", "gpt-image-2.5-flare", "xhigh"),
        ("openai", "gpt-image-2.6-sunburst", "high"),
        ("gemini", "gemini-nano-banana-2.1", "auto"),
        ("seedream", "seedream-5-5-261028", "auto"),
        ("seedream", "seedream-4-5-251128", "auto"),
    ):
        est = table.estimate([PriceQuery(provider, model, quality, "2048x2048")])
        assert est.total_usd is None and est.unknown_images == 1, model


def test_the_economy_price_uses_the_published_batch_price() -> None:
    table = PriceTable()
    est = table.estimate(
        [
            PriceQuery("gemini", "gemini-3.1-flash-image", "auto", "4096x4096", 2),
            PriceQuery("openai", "gpt-image-2", "high", "1024x1024", 2),
        ]
    )
    assert est.total_usd == pytest.approx(2 * 0.151 + 2 * 0.211)
    half = est.with_economy(economy_factors(["gemini", "openai"]), True)
    assert half.economy_usd == pytest.approx(0.151 + 0.211)  # Batch Mode / Batch API: half
    assert half.to_pay_usd == half.economy_usd
    # Gemini's comes from its published batch price, OpenAI's from the provider's factor
    other = est.with_economy({"gemini": 0.9, "openai": 0.9}, True)
    assert other.economy_usd == pytest.approx(2 * 0.0755 + 0.9 * 2 * 0.211)


def test_an_openai_edit_is_priced_at_list_price_in_economy() -> None:
    """OpenAI's Batch API takes no reference images (``Capabilities.batch_references``): in
    economy an edit is sent at once and paid in full, and the estimate says so (it said half,
    and a cap made from it stopped the run); Gemini's Batch Mode takes them."""
    table = PriceTable()
    est = table.estimate(
        [
            PriceQuery("openai", "gpt-image-2", "high", "1024x1024", 2),
            PriceQuery("openai", "gpt-image-2", "high", "1024x1024", 1, references=1),
            PriceQuery("gemini", "gemini-3.1-flash-image", "auto", "4096x4096", 1, references=1),
        ]
    )
    assert est.total_usd == pytest.approx(3 * 0.211 + 0.151)
    eco = est.with_economy(economy_factors(["gemini", "openai"]), True)
    assert eco.economy_usd == pytest.approx(0.211 + 0.211 + 0.0755)
    batch = OpenAIBatchApi(OpenAIProvider("k", "http://127.0.0.1:9/v1"))
    make = GenerationRequest("gpt-image-2", "x", "1024x1024", "high", "png")
    edit = dataclasses.replace(make, reference_images=(b"png",))
    assert not batch.accepts(edit) and batch.accepts(make)


def test_a_seedream_55_job_with_two_references_adds_their_charge(tmp_path: Path) -> None:
    q = PriceQuery("seedream", "seedream-5-5-261028", "auto", "2048x2048", 1, references=2)
    built_in = PriceTable().price_of(q)
    assert built_in.entry is not None and built_in.entry.usd_per_reference == 0.008
    assert built_in.usd is None  # the output price is not confirmed: unknown, never $0
    mine = tmp_path / "prices.json"
    entry = {"provider": "seedream", "model": "seedream-5-5-261028", "usd_per_image": 0.035}
    entry |= {"usd_per_reference": 0.008, "as_of": "2026-12-07", "source": "my invoice"}
    mine.write_text(json.dumps([entry]), encoding="utf-8")
    table = PriceTable.load(mine)
    assert table.price_of(q).usd == pytest.approx(0.035 + 2 * 0.008)
    est = table.estimate([q, PriceQuery("seedream", "seedream-5-5-261028", "auto", "2K", 2)])
    assert est.total_usd == pytest.approx(0.051 + 2 * 0.035)
    assert "+ $0.008 per reference image" in est.sources[0]


def test_gpt_image_2_is_billed_from_its_usage() -> None:
    usage = {
        "input_tokens": 1050,
        "input_tokens_details": {"text_tokens": 50, "image_tokens": 1000},
        "output_tokens": 4160,
    }
    usd = PriceTable().cost_from_usage("openai", "gpt-image-2", usage)
    assert usd == pytest.approx(50 * 5 / 1e6 + 1000 * 8 / 1e6 + 4160 * 30 / 1e6)


def test_a_job_with_more_references_than_the_model_takes_is_refused() -> None:
    from atelier.core.models import JobSpec
    from atelier.sheet.plan import Plan, check_plan

    refs = [f"r{i}.png" for i in range(11)]
    spec = JobSpec(prompt="p", output_path="p.jpeg", output_format="jpeg", size="2048x2048")
    spec = spec.model_copy(update={"reference_images": refs, "operation": "edit"})
    with pytest.raises(InputError, match=r"jobs\[0\]\.reference_images: .* at most 10 .* got 11"):
        check_plan(Plan([spec]), "seedream", "seedream-5-5-261028")
    fits = spec.model_copy(update={"reference_images": refs[:10]})
    check_plan(Plan([fits]), "seedream", "seedream-5-5-261028")
