"""Which ``JobSpec`` fields each projection of a job carries, and why the others stay out.

A job (``atelier.core.models.JobSpec``) is projected four ways: the provider request
(``atelier.providers.base.GenerationRequest.from_spec``), the content key that lets an
identical request copy an earlier image at $0 (``atelier.pricing.reuse.request_key``, also
``atelier.sheet.plan.Plan.distinct_prompts``), the metadata embedded in every image
(``atelier.output.images.image_metadata``) and the key that lets a file found after a crash
be adopted as this job's (``atelier.output.images.job_key``). Each projection is built from
its list here, and every ``JobSpec`` field is either in a list or named, with a reason, in
that projection's ``left_out``: ``tests/core/test_spec_fields.py`` fails when ``JobSpec``
gains a field that a projection does not mention. A field missed by the reuse key would
hand a user an image made for another request, at $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class Projection:
    """One projection of a ``JobSpec``.

    Attributes:
        name: what it is, for test messages (``reuse key``).
        fields: the ``JobSpec`` fields it carries, in the order it uses them.
        left_out: every other ``JobSpec`` field, mapped to why it is not carried.
    """

    name: str
    fields: tuple[str, ...]
    left_out: MappingProxyType[str, str]

    def mentioned(self) -> set[str]:
        """Every field this projection decides on (carried or left out)."""
        return set(self.fields) | set(self.left_out)


def _frozen(reasons: dict[str, str]) -> MappingProxyType[str, str]:
    return MappingProxyType(reasons)


_RESOLVED = "the job's own choice; the projection takes the resolved provider and model"
_BOOKKEEPING = "where the job came from in the spreadsheet, not what it asks for"

IMAGE: Final = Projection(
    "reuse key",
    (
        "prompt",
        "negative_prompt",
        "size",
        "quality",
        "output_format",
        "transparent_background",
        "moderation",
        "seed",
        "operation",
        "style_preset",
        "input_fidelity",
        "complexity",
        "reference_images",
        "mask",
    ),
    _frozen(
        {
            "output_path": "the file name: two names for one request are one image",
            "sample_count": "each sample is its own image key (reuse.image_key(key, n))",
            "row_index": _BOOKKEEPING,
            "row_indexes": _BOOKKEEPING,
            "row_values": "the row's other cells; no paid provider receives them (only the "
            "free draft provider draws them on its placeholder)",
            "provider": _RESOLVED,
            "model": _RESOLVED,
        }
    ),
)
"""The fields that decide which image comes back: the request key of
``atelier.pricing.reuse`` (with the resolved provider, model and provider options) and the
distinct-prompt count of a plan. Adding a field here changes every stored key (earlier
images are then made again, never copied wrongly), unless it is in ``IMAGE_WHEN_SET``."""

IMAGE_WHEN_SET: Final = ("complexity",)
"""Fields of ``IMAGE`` added after its first version, in a request key only when set (not
``None``): a job that does not set one asks for what a job before the field asked for, so
the keys stored before it was added stay valid (and their images are copied, not bought
again)."""

REQUEST: Final = Projection(
    "provider request",
    (
        "prompt",
        "size",
        "quality",
        "output_format",
        "negative_prompt",
        "transparent_background",
        "moderation",
        "seed",
        "row_values",
        "operation",
        "style_preset",
        "input_fidelity",
        "complexity",
    ),
    _frozen(
        {
            "reference_images": "sent as bytes the job run reads from the paths or URLs",
            "mask": "sent as bytes the job run reads from the path or URL",
            "sample_count": "the request asks for the samples still to make (``n``)",
            "output_path": "the file name stays local",
            "row_index": _BOOKKEEPING,
            "row_indexes": _BOOKKEEPING,
            "provider": "picks the provider object; not part of its request",
            "model": _RESOLVED,
        }
    ),
)
"""The fields ``GenerationRequest.from_spec`` copies by name."""

METADATA: Final = Projection(
    "image metadata",
    ("prompt", "negative_prompt", "size", "quality", "output_format", "operation", "seed"),
    _frozen(
        {
            "transparent_background": "not embedded (metadata format v1); the file's alpha "
            "channel shows it",
            "moderation": "not embedded (metadata format v1): a filter setting, not a "
            "parameter of the picture",
            "style_preset": "not embedded (metadata format v1)",
            "input_fidelity": "not embedded (metadata format v1)",
            "complexity": "not embedded (metadata format v1)",
            "reference_images": "local paths or addresses: not written into a file that "
            "leaves the machine",
            "mask": "a local path or address: not written into a file that leaves the machine",
            "sample_count": "the image carries its own 1-based sample number instead",
            "output_path": "the file's own name",
            "row_index": _BOOKKEEPING,
            "row_indexes": _BOOKKEEPING,
            "row_values": "the row's other cells (prices, SKUs, notes) are not written into "
            "a file a customer may download",
            "provider": _RESOLVED,
            "model": _RESOLVED,
        }
    ),
)
"""The fields ``atelier.output.images.image_metadata`` embeds; ``seed`` is the provider's
when it reported one, else the job's."""

JOB_KEY: Final = Projection(
    "adoption key",
    (
        "prompt",
        "negative_prompt",
        "size",
        "quality",
        "output_format",
        "transparent_background",
        "seed",
        "output_path",
    ),
    _frozen(
        {
            "moderation": "not in the adoption key (v1): adding a field changes every key, "
            "and files written before would be made again instead of adopted",
            "operation": "not in the adoption key (v1), see moderation; a job's operation "
            "comes with its reference images, which a new version writes under new names",
            "style_preset": "not in the adoption key (v1), see moderation",
            "input_fidelity": "not in the adoption key (v1), see moderation",
            "complexity": "not in the adoption key (v1), see moderation",
            "reference_images": "not in the adoption key (v1), see operation",
            "mask": "not in the adoption key (v1), see operation",
            "sample_count": "the key takes the sample number instead",
            "row_index": _BOOKKEEPING,
            "row_indexes": _BOOKKEEPING,
            "row_values": "the row's other cells; the output path already names the row",
            "provider": _RESOLVED,
            "model": _RESOLVED,
        }
    ),
)
"""The fields of ``atelier.output.images.job_key``, in its order (the sample number goes
between ``seed`` and ``output_path``)."""

PROJECTIONS: Final = (IMAGE, REQUEST, METADATA, JOB_KEY)
"""Every projection of a ``JobSpec``: each must mention every field."""
