"""Every projection of a ``JobSpec`` decides on every field (``atelier.core.spec_fields``).

A field ``JobSpec`` gains without a decision fails here: in the reuse key it would hand a user
an image made for another request, at $0.
"""

from __future__ import annotations

from typing import Any

import pytest

from atelier.core.models import JobSpec
from atelier.core.spec_fields import IMAGE, JOB_KEY, METADATA, PROJECTIONS, REQUEST, Projection
from atelier.output.images import image_metadata, job_key
from atelier.pricing.reuse import request_key
from atelier.providers.base import GenerationRequest
from atelier.sheet.plan import Plan

BASE: dict[str, Any] = {
    "prompt": "a red cup",
    "negative_prompt": "blur",
    "output_path": "cups/red.png",
    "size": "1536x1024",
    "quality": "high",
    "output_format": "webp",
    "transparent_background": True,
    "moderation": "low",
    "sample_count": 2,
    "seed": 7,
    "row_index": 3,
    "row_values": {"sku": "R1"},
    "style_preset": "photographic",
    "input_fidelity": "high",
    "complexity": "medium",
    "operation": "edit",
    "reference_images": ["https://example.com/a.png"],
    "mask": "https://example.com/m.png",
}

OTHER: dict[str, Any] = {
    "prompt": "a blue cup",
    "negative_prompt": "noise",
    "output_path": "cups/blue.png",
    "size": "1024x1024",
    "quality": "low",
    "output_format": "png",
    "transparent_background": False,
    "moderation": "auto",
    "sample_count": 3,
    "seed": 8,
    "row_index": 4,
    "row_indexes": [4, 5],
    "row_values": {"sku": "B1"},
    "provider": "fal",
    "model": "flux",
    "operation": "transform",
    "reference_images": ["https://example.com/b.png"],
    "mask": "https://example.com/n.png",
    "style_preset": "anime",
    "input_fidelity": "low",
    "complexity": "high",
}
"""A different valid value for every field (``transform`` takes no mask: see ``_changed``)."""


def _changed(name: str) -> JobSpec:
    update = {name: OTHER[name]}
    if name == "operation":
        update["mask"] = None
    return JobSpec.model_validate(BASE | update)


@pytest.mark.parametrize("projection", PROJECTIONS, ids=lambda p: p.name)
def test_every_jobspec_field_is_declared(projection: Projection) -> None:
    fields = set(JobSpec.model_fields)
    undeclared = fields - projection.mentioned()
    assert not undeclared, (
        f"JobSpec fields {sorted(undeclared)} are neither carried by the {projection.name} nor "
        "left out with a reason: decide in atelier/core/spec_fields.py"
    )
    assert not projection.mentioned() - fields, "declared fields JobSpec no longer has"
    assert not set(projection.fields) & set(projection.left_out), "carried and left out"
    assert all(reason.strip() for reason in projection.left_out.values())


def test_every_field_has_another_value() -> None:
    # The tests below vary each field; a new one needs a second value here.
    assert set(OTHER) == set(JobSpec.model_fields)


@pytest.mark.parametrize("name", sorted(JobSpec.model_fields))
def test_reuse_key_follows_the_declaration(name: str) -> None:
    base, changed = JobSpec.model_validate(BASE), _changed(name)
    same = request_key("openai", "m", base, {}) == request_key("openai", "m", changed, {})
    if name == "operation":  # it also drops the mask: the key must change either way
        assert not same
    else:
        assert same == (name not in IMAGE.fields), name
    distinct = Plan([base, changed]).distinct_prompts
    assert distinct == (1 if same and name not in ("provider", "model") else 2), name


@pytest.mark.parametrize("name", sorted(JobSpec.model_fields))
def test_job_key_and_metadata_follow_the_declaration(name: str) -> None:
    base, changed = JobSpec.model_validate(BASE), _changed(name)
    key_same = job_key("openai", "m", base, 0) == job_key("openai", "m", changed, 0)
    assert key_same == (name not in JOB_KEY.fields), name
    meta = image_metadata("openai", "m", base, 0, None, None)
    other = image_metadata("openai", "m", changed, 0, None, None)
    meta_same = {k: v for k, v in meta.items() if k != "job_key"} == {
        k: v for k, v in other.items() if k != "job_key"
    }
    assert meta_same == (name not in METADATA.fields), name


@pytest.mark.parametrize("name", sorted(JobSpec.model_fields))
def test_request_follows_the_declaration(name: str) -> None:
    def request(spec: JobSpec) -> GenerationRequest:
        return GenerationRequest.from_spec(spec, model="m", samples=[1, 2], retry=1)

    base, changed = request(JobSpec.model_validate(BASE)), request(_changed(name))
    assert (base == changed) == (name not in REQUEST.fields), name
    assert (base.n, base.first_sample, base.retry, base.model) == (2, 1, 1, "m")


def test_keys_unchanged_from_version_1() -> None:
    # Computed before the keys were built from the declarations (commit 2ab50fc): images
    # and files made before still match. A job as version 1 knew it: no field added since
    # (``IMAGE_WHEN_SET``: in a key only when set).
    spec = JobSpec.model_validate({k: v for k, v in BASE.items() if k != "complexity"})
    key = request_key("openai", "gpt-image-1", spec, {"openai": {"x": 1}})
    assert key == "140ea542a064975dbba418422dbd9ee112bae9c2b0e16170298bc6b64a297ee9"
    assert job_key("openai", "gpt-image-1", spec, 1) == "c250d733e126cc4ba69be37f16ce2cbc"
    meta = image_metadata("openai", "gpt-image-1", spec, 1, None, "rev")
    assert meta.pop("generator").startswith("Atelier ")
    assert meta == {
        "job_key": "c250d733e126cc4ba69be37f16ce2cbc",
        "model": "gpt-image-1",
        "negative_prompt": "blur",
        "operation": "edit",
        "output_format": "webp",
        "prompt": "a red cup",
        "provider": "openai",
        "quality": "high",
        "revised_prompt": "rev",
        "sample": 2,
        "seed": 7,
        "size": "1536x1024",
    }
