"""A reference image travels labelled with its own type: a JPEG as ``image/jpeg`` in a data URI
(fal, Replicate, Seedream), a Gemini ``inlineData`` part and an OpenAI multipart file; before,
every reference was labelled ``image/png`` whatever it was."""

from __future__ import annotations

from PIL import Image

from atelier.providers.base import GenerationRequest
from atelier.providers.gemini import GeminiProvider
from atelier.providers.inputs import data_uri, image_mime
from tests.fakes.crafted import encode


def _encoded(fmt: str) -> bytes:
    return encode(Image.new("RGB", (32, 32), "red"), fmt)


def test_each_reference_is_labelled_with_its_own_type() -> None:
    assert image_mime(_encoded("JPEG")) == "image/jpeg"
    assert image_mime(_encoded("WEBP")) == "image/webp"
    assert image_mime(_encoded("PNG")) == "image/png"
    assert image_mime(b"not an image") == "image/png"  # the provider judges the bytes
    assert data_uri(_encoded("JPEG")).startswith("data:image/jpeg;base64,/9j/")


def test_gemini_labels_a_jpeg_reference_as_jpeg() -> None:
    req = GenerationRequest(
        model="gemini-3-pro-image",
        prompt="a teapot",
        size="1024x1024",
        quality="auto",
        output_format="png",
        operation="edit",
        reference_images=(_encoded("JPEG"),),
    )
    part = GeminiProvider("k", "http://127.0.0.1:1").body(req)["contents"][0]["parts"][0]
    assert part["inlineData"]["mimeType"] == "image/jpeg"
