"""The quality checks on save (``atelier.output.qa``): one test per flag with an image built to
raise it, images that pass, the size rules of pixel and aspect-ratio providers, the
near-duplicate index, and the thresholds of the module's docstring (measured here)."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from atelier.output import qa
from atelier.output.qa import HashIndex, SizeRule, inspect, size_rule, with_duplicate
from tests.fakes.crafted import encode, flat, photo_like, product_on_white, transparent


def _flags(img: Image.Image, asked: tuple[int, int] | None = None, **kw: object) -> tuple[str, ...]:
    return inspect(encode(img, **kw), asked).flags  # type: ignore[arg-type]


def test_blank_white_and_transparent() -> None:
    assert _flags(flat((255, 255, 255))) == ("blank",)
    assert _flags(flat((246, 247, 250), sigma=4)) == ("blank",)
    assert _flags(transparent()) == ("blank",)


def test_black() -> None:
    assert _flags(flat((0, 0, 0))) == ("black",)
    assert _flags(flat((6, 5, 8), sigma=3), fmt="JPEG", quality=80) == ("black",)


def test_near_uniform() -> None:
    assert _flags(flat((128, 128, 128), sigma=3)) == ("uniform",)
    assert _flags(flat((40, 90, 200))) == ("uniform",)


def test_images_that_pass() -> None:
    assert _flags(photo_like(1), (256, 256)) == ()
    assert _flags(product_on_white(0.03), (256, 256)) == ()  # a small product on white is fine
    assert _flags(photo_like(2), (256, 256), fmt="JPEG", quality=85) == ()


def test_wrong_size() -> None:
    assert _flags(photo_like(1, (512, 512)), (1024, 1024)) == ("wrong_size",)
    found = inspect(encode(photo_like(1, (512, 512))), (1024, 1024))
    assert found.detail["got"] == [512, 512] and found.detail["asked"] == [1024, 1024]


def test_wrong_aspect() -> None:
    assert _flags(photo_like(1, (1536, 1024)), (1024, 1024)) == ("wrong_size", "wrong_aspect")


def test_rounding_within_the_models_multiple_passes() -> None:
    # A model that snaps sides to multiples of 64 may answer 1000×744 with 1024×768.
    assert qa.size_flags((1024, 768), (1000, 744), SizeRule(64)) == []
    assert qa.size_flags((1024, 768), (1000, 744), SizeRule(8)) == ["wrong_size"]
    assert qa.size_flags((1024, 1024), (1024, 1024), SizeRule(1)) == []


def test_aspect_ratio_providers_are_judged_by_their_nearest_ratio() -> None:
    rule = size_rule("gemini", "gemini-2.5-flash-image", 8)
    assert rule.ratios and "16:9" in rule.ratios
    # 1200×700 goes to Gemini as 16:9 and comes back 1344×768: not a fault.
    assert qa.size_flags((1344, 768), (1200, 700), rule) == []
    assert qa.size_flags((1024, 1024), (1200, 700), rule) == ["wrong_aspect"]
    assert qa.size_flags((672, 384), (1344, 768), rule) == ["wrong_size"]
    assert size_rule("openai", "gpt-image-1.5", 16) == SizeRule(16)
    assert size_rule("bfl", "flux-pro-1.1-ultra", 32).ratios
    assert not size_rule("bfl", "flux-pro-1.1", 32).ratios


def test_near_duplicate_within_the_batch() -> None:
    a = photo_like(1, (512, 512))
    index = HashIndex()
    first = inspect(encode(a), None)
    assert first.phash is not None
    assert with_duplicate(first, index, (1, 0)).flags == ()
    index.add((1, 0), 11, first.phash)
    again = inspect(encode(a.resize((384, 384)), "JPEG", quality=60), None)
    found = with_duplicate(again, index, (2, 0))
    assert found.flags == ("duplicate",) and found.detail["duplicate_of"] == 11
    # its own earlier image (a re-make of the same sample) is not a duplicate
    assert with_duplicate(again, index, (1, 0)).flags == ()
    other = inspect(encode(photo_like(9, (512, 512))), None)
    assert with_duplicate(other, index, (3, 0)).flags == ()
    index.forget((1, 0))
    assert with_duplicate(again, index, (2, 0)).flags == ()


def test_uniform_images_are_not_hashed() -> None:
    assert inspect(encode(flat((9, 9, 9))), None).phash is None


def test_the_index_grows_past_its_first_buffer() -> None:
    index = HashIndex({(i, 0): (i, (i * 0x9E3779B97F4A7C15) % 2**64) for i in range(200)})
    assert len(index) == 200
    h = (150 * 0x9E3779B97F4A7C15) % 2**64
    assert index.nearest((999, 0), h ^ 0b111) == (150, 3)


def test_thresholds_separate() -> None:
    """The measurements behind the docstring's table: near-uniform images stay well under
    ``UNIFORM_STD``, real-looking ones well over; copies stay within ``DUPLICATE_DISTANCE``,
    different images far beyond it."""
    flat_std = [
        inspect(encode(flat((120, 130, 140), (512, 512))), None).detail["std"],
        inspect(encode(flat((120, 130, 140), (512, 512)), "JPEG", quality=75), None).detail["std"],
        inspect(encode(flat((120, 130, 140), (1024, 1024), sigma=3)), None).detail["std"],
    ]
    busy_std = [inspect(encode(photo_like(s)), None).detail["std"] for s in range(10)]
    busy_std += [
        inspect(encode(product_on_white(0.03, seed=s)), None).detail["std"] for s in range(10)
    ]
    assert max(flat_std) < qa.UNIFORM_STD / 2
    assert min(busy_std) > qa.UNIFORM_STD * 3
    images = [photo_like(s, (512, 512)) for s in range(20)]
    images += [product_on_white(0.2, (512, 512), seed=s + 100) for s in range(10)]
    hashes = [inspect(encode(i), None).phash for i in images]
    distinct = [bin(a ^ b).count("1") for a, b in itertools.combinations(hashes, 2)]  # type: ignore[operator]
    copies = []
    for img, h in zip(images[:10], hashes, strict=False):
        for v in (encode(img, "JPEG", quality=60), encode(img.resize((256, 256)))):
            copies.append(bin(h ^ inspect(v, None).phash).count("1"))  # type: ignore[operator]
    assert max(copies) <= qa.DUPLICATE_DISTANCE - 2
    assert min(distinct) >= qa.DUPLICATE_DISTANCE * 2


@pytest.mark.parametrize("flag", qa.FLAGS)
def test_every_flag_has_a_label(flag: str) -> None:
    assert qa.flag_label(flag) and "_" not in qa.flag_label(flag)
    assert qa.describe([flag]).startswith("Quality check: ")
