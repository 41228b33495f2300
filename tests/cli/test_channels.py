"""``atelier channels`` and ``atelier check``: the listing, the verdicts, ``--fix`` and the
exit codes (0 all pass, 1 a rule fails, 2 bad input with a one-line message)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from atelier.output.channels.profiles import user_dir
from tests.output.channels.images import framed, product, save
from tests.support.cli import run_cli


def test_channels_lists_built_in_and_the_users_own() -> None:
    folder = user_dir()
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(
        '[[channel]]\nid = "myshop"\nname = "My shop"\nas_of = 2026-12-01\n', "utf-8"
    )
    r = run_cli("channels")
    assert r.code == 0, r.err
    for name in ("Amazon (main image)", "Rakuten Ichiba (image 1)", "Instagram feed (4:5)"):
        assert name in r.out
    assert "myshop: My shop" in r.out and str(folder / "mine.toml") in r.out
    doc = run_cli("channels", "--format", "json").report()
    google = next(p for p in doc if p["id"] == "google")
    assert any(rule.get("from") == "2027-01-31" for rule in google["rule"])


def test_a_bad_user_profile_is_exit_2_naming_file_and_field() -> None:
    folder = user_dir()
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text('[[channel]]\nid = "x"\nname = "X"\nas_of = "soon"\n', "utf-8")
    r = run_cli("channels")
    assert r.code == 2 and "Traceback" not in r.err
    assert f"{folder / 'bad.toml'}: channel[0] (x).as_of" in r.err


def test_check_exit_0_when_all_pass_1_when_any_fails(tmp_path: Path) -> None:
    good = save(product(), tmp_path / "good.jpg")
    bad = save(product(bg=(220, 220, 220)), tmp_path / "grey.jpg")
    ok = run_cli("check", "--channel", "amazon", "--no-ocr", str(good))
    assert ok.code == 0, ok.out + ok.err
    assert "✓ White background" in ok.out and "– Text area: OCR not asked for" in ok.out
    r = run_cli("check", "--channel", "amazon,coupang", "--no-ocr", str(good), str(bad))
    assert r.code == 1
    assert "✗ White background: 0% of the border white (at least 95%) [no fix]" in r.out
    doc = run_cli(
        "check", "--channel", "amazon", "--no-ocr", "--format", "json", str(good), str(bad)
    ).report()
    assert [d["passed"] for d in doc] == [True, False]
    rule = next(x for x in doc[1]["rules"] if x["kind"] == "background_white")
    assert rule["status"] == "failed" and rule["value"] == 0.0 and rule["fixable"] is False
    assert rule["source"].startswith("https://") and rule["read_on"] == "third_party"


def test_check_bad_input_is_exit_2_with_the_file_or_flag_named(tmp_path: Path) -> None:
    good = save(product(), tmp_path / "good.jpg")
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("not an image", "utf-8")
    r = run_cli("check", "--channel", "ebay", str(good))
    assert r.code == 2 and "--channel ebay: no such channel" in r.err and "amazon" in r.err
    r = run_cli(
        "check",
        "--channel",
        "amazon",
        "--no-ocr",
        str(good),
        str(not_image),
        str(tmp_path / "gone.png"),
    )
    assert r.code == 2 and "Traceback" not in r.err
    assert f"{not_image}: not an image Atelier can read" in r.err
    assert f"{tmp_path / 'gone.png'}: no such file" in r.err
    assert "good.jpg — Amazon (main image): passes" in r.out  # the readable one is still judged
    assert run_cli("check", "--channel", "amazon", "--fix", str(good)).code == 2
    assert run_cli("check", "--channel", "amazon", "--out", str(tmp_path), str(good)).code == 2
    two = run_cli("check", "--channel", "yahoo", "--code", "b-1", str(good), str(good))
    assert two.code == 2 and "--code" in two.err
    assert run_cli("check", str(good)).code == 2  # --channel is required


def test_fix_writes_renditions_that_pass_per_channel(tmp_path: Path) -> None:
    src = save(framed(product(fill=0.6)), tmp_path / "in" / "shot.png")
    out = tmp_path / "out"
    r = run_cli(
        "check", "--channel", "amazon,yahoo,instagram", "--fix", "--out", str(out),
        "--code", "b-001", "--no-ocr", str(src),
    )  # fmt: skip
    assert r.code == 0, r.out + r.err
    assert (out / "amazon" / "shot.png").is_file()
    assert (out / "yahoo" / "b-001.png").is_file()
    assert Image.open(out / "instagram" / "shot.jpg").size == (1080, 1350)
    assert "cropped off the frame bands" in r.out
    again = run_cli("check", "--channel", "amazon", "--no-ocr", str(out / "amazon" / "shot.png"))
    assert again.code == 0, again.out


def test_fix_says_what_no_fix_can_meet_and_exits_1(tmp_path: Path) -> None:
    src = save(product(bg=(200, 200, 200)), tmp_path / "grey.jpg")
    r = run_cli(
        "check",
        "--channel",
        "amazon",
        "--fix",
        "--out",
        str(tmp_path / "o"),
        "--no-ocr",
        "--format",
        "json",
        str(src),
    )
    assert r.code == 1
    doc = r.report()[0]["rendition"]
    assert doc["unfixable"] == ["background_white"] and doc["passed"] is False
    assert Path(doc["path"]).is_file()


def test_an_image_too_large_to_open_is_bad_input_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # a bomb: 2× this is refused
    big = save(product((600, 600)), tmp_path / "big.png")
    r = run_cli("check", "--channel", "google", "--no-ocr", str(big))
    assert r.code == 2 and "Traceback" not in r.err
    assert f"{big}: too many pixels to open safely" in r.err
