"""Reading error bodies that are not what the provider documents."""

from __future__ import annotations

import httpx
import pytest

from atelier.core.errors import ErrorClass
from atelier.providers.gemini import GeminiProvider
from atelier.providers.http import error_body, validation_errors


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"detail": "x"}', {"detail": "x"}),
        (b"<html>502 Bad Gateway</html>", {}),
        (b"", {}),
        (b'["a", "list"]', {}),
    ],
)
def test_error_body_is_a_json_object_or_empty(content: bytes, expected: dict[str, str]) -> None:
    assert error_body(httpx.Response(500, content=content)) == expected


def test_validation_errors_name_the_field() -> None:
    detail = [
        {"loc": ["body", "image_size", "width"], "msg": "must be a multiple of 8"},
        {"loc": ["body"], "msg": "body missing"},
        "not a dict",
    ]
    assert (
        validation_errors(detail)
        == "image_size.width: must be a multiple of 8; input: body missing"
    )


def test_gemini_error_that_is_a_string_is_still_classified() -> None:
    resp = httpx.Response(503, json={"error": "overloaded"})
    err = GeminiProvider(api_key="k").classify(resp)
    assert err.error_class is ErrorClass.SERVER_ERROR
