from __future__ import annotations

import pytest

from atelier.core.errors import InputError
from atelier.sheet.templates import Template, UniqueNamer, safe_component, safe_relative_path


def test_placeholders_with_spaces_and_cjk() -> None:
    t = Template.parse("{商品名} in {Option1 Value} {{literal}}")
    assert t.placeholders == ["商品名", "Option1 Value"]
    text, empty = t.render({"商品名": "急須", "Option1 Value": ""})
    assert text == "急須 in  {literal}"
    assert empty == ["Option1 Value"]


def test_unknown_placeholders_are_listed() -> None:
    t = Template.parse("{Title} {Colour} {Title}")
    assert t.unknown(["Title", "Color"]) == ["Colour"]


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("a {b", "unclosed '{' at character 3"),
        ("a } b", "'}' at character 3"),
        ("{}", "empty placeholder"),
        ("{a{b}}", "unclosed"),
    ],
)
def test_unbalanced_braces_name_the_position(text: str, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        Template.parse(text, "Prompt")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1", "_LPT1"),
        ("a/b", "a_b"),
        ("a\\b:c*?", "a_b_c__"),
        ("tab\there\n", "tab_here_"),
        ("  ..hidden.. ", "hidden"),
        ("急須-黒", "急須-黒"),
        ("..", ""),
    ],
)
def test_safe_component(raw: str, safe: str) -> None:
    assert safe_component(raw) == safe


def test_long_names_are_cut_on_a_character_boundary() -> None:
    name = safe_component("漢" * 300)
    assert len(name.encode()) <= 200 and set(name) == {"漢"}


@pytest.mark.parametrize("raw", ["../x.png", "a/../../x", "/etc/passwd", "C:\\x.png", "c:x"])
def test_paths_that_escape_are_refused(raw: str) -> None:
    with pytest.raises(InputError, match=r"jobs\[1\]\.output_path"):
        safe_relative_path(raw, "png", "jobs[1].output_path")


def test_extension_is_added_or_replaced() -> None:
    assert safe_relative_path("NH-CND-001", "png") == "NH-CND-001.png"
    assert safe_relative_path("beach.png", "jpeg") == "beach.jpg"
    assert safe_relative_path("beach.jpeg", "jpeg") == "beach.jpeg"
    assert safe_relative_path("v1.2 final", "webp") == "v1.2 final.webp"
    assert safe_relative_path("Hygge Home/candle", "png") == "Hygge Home/candle.png"


def test_unique_names_are_case_insensitive_and_sample_aware() -> None:
    n = UniqueNamer()
    assert n.claim("a.png", 1) == "a.png"
    assert n.claim("A.png", 1) == "A-2.png"
    assert n.claim("b.png", 3) == "b.png"  # writes b-1, b-2, b-3
    assert n.claim("b-2.png", 1) == "b-2-2.png"


def test_full_width_braces_typed_with_an_ime_are_placeholders() -> None:
    t = Template.parse("商品写真：｛商品名｝、{色}、｛｛そのまま｝｝")
    assert t.parts == (
        (False, "商品写真："),
        (True, "商品名"),
        (False, "、"),
        (True, "色"),
        (False, "、｛そのまま｝"),  # doubled, they stay literal braces, as typed
    )
    with pytest.raises(InputError, match="unclosed '｛' at character 3"):
        Template.parse("写真｛商品名")
