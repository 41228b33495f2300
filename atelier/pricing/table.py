"""Prices with their date and source, estimates before a run and actual cost after it.

Every entry carries ``as_of`` and ``source``. A price that is not in the table is *unknown*
(``None``), never $0: the estimate then says how many images have no price. Users can override
or add entries in ``ATELIER_HOME/prices.json`` (a list of objects with the ``PriceEntry`` fields).
Each built-in ``source`` names the provider's own pricing page and says whether the figure was
seen there or only in third-party captures (the [V]/[3P] tags of ``shared/docs/providers.md``,
where the figures were gathered, 2026-06 to 2026-08).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from atelier.core.errors import InputError
from atelier.core.i18n import N_
from atelier.core.models import parse_size, problems_error, validation_problems
from atelier.pricing.estimate import Estimate, estimate_jobs


def size_tier(size: str) -> str:
    """``"1K"``, ``"2K"`` or ``"4K"`` by the longer side (≤1024, ≤2048, larger), as Gemini's
    ``imageSize`` tiers bill."""
    w, h = parse_size(size)
    side = max(w, h)
    return "1K" if side <= 1024 else "2K" if side <= 2048 else "4K"


def megapixels(size: str) -> float:
    """Width × height / 10⁶ (``auto`` counts as 1024²)."""
    w, h = parse_size(size)
    return w * h / 1_000_000


class PriceEntry(BaseModel):
    """A price for one provider/model/quality/size.

    ``size`` matches ``"*"``, an exact ``WxH``, or a tier ``1K``/``2K``/``4K`` (see
    ``size_tier``). ``unit`` is ``image`` (USD per image) or ``megapixel`` (USD per megapixel
    of output, as fal bills FLUX schnell/dev).
    """

    provider: str
    model: str
    quality: str = "*"
    size: str = "*"
    usd_per_image: float = Field(ge=0)
    unit: Literal["image", "megapixel"] = "image"
    as_of: str
    source: str

    def matches_size(self, size: str) -> bool:
        if self.size in ("*", size):
            return True
        return self.size in ("1K", "2K", "4K") and size_tier(size) == self.size

    def for_size(self, size: str) -> float:
        """USD for one image of ``size``."""
        return self.usd_per_image * (megapixels(size) if self.unit == "megapixel" else 1.0)


class TokenPrice(BaseModel):
    """USD per 1M tokens, used to bill from a response's ``usage`` (``None`` = unknown)."""

    provider: str
    model: str
    text_in: float | None
    image_in: float | None
    image_out: float | None
    as_of: str
    source: str


#: The providers' own pricing pages, named in every built-in price's ``source``.
PAGES = {
    "openai": "OpenAI API pricing, platform.openai.com/docs/pricing",
    "gemini": "Gemini API pricing, ai.google.dev/gemini-api/docs/pricing",
    "stability": "Stability AI pricing, platform.stability.ai/pricing",
    "fal": "fal.ai pricing, fal.ai/pricing",
    "replicate": "Replicate pricing, replicate.com/pricing",
    "bfl": "Black Forest Labs pricing, bfl.ai/pricing",
    "seedream": "BytePlus ModelArk pricing, byteplus.com/en/product/modelark",
    "ideogram": "Ideogram API pricing, ideogram.ai/features/api-pricing",
    "qwen": "Alibaba Cloud Model Studio pricing, alibabacloud.com/help/en/model-studio/models",
}
_SEEN = "seen on the page"
_THIRD = "a third-party capture of the page"
_OPENAI_SRC = PAGES["openai"]
_AS_OF = "2026-08"


def _openai_grid(model: str, grid: dict[str, tuple[float, float]], tag: str) -> list[PriceEntry]:
    out: list[PriceEntry] = []
    for quality, (square, tall) in grid.items():
        out.append(
            PriceEntry(
                provider="openai",
                model=model,
                quality=quality,
                size="1024x1024",
                usd_per_image=square,
                as_of=_AS_OF,
                source=f"{_OPENAI_SRC}, {tag}",
            )
        )
        for size in ("1024x1536", "1536x1024"):
            out.append(
                PriceEntry(
                    provider="openai",
                    model=model,
                    quality=quality,
                    size=size,
                    usd_per_image=tall,
                    as_of=_AS_OF,
                    source=f"{_OPENAI_SRC}, {tag}",
                )
            )
    return out


BUILTIN_PRICES: list[PriceEntry] = [
    PriceEntry(
        provider="draft",
        model="*",
        usd_per_image=0.0,
        as_of="2026-11",
        source=N_("offline placeholder rendered locally"),
    ),
    *_openai_grid(
        "gpt-image-1",
        {"low": (0.011, 0.016), "medium": (0.042, 0.063), "high": (0.167, 0.25)},
        _SEEN,
    ),
    *_openai_grid(
        "gpt-image-1-mini",
        {"low": (0.005, 0.006), "medium": (0.011, 0.015), "high": (0.036, 0.052)},
        _SEEN,
    ),
    *_openai_grid(
        "gpt-image-1.5",
        {"low": (0.009, 0.013), "medium": (0.034, 0.05), "high": (0.133, 0.20)},
        _THIRD,
    ),
]
# gpt-image-2 per image: OpenAI's price calculator as copied by third parties (shared/docs/
# providers.md "Catalogue as of 2026-12", gathered 2026-12-07); 1024x1536 and 1536x1024 cost less
# than 1024² there. Custom sizes have no per-image price: their cost comes from ``usage``.
BUILTIN_PRICES += [
    e.model_copy(update={"as_of": "2026-12"})
    for e in _openai_grid(
        "gpt-image-2",
        {"low": (0.006, 0.005), "medium": (0.053, 0.041), "high": (0.211, 0.165)},
        f"{_THIRD} (OpenAI's price calculator)",
    )
]

_P3 = _THIRD
_OTHER_PRICES = (
    # provider, model, size, USD, unit, as_of, source
    (
        "gemini",
        "gemini-2.5-flash-image",
        "*",
        0.039,
        "image",
        "2026-08",
        f"{PAGES['gemini']}, {_P3} (1290 tokens at $30/1M)",
    ),
    ("gemini", "gemini-3-pro-image", "1K", 0.134, "image", "2026-08", f"{PAGES['gemini']}, {_P3}"),
    ("gemini", "gemini-3-pro-image", "2K", 0.134, "image", "2026-08", f"{PAGES['gemini']}, {_P3}"),
    ("gemini", "gemini-3-pro-image", "4K", 0.24, "image", "2026-08", f"{PAGES['gemini']}, {_P3}"),
    (
        "gemini",
        "gemini-3.1-flash-image",
        "1K",
        0.067,
        "image",
        "2026-08",
        f"{PAGES['gemini']}, {_P3}, approximate",
    ),
    (
        "stability",
        "ultra",
        "*",
        0.08,
        "image",
        "2026-06",
        f"{PAGES['stability']} (1 credit = $0.01), {_P3}",
    ),
    ("stability", "sd3.5-large", "*", 0.065, "image", "2026-06", f"{PAGES['stability']}, {_P3}"),
    (
        "stability",
        "sd3.5-large-turbo",
        "*",
        0.04,
        "image",
        "2026-06",
        f"{PAGES['stability']}, {_P3}",
    ),
    ("stability", "sd3.5-medium", "*", 0.035, "image", "2026-06", f"{PAGES['stability']}, {_P3}"),
    ("stability", "core", "*", 0.03, "image", "2026-06", f"{PAGES['stability']}, {_P3}"),
    ("fal", "fal-ai/flux/schnell", "*", 0.003, "megapixel", "2026-08", f"{PAGES['fal']}, {_P3}"),
    ("fal", "fal-ai/flux/dev", "*", 0.025, "megapixel", "2026-08", f"{PAGES['fal']}, {_P3}"),
    ("fal", "fal-ai/flux-pro/v1.1", "*", 0.04, "image", "2026-08", f"{PAGES['fal']}, {_P3}"),
    ("fal", "fal-ai/flux-pro/v1.1-ultra", "*", 0.06, "image", "2026-08", f"{PAGES['fal']}, {_P3}"),
    (
        "fal",
        "fal-ai/bytedance/seedream/v4/text-to-image",
        "*",
        0.03,
        "image",
        "2026-08",
        f"{PAGES['fal']}, {_P3}",
    ),
    (
        "replicate",
        "black-forest-labs/flux-schnell",
        "*",
        0.003,
        "image",
        "2026-08",
        f"{PAGES['replicate']}, {_P3}",
    ),
    (
        "replicate",
        "black-forest-labs/flux-dev",
        "*",
        0.025,
        "image",
        "2026-08",
        f"{PAGES['replicate']}, {_P3}",
    ),
    (
        "replicate",
        "black-forest-labs/flux-1.1-pro",
        "*",
        0.04,
        "image",
        "2026-08",
        f"{PAGES['replicate']}, {_P3}",
    ),
    (
        "replicate",
        "bytedance/seedream-4",
        "*",
        0.03,
        "image",
        "2026-08",
        f"{PAGES['replicate']}, {_P3}",
    ),
    (
        "bfl",
        "flux-pro-1.1",
        "*",
        0.04,
        "image",
        "2026-08",
        f"{PAGES['bfl']}, {_SEEN}",
    ),
    (
        "bfl",
        "flux-pro-1.1-ultra",
        "*",
        0.06,
        "image",
        "2026-08",
        f"{PAGES['bfl']}, {_SEEN}",
    ),
    (
        "bfl",
        "flux-dev",
        "*",
        0.025,
        "image",
        "2026-08",
        f"{PAGES['bfl']}, {_SEEN}",
    ),
    (
        "seedream",
        "seedream-4-0-250828",
        "*",
        0.03,
        "image",
        "2026-08",
        f"{PAGES['seedream']}, {_P3}, approximate",
    ),
    (
        "a1111",
        "*",
        "*",
        0.0,
        "image",
        "2026-11",
        N_("self-hosted: no per-image charge (your own GPU)"),
    ),
    (
        "comfyui",
        "*",
        "*",
        0.0,
        "image",
        "2026-11",
        N_("self-hosted: no per-image charge (your own GPU)"),
    ),
    ("localai", "*", "*", 0.0, "image", "2026-11", N_("self-hosted: no per-image charge")),
)
# Ideogram 3.0 per image by rendering speed (``quality``; ``auto`` renders at DEFAULT): figures
# from developer.puter.com's copy (2026-06) of ideogram.ai/features/api-pricing (its table not
# seen). The transparent endpoint ("from $0.04") is not told apart here. Qwen-Image: ¥0.20 per
# image (Model Studio's Beijing price as copied by docs.crazyrouter.com), $0.0286 at that
# gateway's rate (2026-06-06); the international price was not found at the source.
_IDEOGRAM = f"{PAGES['ideogram']}, {_THIRD} (developer.puter.com, 2026-06)"
_QWEN = f"{PAGES['qwen']}, {_THIRD} (¥0.20 per image, docs.crazyrouter.com), approximate"
_SPEEDS = (("flash", 0.03), ("turbo", 0.03), ("default", 0.06), ("auto", 0.06), ("quality", 0.09))
BUILTIN_PRICES += [
    PriceEntry(provider="ideogram", model="ideogram-v3", quality=q, usd_per_image=usd,
               as_of="2026-06", source=_IDEOGRAM)
    for q, usd in _SPEEDS
] + [
    PriceEntry(provider="qwen", model=m, usd_per_image=0.0286, as_of="2026-06", source=_QWEN)
    for m in ("qwen-image-plus", "qwen-image")
]  # fmt: skip
BUILTIN_PRICES += [
    PriceEntry(provider=p, model=m, size=sz, usd_per_image=usd, unit=unit, as_of=as_of, source=src)
    for p, m, sz, usd, unit, as_of, src in _OTHER_PRICES
]

BUILTIN_TOKEN_PRICES: list[TokenPrice] = [
    TokenPrice(
        provider="gemini",
        model="gemini-2.5-flash-image",
        text_in=None,
        image_in=None,
        image_out=30,
        as_of=_AS_OF,
        source=f"{PAGES['gemini']}, {_THIRD}; image output tokens",
    ),
    TokenPrice(
        provider="openai",
        model="gpt-image-1",
        text_in=5,
        image_in=10,
        image_out=40,
        as_of=_AS_OF,
        source=f"{_OPENAI_SRC}, {_SEEN}",
    ),
    TokenPrice(
        provider="openai",
        model="gpt-image-1-mini",
        text_in=2,
        image_in=2.5,
        image_out=8,
        as_of=_AS_OF,
        source=f"{_OPENAI_SRC}, {_SEEN}",
    ),
    TokenPrice(
        provider="openai",
        model="gpt-image-1.5",
        # Text input $5/1M (cached $1.25), image input $8, image output $32: the model page's
        # table as quoted on 2026-03-27 by imagine.art ("GPT Image 1.5 Pricing", "officially
        # published pricing") and by docs.apiyi.com; the same $5 as gpt-image-1's own page.
        text_in=5,
        image_in=8,
        image_out=32,
        as_of="2026-03",
        source=f"{_OPENAI_SRC} (model page gpt-image-1.5), {_THIRD}",
    ),
    # gpt-image-2 and its 2.5/2.6 successors: text in $5 (cached $1.25), image in $8 (cached $2),
    # image out $30 per 1M tokens, passed through unchanged by fal and gateways (shared/docs/
    # providers.md "Catalogue as of 2026-12"; "same token rates" for 2.5 and 2.6 [3P]).
    *(
        TokenPrice(
            provider="openai",
            model=m,
            text_in=5,
            image_in=8,
            image_out=30,
            as_of="2026-12",
            source=f"{_OPENAI_SRC}, {_THIRD} (fal and API gateways)",
        )
        for m in (
            "gpt-image-2",
            "gpt-image-2.5-flare",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.6-flare",
            "gpt-image-2.6-sunburst",
        )
    ),
]


_STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")


class PriceTable:
    """Looks prices up; user overrides take precedence over built-ins."""

    def __init__(
        self, entries: list[PriceEntry] | None = None, token_prices: list[TokenPrice] | None = None
    ) -> None:
        self.entries = list(entries if entries is not None else BUILTIN_PRICES)
        self.token_prices = list(token_prices if token_prices is not None else BUILTIN_TOKEN_PRICES)

    @classmethod
    def load(cls, overrides: Path | None) -> PriceTable:
        """Built-ins plus the entries of ``overrides`` (a JSON list), if the file exists.

        Raises:
            InputError: naming the file and entry when an override is malformed.
        """
        table = cls()
        if overrides is None or not overrides.exists():
            return table
        try:
            raw = json.loads(overrides.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(str(overrides), f"cannot read price overrides: {e}") from e
        if not isinstance(raw, list):
            raise InputError(str(overrides), "price overrides must be a JSON list")
        for i, item in enumerate(raw):
            try:
                table.entries.insert(0, PriceEntry.model_validate(item))
            except ValidationError as e:
                raise problems_error(f"{overrides}: [{i}].", validation_problems(e)) from e
        return table

    def lookup(self, provider: str, model: str, quality: str, size: str) -> PriceEntry | None:
        """The first entry matching exactly or by ``"*"`` (sizes also by tier); ``None`` when
        unknown. ``quality="auto"`` has no fixed price (the provider picks), so it is unknown
        unless an entry says ``"auto"`` or ``"*"``. Size ``auto`` (none given: the provider
        chooses) without an entry of its own is priced as the dearest of the standard sizes
        (1024x1024, 1536x1024, 1024x1536), so the estimate never falls short."""
        for e in self.entries:
            if (
                e.provider == provider
                and e.model in (model, "*")
                and e.quality in (quality, "*")
                and e.matches_size(size)
            ):
                return e
        if size == "auto":
            found = [self.lookup(provider, model, quality, s) for s in _STANDARD_SIZES]
            priced = [e for e in found if e is not None]
            return max(priced, key=lambda e: e.usd_per_image) if priced else None
        return None

    def price_per_image(self, provider: str, model: str, quality: str, size: str) -> float | None:
        """USD for one image (per-megapixel entries scaled by ``size``), ``None`` if unknown."""
        e = self.lookup(provider, model, quality, size)
        return None if e is None else e.for_size(size)

    def estimate(self, provider: str, model: str, jobs: list[tuple[str, str, int]]) -> Estimate:
        """Estimate ``jobs`` given as ``(quality, size, images)`` triples on one model."""
        return self.estimate_mixed([(provider, model, q, s, n) for q, s, n in jobs])

    def estimate_mixed(self, jobs: list[tuple[str, str, str, str, int]]) -> Estimate:
        """Estimate ``(provider, model, quality, size, images)`` tuples (mixed-provider batches);
        see ``atelier.pricing.estimate.estimate_jobs``."""
        return estimate_jobs(self.lookup, jobs)

    def cost_from_usage(self, provider: str, model: str, usage: dict[str, object]) -> float | None:
        """USD billed for one response from its ``usage`` block (OpenAI Images format).

        Returns ``None`` when the model's token prices (or the usage fields) are unknown.
        """
        tp = next(
            (t for t in self.token_prices if t.provider == provider and t.model == model), None
        )
        if tp is None:
            return None
        try:
            out_tokens = int(usage.get("output_tokens", 0))  # type: ignore[call-overload]
            details = usage.get("input_tokens_details") or {}
            if isinstance(details, dict) and details:
                text_in = int(details.get("text_tokens", 0))
                image_in = int(details.get("image_tokens", 0))
            else:
                text_in = int(usage.get("input_tokens", 0))  # type: ignore[call-overload]
                image_in = 0
        except (TypeError, ValueError):
            return None
        total = 0.0
        for tokens, price in (
            (text_in, tp.text_in),
            (image_in, tp.image_in),
            (out_tokens, tp.image_out),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price / 1_000_000
        return round(total, 6)
