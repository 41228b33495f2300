"""The layout measure on framed images: what lies inside a frame is placed in the image's own
pixels (the frame's inset counted), so margins, centring and the top-left region are right."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from atelier.output.channels.measure import analyse


def _framed_disc(side: int = 1000, frame: int = 30) -> Image.Image:
    img = Image.new("RGB", (side, side), (200, 30, 30))  # the frame
    draw = ImageDraw.Draw(img)
    draw.rectangle((frame, frame, side - frame - 1, side - frame - 1), fill=(255, 255, 255))
    draw.ellipse((300, 300, 700, 700), fill=(40, 90, 160))  # the product, centred
    return img


def test_a_framed_products_box_is_where_it_is_drawn() -> None:
    layout = analyse(_framed_disc())
    assert layout.bands and layout.box is not None
    left, top, right, bottom = layout.box
    # The disc spans 300-700 px; the work image is 512 px wide, so a pixel is about 2 px here.
    assert all(
        abs(a - b) <= 4
        for a, b in zip((left, top, right, bottom), (300, 300, 701, 701), strict=True)
    ), layout.box


def test_a_framed_products_margins_are_even() -> None:
    layout = analyse(_framed_disc())
    assert layout.box is not None
    left, top, right, bottom = layout.box
    assert abs(left - (layout.width - right)) <= 4 and abs(top - (layout.height - bottom)) <= 4


def test_a_band_along_one_side_is_a_band(tmp_path: Path) -> None:
    """A banner along the bottom only (帯): Yahoo! Shopping's 'no frame or bands' fails it;
    the same product without it passes."""
    from atelier.output.channels.check import check_file
    from atelier.output.channels.profiles import profile

    img = Image.new("RGB", (1200, 1200), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((400, 400, 800, 800), fill=(40, 90, 160))
    plain = img.copy()
    draw.rectangle((0, 1140, 1199, 1199), fill=(200, 20, 20))
    layout = analyse(img)
    assert set(layout.bands) == {"bottom"} and 50 <= layout.bands["bottom"] <= 70
    assert analyse(plain).bands == {}
    for im, status in ((img, "failed"), (plain, "passed")):
        im.save(tmp_path / "b-001.png")
        j = check_file(tmp_path / "b-001.png", profile("yahoo"), code="b-001", use_ocr=False)
        assert next(r.status for r in j.results if r.kind == "no_frame") == status
