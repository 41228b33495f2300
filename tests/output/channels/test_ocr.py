"""The text area, read by Tesseract with Japanese (and the other CJK) data and laid on the
channel's grid; without Tesseract the rule is "not checked", never "passed"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytesseract
import pytest

from atelier.output.channels import ocr
from atelier.output.channels.check import check_file
from atelier.output.channels.profiles import built_in_profiles, profile
from tests.output.channels.images import badges, product, save, with_text

needs_tesseract = pytest.mark.skipif(
    "jpn" not in ocr.available_languages(), reason="tesseract-ocr-jpn is not installed"
)


def _text_rule(path: Path, channel: str) -> tuple[str, float | str | None, str]:
    j = check_file(path, profile(channel), code="b-001")
    r = next(r for r in j.results if r.kind == "text_area")
    return r.status, r.value, r.measured


def test_cells_any_box_touches_count() -> None:
    # A box inside one cell, one across four, one along a whole row of a 10×10 grid.
    assert ocr.cells_of([(5, 5, 20, 20)], (1000, 1000), 10) == {(0, 0)}
    assert ocr.cells_of([(95, 95, 105, 105)], (1000, 1000), 10) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert len(ocr.cells_of([(0, 500, 1000, 520)], (1000, 1000), 10)) == 10
    # A box ending exactly on a line does not touch the next cell.
    assert ocr.cells_of([(0, 0, 100, 100)], (1000, 1000), 10) == {(0, 0)}


@needs_tesseract
def test_japanese_badge_text_fails_rakuten_over_20_percent(tmp_path: Path) -> None:
    img = badges()
    status, value, measured = _text_rule(save(img, tmp_path / "p.png"), "rakuten")
    assert status == "failed"
    assert isinstance(value, float) and value > 0.2
    assert any(w in measured for w in ("送料", "無料", "限定", "セール", "今だけ"))


@needs_tesseract
def test_a_small_japanese_badge_passes_rakuten_but_fails_amazon(tmp_path: Path) -> None:
    path = save(with_text(product(fill=0.8), [("送料無料", (20, 20))], size=60), tmp_path / "p.png")
    status, value, _ = _text_rule(path, "rakuten")
    assert status == "passed" and isinstance(value, float) and 0 < value <= 0.2
    assert _text_rule(path, "amazon")[0] == "failed"  # no text at all
    assert _text_rule(path, "naver")[0] == "failed"


@needs_tesseract
def test_korean_and_chinese_text_are_read(tmp_path: Path) -> None:
    ko = save(
        with_text(product(fill=0.6), [("무료배송 특가", (20, 20))], size=70), tmp_path / "k.png"
    )
    zh = save(
        with_text(product(fill=0.6), [("限时特价 包邮", (20, 20))], size=70), tmp_path / "z.png"
    )
    assert _text_rule(ko, "coupang")[0] == "failed"
    assert _text_rule(zh, "amazon")[0] == "failed"


@needs_tesseract
def test_a_product_photo_without_text_reads_as_no_text(tmp_path: Path) -> None:
    for seed in range(3):
        path = save(product(fill=0.9, seed=seed), tmp_path / f"p{seed}.jpg")
        assert _text_rule(path, "amazon")[:2] == ("passed", 0.0)


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    ocr.available_languages.cache_clear()
    yield
    ocr.available_languages.cache_clear()


def test_without_tesseract_text_is_not_checked_never_passed(
    no_tesseract: None, tmp_path: Path
) -> None:
    path = save(with_text(product(fill=0.6), [("送料無料", (20, 20))], size=70), tmp_path / "p.png")
    for channel in ("amazon", "rakuten", "yahoo", "coupang", "naver"):
        status, value, measured = _text_rule(path, channel)
        assert status == "not_checked" and value is None
        assert "Tesseract" in measured


def test_with_some_languages_missing_text_under_the_limit_is_not_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Tesseract with English data only: Japanese text would go unseen, so finding little
    text is "not checked" (naming the missing data), never "passed"; finding too much still
    fails."""
    monkeypatch.setattr(ocr, "available_languages", lambda: ("eng",))
    monkeypatch.setattr(ocr, "_read", lambda _img, _langs: [])
    path = save(product(fill=0.6), tmp_path / "p.png")
    status, value, measured = _text_rule(path, "rakuten")
    assert status == "not_checked" and value == 0.0
    assert "jpn" in measured and "kor" in measured
    many = [
        (f"w{i}", (x * 100 + 5, y * 100 + 5, x * 100 + 60, y * 100 + 60))
        for i, (x, y) in enumerate((x, y) for x in range(5) for y in range(6))
    ]
    monkeypatch.setattr(ocr, "_read", lambda img, _langs: many if img.width >= 1000 else [])
    status, _, _ = _text_rule(save(product(fill=0.6), tmp_path / "q.png"), "rakuten")
    assert status == "failed"
    monkeypatch.setattr(ocr, "available_languages", lambda: ocr.LANGUAGES)
    monkeypatch.setattr(ocr, "_read", lambda _img, _langs: [])
    assert _text_rule(path, "rakuten")[0] == "passed"


def test_a_rendition_that_meets_the_text_rule_is_not_called_unfixable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Text over the share fails the source (no fix can meet it); when the rendition, read
    again, meets it (a padded frame makes the same text a smaller share), the fix does not say
    "no fix can meet" beside "passes". Read again without OCR, it still says so."""
    from atelier.output.channels.fix import fix_channels

    monkeypatch.setattr(ocr, "available_languages", lambda: ocr.LANGUAGES)
    many = [
        (f"w{i}", (x * 100 + 5, y * 100 + 5, x * 100 + 60, y * 100 + 60))
        for i, (x, y) in enumerate((x, y) for x in range(5) for y in range(6))
    ]
    monkeypatch.setattr(ocr, "_read", lambda img, _langs: many if img.width >= 1000 else [])
    path = save(product(fill=0.6), tmp_path / "p.png")
    source = check_file(path, profile("rakuten"), code="p")
    assert "text_area" in {r.kind for r in source.unfixable()}
    monkeypatch.setattr(ocr, "_read", lambda _img, _langs: [])  # the rendition reads clean
    (met,) = fix_channels(path, [profile("rakuten")], lambda _p: tmp_path / "a", judged=[source])
    assert met.after is not None and met.after.passed and met.unfixable == []
    (unread,) = fix_channels(
        path, [profile("rakuten")], lambda _p: tmp_path / "b", judged=[source], use_ocr=False
    )
    assert [r.kind for r in unread.unfixable] == ["text_area"]


TEXT_CHANNELS = sorted(p.id for p in built_in_profiles() if p.rules("text_area"))


@needs_tesseract
@pytest.mark.parametrize("channel", TEXT_CHANNELS)
def test_every_text_rule_passes_its_good_image_and_fails_badge_text(
    channel: str, tmp_path: Path
) -> None:
    """With OCR on, each channel's good image (tests/output/channels/test_rules.py) passes its
    text rule and a product under shop badges (送料無料…) fails it."""
    from tests.output.channels.test_rules import GOOD, _today

    good = check_file(
        GOOD[channel](tmp_path), profile(channel), code="b-001", today=_today(channel)
    )
    assert next(r.status for r in good.results if r.kind == "text_area") == "passed"
    assert _text_rule(save(badges(), tmp_path / "t.png"), channel)[0] == "failed"
