"""Crafted images for the quality checks on save (``atelier.output.qa``), and a provider that
returns them.

* Builders: ``photo_like`` (random shapes, gradients and grain: stands for a real render),
  ``product_on_white`` (an object filling ``share`` of a white frame), ``flat`` (one colour,
  optionally with Gaussian noise of ``sigma``, as a failed "grey" render), ``transparent``.
* ``CraftedProvider``: a real ``Provider`` subclass priced as OpenAI's ``gpt-image-1.5`` (its
  capabilities are OpenAI's), whose images come from ``CraftedProvider.script``: per prompt, a
  list of images handed out one per request sample in order (the last one repeats).
"""

from __future__ import annotations

import io
import random
from typing import ClassVar

from PIL import Image, ImageDraw, ImageFilter

from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Provider,
)
from atelier.providers.openai import CAPABILITIES as OPENAI_CAPABILITIES


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    """``img`` as file bytes."""
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo_like(seed: int, size: tuple[int, int] = (256, 256)) -> Image.Image:
    """A busy, photo-like RGB image: a gradient, 12 random shapes, blur and grain; each seed
    its own picture."""
    rng = random.Random(seed)
    w, h = size
    a = [rng.randrange(256) for _ in range(3)]
    b = [rng.randrange(256) for _ in range(3)]
    grad = Image.linear_gradient("L").resize(size).rotate(rng.randrange(360))
    img = Image.composite(Image.new("RGB", size, tuple(a)), Image.new("RGB", size, tuple(b)), grad)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = (x0, y0, x0 + rng.randrange(w // 8, w // 2), y0 + rng.randrange(h // 8, h // 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    noise = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(img, noise, 0.08)


def product_on_white(
    share: float, size: tuple[int, int] = (256, 256), seed: int = 0
) -> Image.Image:
    """A white frame with a coloured object covering about ``share`` of it, centred."""
    img = Image.new("RGB", size, (255, 255, 255))
    w, h = size
    side = (share * w * h) ** 0.5
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    obj = photo_like(seed, (max(1, int(side)), max(1, int(side))))
    img.paste(obj, (int(box[0]), int(box[1])))
    return img


def flat(
    colour: tuple[int, int, int], size: tuple[int, int] = (256, 256), sigma: float = 0.0
) -> Image.Image:
    """One colour; with ``sigma``, Gaussian grain of that standard deviation (per pixel)."""
    img = Image.new("RGB", size, colour)
    if sigma:
        noise = Image.effect_noise(size, sigma)  # mean 128
        layers = [
            Image.eval(
                Image.merge("RGB", (noise, noise, noise)).getchannel(i),
                lambda v, c=c: max(0, min(255, v - 128 + c)),
            )
            for i, c in enumerate(colour)
        ]
        img = Image.merge("RGB", layers)
    return img


def transparent(size: tuple[int, int] = (256, 256)) -> Image.Image:
    """A fully transparent RGBA image (what a failed transparent-background render returns)."""
    return Image.new("RGBA", size, (0, 0, 0, 0))


CRAFTED_CAPABILITIES = Capabilities(
    name="openai",  # priced as OpenAI: every request costs money
    label="Crafted",
    models=OPENAI_CAPABILITIES.models,
    needs_key=False,
    key_env_var=None,
    base_url_env_var=None,
    default_base_url="offline",
    default_concurrency=4,
)


class CraftedProvider(Provider):
    """Returns the images ``script`` lists for a prompt, one per sample, in order (the last
    repeats); a prompt without a script gets ``photo_like`` images, each its own. Counts calls."""

    capabilities: ClassVar[Capabilities] = CRAFTED_CAPABILITIES
    script: ClassVar[dict[str, list[bytes]]] = {}

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        super().__init__(api_key, base_url)
        self.calls: dict[str, int] = {}
        self.seeds: list[int | None] = []
        self._served: dict[str, int] = {}

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls[request.prompt] = self.calls.get(request.prompt, 0) + 1
        self.seeds.append(request.seed)
        images = []
        for _ in range(request.n):
            k = self._served.get(request.prompt, 0)
            self._served[request.prompt] = k + 1
            listed = self.script.get(request.prompt)
            if listed:
                data = listed[min(k, len(listed) - 1)]
            else:
                w, h = (int(v) for v in request.size.split("x"))
                seed = hash((request.prompt, k)) & 0xFFFF
                data = encode(photo_like(seed, (w, h)))
            images.append(GeneratedImage(data, "image/png"))
        return GenerationResult(images, request_id=f"crafted-{request.prompt}")
