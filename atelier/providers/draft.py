"""``draft``: an honest offline placeholder, rendered locally with Pillow, costing $0.

Each image shows the prompt, the negative prompt and the spreadsheet row on a gradient whose
colours come from the seed (or, without a seed, from the prompt), at the requested size and
format, and says plainly that it is a draft. Designers rehearse a batch with it before paying.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import random
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from atelier.core.i18n import N_, current_language
from atelier.core.models import parse_size
from atelier.core.provider_access import PROVIDER_ACCESS
from atelier.providers.base import (
    Capabilities,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Provider,
)

_FONT_CANDIDATES = (
    # CJK-capable first so Japanese, Chinese and Korean row values are drawn, not boxes.
    # (fonts with both Latin and CJK glyphs; DroidSansFallback has no Latin, so it is not listed)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
    "C:/Windows/Fonts/msgothic.ttc",
    "C:/Windows/Fonts/YuGothM.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

DRAFT_SIZES = (
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "512x512",
    "768x768",
    "1792x1024",
    "1024x1792",
    "auto",
)


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The first installed font able to draw CJK (else DejaVu), or ``None`` for Pillow's own."""
    env = os.environ.get("ATELIER_DRAFT_FONT")
    if env and Path(env).exists():
        return env
    return next((p for p in _FONT_CANDIDATES if Path(p).exists()), None)


_CJK_FACES = {"ja": 0, "ko": 1, "zh_Hans": 2, "zh_Hant": 3}
"""Face index per language in Noto Sans CJK's collection (``NotoSansCJK-Regular.ttc``: JP, KR,
SC, TC, HK, then the Mono faces): one file, each language's own glyph forms for the same Han
code points (直, 骨, 海 differ between Japan, China and Taiwan)."""


def text_language(text: str, default: str = "ja") -> str:
    """The CJK language whose glyph forms ``text`` should be drawn in: Korean where it holds
    Hangul, Japanese where it holds kana, else ``default`` (the language in force when it is
    Chinese, since Han characters alone do not tell Chinese from Japanese)."""
    for c in text:
        o = ord(c)
        if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            return "ko"
        if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
            return "ja"
    return default


def _face(text: str) -> int:
    path = font_path() or ""
    if not Path(path).name.startswith("NotoSansCJK"):
        return 0  # a single-face font
    lang = current_language()
    return _CJK_FACES[text_language(text, lang if lang in _CJK_FACES else "ja")]


@lru_cache(maxsize=32)
def _font(size: int, face: int = 0) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path()
    if path:
        return ImageFont.truetype(path, size, index=face)
    return ImageFont.load_default(size)


def _drawable(text: str) -> str:
    """``text`` with control characters (U+0000–U+001F, U+007F–U+009F; a spreadsheet cell can
    hold U+001D) shown as U+FFFD: Pillow's text layout (raqm) raises on them."""
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_w: int) -> list[str]:
    """Wrap by measured pixel width: at spaces for Latin text, anywhere for CJK (no spaces)."""
    text = _drawable(text.replace("\n", " "))
    lines: list[str] = []
    line = ""
    for word in text.replace("\n", " ").split(" "):
        cand = f"{line} {word}" if line else word
        if font.getlength(cand) <= max_w:
            line = cand
            continue
        if line:
            lines.append(line)
            line = ""
        for ch in word:  # a word wider than the line (CJK runs): break between characters
            if font.getlength(line + ch) > max_w and line:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return lines


def _seed_for(req: GenerationRequest, sample: int) -> int:
    if req.seed is not None:
        return req.seed + sample
    digest = hashlib.sha256(f"{req.prompt}\x00{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _background(req: GenerationRequest, w: int, h: int, rnd: random.Random) -> Image.Image:
    """Seeded colours; over the reference image (fitted to ``w``×``h``) for an edit; a
    transparent margin around an opaque card when transparency was asked for."""
    c1 = tuple(rnd.randrange(40, 200) for _ in range(3))
    c2 = tuple(rnd.randrange(40, 200) for _ in range(3))
    if req.reference_images:
        with Image.open(io.BytesIO(req.reference_images[0])) as ref:
            base = ImageOps.fit(ref.convert("RGB"), (w, h), Image.Resampling.LANCZOS)
        veil = Image.new("RGB", (w, h), c1)
        img = Image.blend(base, veil, 0.35).convert("RGBA")
    else:
        grad = Image.linear_gradient("L").resize((w, h))
        img = ImageOps.colorize(grad, c1, c2).convert("RGBA")
    if req.transparent_background:
        alpha = Image.new("L", (w, h), 0)
        ImageDraw.Draw(alpha).rounded_rectangle(
            (w // 12, h // 12, w - w // 12, h - h // 12), radius=max(8, w // 24), fill=255
        )
        img.putalpha(alpha)
    return img


def _draw_text(img: Image.Image, req: GenerationRequest, sample: int, seed: int) -> None:
    """The label line, the prompt, the negative prompt and the row's values, wrapped."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    margin = max(12, w // 14)
    base_size = max(12, min(w, h) // 26)
    y = margin
    face = _face(req.prompt + "".join(req.row_values.values()))

    def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return _font(size, face)

    label = "DRAFT EDIT" if req.reference_images else "DRAFT"
    d.text(
        (margin, y),
        _drawable(f"{label} · {req.size} · sample {sample + 1} · seed {seed}"),
        font=font(max(10, base_size * 3 // 4)),
        fill=(255, 255, 255, 230),
    )
    y += base_size * 2
    max_w = w - 2 * margin
    for line in _wrap(req.prompt, font(base_size), max_w)[:12]:
        d.text((margin, y), line, font=font(base_size), fill=(255, 255, 255, 255))
        y += int(base_size * 1.35)
    if req.negative_prompt:
        y += base_size // 2
        for line in _wrap("negative: " + req.negative_prompt, font(base_size * 3 // 4), max_w)[:3]:
            d.text((margin, y), line, font=font(base_size * 3 // 4), fill=(255, 220, 220, 255))
            y += base_size
    y += base_size // 2
    small = font(max(10, base_size * 2 // 3))
    for k, v in list(req.row_values.items())[:14]:
        if not v or y > h - margin - base_size:
            continue
        d.text(
            (margin, y), _wrap(f"{k}: {v}", small, max_w)[0], font=small, fill=(235, 235, 235, 255)
        )
        y += int(base_size * 0.95)


def render_draft(req: GenerationRequest, sample: int) -> GeneratedImage:
    """Render sample ``sample`` of ``req`` and encode it in ``req.output_format``.

    With a reference image (edit/transform) the reference, fitted to the requested size, is
    the background, dimmed where the mask is transparent would be edited; the text is drawn over
    it, so a rehearsal shows which picture each row edits.
    """
    w, h = parse_size(req.size)
    seed = _seed_for(req, sample)
    img = _background(req, w, h, random.Random(seed))
    _draw_text(img, req, sample, seed)
    buf = io.BytesIO()
    fmt = req.output_format
    if fmt == "jpeg":
        img.convert("RGB").save(buf, "JPEG", quality=88)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=88)
    else:
        img.save(buf, "PNG", compress_level=1)
    return GeneratedImage(buf.getvalue(), f"image/{fmt}", seed)


_ALL_QUALITIES = ("auto", "low", "medium", "high")

CAPABILITIES = Capabilities(
    name="draft",
    label="Draft",
    description=N_("offline, free"),
    models=(
        ModelInfo(
            "draft",
            "Draft placeholder",
            DRAFT_SIZES,
            _ALL_QUALITIES,
            custom_size_multiple=8,
            max_width=4096,
            max_height=4096,
            edits=True,
            masks=True,
        ),
    ),
    needs_key=False,
    key_env_var=PROVIDER_ACCESS["draft"].key_env_var,
    base_url_env_var=PROVIDER_ACCESS["draft"].base_url_env_var,
    default_base_url=PROVIDER_ACCESS["draft"].default_base_url,
    negative_prompt=True,
    seed=True,
    edits=True,
    default_concurrency=2,
    any_model=True,
)


class DraftProvider(Provider):
    """Renders placeholders off the event loop (Pillow releases the GIL while encoding)."""

    capabilities = CAPABILITIES

    def __init__(
        self, api_key: str | None = None, base_url: str | None = None, delay_ms: int = 0
    ) -> None:
        super().__init__(api_key, base_url)
        self.delay_ms = delay_ms

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Render ``request.n`` placeholders; never fails for a valid request."""
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        images = await asyncio.to_thread(
            lambda: [render_draft(request, request.first_sample + i) for i in range(request.n)]
        )
        return GenerationResult(images=images)
