"""docs/providers.md is generated from the capabilities and prices; it must be current."""

from __future__ import annotations

import subprocess
import sys

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
