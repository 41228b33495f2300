"""docs/providers.md is generated from the capabilities and prices; it must be current."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from atelier.pricing.table import PriceTable
from atelier.providers.registry import PROVIDERS
from tests.conftest import REPO


def test_provider_doc_is_current() -> None:
    res = subprocess.run(
        [sys.executable, "scripts/provider_matrix.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr


def test_every_priced_model_exists_and_every_entry_is_dated() -> None:
    for e in PriceTable().entries:
        assert e.as_of and e.source
        if e.model != "*":
            caps = PROVIDERS[e.provider].capabilities
            assert caps.model(e.model) is not None, (
                f"price for unknown model {e.provider}/{e.model}"
            )


def test_capabilities_are_consistent() -> None:
    for name, cls in PROVIDERS.items():
        c = cls.capabilities
        assert c.name == name and c.models
        for m in c.models:
            assert m.max_samples_per_request >= 1
            assert m.sizes or m.custom_size_multiple


def test_the_doc_is_rendered_from_the_catalogue_data(monkeypatch: Any) -> None:
    import importlib.util

    from atelier.providers import catalogue

    spec = importlib.util.spec_from_file_location(
        "provider_matrix", REPO / "scripts" / "provider_matrix.py"
    )
    assert spec is not None and spec.loader is not None
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    doc = (REPO / "docs" / "providers.md").read_text(encoding="utf-8")
    cat = catalogue.builtin()
    for m in cat.model:
        assert f"`{m.id}`" in doc, m.id
        if m.shutdown:
            assert f"{m.shutdown} → `{m.successor}`" in doc
        for p in m.price:
            assert p.source in doc and p.as_of in doc
    assert "| $0.0755 |" in doc  # Nano Banana 2 at 4K in Batch Mode
    assert "| $0.008 |" in doc  # Seedream 5.5, per reference image
    # A changed figure in the data is a changed document.
    first = cat.model[0]
    cheaper = first.price[0].model_copy(update={"usd": 0.0001, "as_of": "2027-01-02"})
    changed = cat.model_copy(
        update={"model": (first.model_copy(update={"price": (cheaper,)}), *cat.model[1:])}
    )
    monkeypatch.setattr(catalogue, "builtin", lambda: changed)
    text = matrix.render()
    assert "$0.0001 per image" in text and "2027-01-02" in text and text != doc


def test_a_provider_that_sends_one_reference_refuses_a_second_at_the_door() -> None:
    """Stability, fal's and Replicate's Kontext and A1111 send the first reference image only:
    a job with two is refused before anything is paid, never sent with one dropped."""
    from atelier.core.models import JobSpec
    from atelier.providers.registry import PROVIDERS

    spec = JobSpec(
        prompt="x", output_path="x.png", operation="edit", reference_images=["a.png", "b.png"]
    )
    for provider, model in (
        ("stability", "ultra"),
        ("fal", "fal-ai/flux-pro/kontext"),
        ("replicate", "black-forest-labs/flux-kontext-pro"),
        ("a1111", "current"),
        ("bfl", "flux-kontext-pro"),
    ):
        info = PROVIDERS[provider].capabilities.model(model)
        assert info is not None
        assert [f for f, _ in info.check(spec)] == ["reference_images"], (provider, model)
