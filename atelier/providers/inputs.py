"""Reference images as the providers that take them inline want them: a ``data:`` URI naming
the image's own type (fal, Replicate, BytePlus Seedream)."""

from __future__ import annotations

import base64
import io

from PIL import Image, UnidentifiedImageError


def data_uri(img: bytes) -> str:
    """``data:image/<type>;base64,…`` of an encoded image, its type read from its header by
    Pillow (a JPEG reference travels as ``image/jpeg``, never mislabelled); ``image/png`` when
    Pillow cannot tell (the provider then judges the bytes)."""
    try:
        with Image.open(io.BytesIO(img)) as im:
            mime = Image.MIME.get(im.format or "", "image/png")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        mime = "image/png"
    return f"data:{mime};base64," + base64.b64encode(img).decode()
