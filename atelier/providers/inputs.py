"""Reference images as providers take them: labelled with their own media type, inline as a
``data:`` URI (fal, Replicate, BytePlus Seedream), an ``inlineData`` part (Gemini) or a
multipart file (OpenAI)."""

from __future__ import annotations

import base64
import io

from PIL import Image, UnidentifiedImageError


def image_mime(img: bytes) -> str:
    """The media type of an encoded image (``image/jpeg``…), read from its header by Pillow;
    ``image/png`` when Pillow cannot tell (the provider then judges the bytes)."""
    try:
        with Image.open(io.BytesIO(img)) as im:
            return Image.MIME.get(im.format or "", "image/png")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return "image/png"


def data_uri(img: bytes) -> str:
    """``data:image/<type>;base64,…`` of an encoded image (``image_mime``: a JPEG reference
    travels as ``image/jpeg``, never mislabelled)."""
    return f"data:{image_mime(img)};base64," + base64.b64encode(img).decode()
