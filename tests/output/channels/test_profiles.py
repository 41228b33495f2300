"""Channel profiles are dated, sourced data; a user's own profiles are validated the same way
and a bad file is named with its field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from atelier.core.errors import InputError
from atelier.output.channels.profiles import (
    built_in_profiles,
    load_profiles,
    parse_profiles,
    profile,
    user_dir,
)

MINE = """
[[channel]]
id = "myshop"
name = "My shop"
as_of = 2026-12-01

[[channel.rule]]
kind = "min_short_side"
min = 800
source = "https://example.com/guide"
read_on = "marketplace"
as_of = 2026-12-01
verified = true
"""


def test_the_built_in_channels_are_there_each_rule_sourced_and_dated() -> None:
    ids = {p.id for p in built_in_profiles()}
    assert ids == {
        "shopify",
        "amazon",
        "rakuten",
        "yahoo",
        "coupang",
        "naver",
        "google",
        "instagram",
    }
    for p in built_in_profiles():
        assert p.built_in and p.rule
        for r in p.rule:
            assert r.source and r.as_of <= dt.date(2026, 12, 31)
            assert r.read_on in ("marketplace", "third_party")
            if not r.verified:
                assert r.note, (p.id, r.kind)  # what could not be verified is said


def test_the_issue_table_figures() -> None:
    amazon = profile("amazon")
    assert amazon.rules("fill")[0].min == 0.85
    assert "webp" not in amazon.rules("formats")[0].formats
    rakuten = profile("rakuten")
    assert rakuten.rules("text_area")[0].max == 0.2 and rakuten.rules("text_area")[0].grid == 10
    yahoo = profile("yahoo")
    assert yahoo.rules("margins")[0].min == 0.05 and yahoo.rules("top_left_empty")[0].min == 0.3
    google = profile("google")
    five = next(r for r in google.rules("min_short_side") if r.min == 500)
    assert five.starts == dt.date(2027, 1, 31) and not five.in_force(dt.date(2027, 1, 30))
    assert profile("instagram").rules("aspect")[0].aspect_value() == pytest.approx(0.8)
    assert profile("Shopify").rules("max_size")[0].width == 4472


def test_a_user_profile_is_listed_and_can_replace_a_built_in(tmp_path: Path) -> None:
    folder = user_dir()
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(MINE + MINE.replace('"myshop"', '"amazon"'), "utf-8")
    profiles = load_profiles()
    assert profiles["myshop"].origin == str(folder / "mine.toml")
    assert not profiles["amazon"].built_in and len(profiles["amazon"].rule) == 1
    assert profiles["rakuten"].built_in


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("min = 800", 'min = "big"'), "mine.toml: channel[0] (myshop).rule[0].min"),
        (("min = 800", "colour = 1"), "mine.toml: channel[0] (myshop).rule[0].colour"),
        (("min = 800", ""), "mine.toml: channel[0] (myshop).rule[0]"),  # the kind needs min
        (
            ('read_on = "marketplace"', 'read_on = "blog"'),
            "mine.toml: channel[0] (myshop).rule[0].read_on",
        ),
        (('id = "myshop"', 'id = "My Shop"'), "mine.toml: channel[0] (My Shop).id"),
        (("as_of = 2026-12-01\n\n", "\n"), "mine.toml: channel[0] (myshop).as_of"),
        (("[[channel]]", "[[channel"), "mine.toml"),
    ],
)
def test_a_bad_user_file_names_file_and_field(change: tuple[str, str], where: str) -> None:
    folder = user_dir()
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(MINE.replace(*change, 1), "utf-8")
    with pytest.raises(InputError) as e:
        load_profiles()
    assert str(e.value).startswith(str(folder / where)), str(e.value)


def test_a_duplicate_id_in_one_file_is_refused() -> None:
    with pytest.raises(InputError, match="appears twice"):
        parse_profiles(MINE + MINE, "two.toml")


def test_an_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as e:
        profile("ebay")
    assert "--channel ebay" in str(e.value) and "rakuten" in str(e.value)
