"""The Ideogram 3.0 dialect (developer.ideogram.ai API reference, "Generate with Ideogram 3.0"
and "… (Transparent Background)"): ``POST /v1/ideogram-v3/generate`` and
``POST /v1/ideogram-v3/generate-transparent``, header ``Api-Key``, ``multipart/form-data``;
200 ``{"created", "data": [{"prompt", "resolution", "is_image_safe", "seed", "url",
"style_type"}]}`` with ephemeral image URLs.

Validation as documented: ``prompt`` required; ``resolution`` from the 3.0 list and not with
``aspect_ratio``; ``aspect_ratio`` ``WxH`` ratios; ``rendering_speed`` FLASH | TURBO | DEFAULT |
QUALITY (FLASH answers 400 on the transparent endpoint); ``num_images`` 1–8; ``magic_prompt``
AUTO | ON | OFF; ``style_type`` AUTO | GENERAL | REALISTIC | DESIGN | FICTION (generate only).
Error bodies ``{"error": …}`` (third-party quotes of Ideogram's answers).

Behaviours: ``ok``, ``unsafe`` (``is_image_safe: false``, no URL), ``safety`` (422), ``auth``
(401), ``429`` (with ``Retry-After``), ``500``, ``503``, ``expired`` (the image URL has already
expired), ``url_at:URL`` (the image URL is that one, on another host); the framework's
transport faults.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from tests.fakes.framework import Dialect, Request, Response

RESOLUTIONS = frozenset(
    [
        "512x1536",
        "576x1408",
        "576x1472",
        "576x1536",
        "640x1344",
        "640x1408",
        "640x1472",
        "640x1536",
        "704x1152",
        "704x1216",
        "704x1280",
        "704x1344",
        "704x1408",
        "704x1472",
        "736x1312",
        "768x1088",
        "768x1216",
        "768x1280",
        "768x1344",
        "800x1280",
        "832x960",
        "832x1024",
        "832x1088",
        "832x1152",
        "832x1216",
        "832x1248",
        "864x1152",
        "896x960",
        "896x1024",
        "896x1088",
        "896x1120",
        "896x1152",
        "960x832",
        "960x896",
        "960x1024",
        "960x1088",
        "1024x832",
        "1024x896",
        "1024x960",
        "1024x1024",
        "1088x768",
        "1088x832",
        "1088x896",
        "1088x960",
        "1120x896",
        "1152x704",
        "1152x832",
        "1152x864",
        "1152x896",
        "1216x704",
        "1216x768",
        "1216x832",
        "1248x832",
        "1280x704",
        "1280x768",
        "1280x800",
        "1312x736",
        "1344x640",
        "1344x704",
        "1344x768",
        "1408x576",
        "1408x640",
        "1408x704",
        "1472x576",
        "1472x640",
        "1472x704",
        "1536x512",
        "1536x576",
        "1536x640",
    ]
)
RATIOS = {
    "1x3": (512, 1536), "3x1": (1536, 512), "1x2": (704, 1408), "2x1": (1408, 704),
    "9x16": (736, 1312), "16x9": (1312, 736), "10x16": (800, 1280), "16x10": (1280, 800),
    "2x3": (832, 1248), "3x2": (1248, 832), "3x4": (864, 1152), "4x3": (1152, 864),
    "4x5": (896, 1120), "5x4": (1120, 896), "1x1": (1024, 1024),
}  # fmt: skip
SPEEDS = ("FLASH", "TURBO", "DEFAULT", "QUALITY")
STYLES = ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION")
ROUTES = ("/v1/ideogram-v3/generate", "/v1/ideogram-v3/generate-transparent")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json(status, {"error": message}, headers)


class IdeogramDialect(Dialect):
    name = "ideogram"

    def prompt_of(self, req: Request) -> str | None:
        if req.method == "POST" and req.path in ROUTES:
            try:
                return req.form()[0].get("prompt", "")
            except Exception:  # not multipart: the handler says so
                return ""
        return None

    def handle(self, req: Request, behaviour: str) -> Response:
        if req.method != "POST" or req.path not in ROUTES:
            return Response.json(404, {"detail": "Not Found"})
        if self.fake.api_key is not None and req.headers.get("api-key") != self.fake.api_key:
            return _error(401, "Unauthorized")
        simple = {
            "auth": _error(401, "Unauthorized"),
            "safety": _error(422, "Prompt or provided image failed the safety checks"),
            "429": _error(429, "Too many requests", {"Retry-After": "1"}),
            "500": _error(500, "Internal server error"),
            "503": _error(503, "Service unavailable"),
        }
        if behaviour in simple:
            return simple[behaviour]
        if "multipart/form-data" not in req.headers.get("content-type", ""):
            return _error(400, "Request must be multipart/form-data")
        fields, _files = req.form()
        transparent = req.path.endswith("-transparent")
        bad = _invalid(fields, transparent)
        if bad:
            return _error(400, bad)
        return self._images(fields, transparent, behaviour)

    def _images(self, fields: dict[str, str], transparent: bool, behaviour: str) -> Response:
        if "resolution" in fields:
            w, h = (int(v) for v in fields["resolution"].split("x"))
        else:
            w, h = RATIOS[fields.get("aspect_ratio", "1x1")]
        prompt = fields["prompt"]
        seed = int(fields["seed"]) if "seed" in fields else random.randint(0, 2_147_483_647)
        data: list[dict[str, Any]] = []
        for _ in range(int(fields.get("num_images", "1"))):
            raw = self.fake.image(w, h, "png", transparent, prompt)
            url = self.fake.host(raw, "image/png", 0.0 if behaviour == "expired" else None)
            if behaviour.startswith("url_at:"):  # an image URL on another host (a CDN)
                url = behaviour.removeprefix("url_at:")
            item: dict[str, Any] = {
                "prompt": prompt,
                "resolution": f"{w}x{h}",
                "is_image_safe": behaviour != "unsafe",
                "seed": seed,
                "url": None if behaviour == "unsafe" else url,
                "style_type": fields.get("style_type", "GENERAL"),
            }
            data.append(item)
        if behaviour == "ok":
            with self.fake.lock:
                self.fake.served[prompt] += len(data)
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
        return Response.json(200, {"created": created, "data": data})


def _invalid(fields: dict[str, str], transparent: bool) -> str | None:
    """Why the form is refused (400), or ``None``."""
    if not fields.get("prompt"):
        return "prompt: field required"
    speed = fields.get("rendering_speed", "DEFAULT")
    if speed not in SPEEDS or (transparent and speed == "FLASH"):
        return f"rendering_speed: {speed} is not supported"
    if "resolution" in fields and (transparent or "aspect_ratio" in fields):
        return "resolution cannot be used with aspect_ratio"
    if "resolution" in fields and fields["resolution"] not in RESOLUTIONS:
        return f"resolution: {fields['resolution']} is not a supported resolution"
    if fields.get("aspect_ratio", "1x1") not in RATIOS:
        return f"aspect_ratio: {fields['aspect_ratio']} is not supported"
    if not 1 <= int(fields.get("num_images", "1")) <= 8:
        return "num_images must be between 1 and 8"
    if fields.get("magic_prompt", "AUTO") not in ("AUTO", "ON", "OFF"):
        return "magic_prompt must be AUTO, ON or OFF"
    if "style_type" in fields and (transparent or fields["style_type"] not in STYLES):
        return f"style_type: {fields['style_type']} is not supported"
    if "seed" in fields and not 0 <= int(fields["seed"]) <= 2_147_483_647:
        return "seed must be between 0 and 2147483647"
    return None
