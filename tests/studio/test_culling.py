"""Culling as in Lightroom, past a failed tile: P / X / 0–5 act on images and move on over a
failed tile instead of stopping at it; a rejected tile is dimmed; the picked / rejected /
unflagged counts follow while changes keep arriving (as they do during a run); file names are
elided in the middle; an export with nothing picked says it will export what the gallery shows,
the file dialog opens in the batch's folder, and the ZIP holds the jobs' own file names."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QImage

from tests.fakes.openai_server import FakeOpenAI
from tests.support.qt import shopify_on_fake_openai, wait_until


def _mean_distance(img: QImage, rect: QRect, to: QColor) -> float:
    """How far, on average, the pixels of ``rect`` are from the colour ``to`` (0–765)."""
    total, n = 0, 0
    for y in range(rect.top(), rect.bottom(), 3):
        for x in range(rect.left(), rect.right(), 3):
            c = img.pixelColor(x, y)
            total += (
                abs(c.red() - to.red()) + abs(c.green() - to.green()) + abs(c.blue() - to.blue())
            )
            n += 1
    return total / max(1, n)


@pytest.fixture
def culled(
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The Shopify export run on the fake OpenAI, NH-CND-002 refused: 37 images and a failed
    tile second in the gallery, which is shown."""
    fake_openai.script_for("NH-CND-002", ["moderation_blocked"])
    done = shopify_on_fake_openai(
        window, data_dir / "shopify-home-goods.csv", tmp_path / "out", fake_openai, monkeypatch
    )
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the run"))
    assert len(window.spend_asked) == 1  # the paid start asked first (yes, from conftest)
    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    qloop.run_until_complete(
        wait_until(lambda: gallery.gallery_proxy.rowCount() == 38, 10, "tiles")
    )
    model = gallery.gallery_model
    assert [t.label for t in model.tiles[:3]] == [
        "NH-CND-001.png",
        "NH-CND-002.png",
        "NH-CND-003.png",
    ]
    assert model.tiles[1].path is None and model.tiles[1].status == "failed"
    return gallery


def test_keys_move_on_past_a_failed_tile_and_rejected_tiles_are_dimmed(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, culled: Any, qtmodeltester: Any
) -> None:
    gallery, view = culled, culled.gallery_view
    model, proxy = gallery.gallery_model, gallery.gallery_proxy
    view.setFocus()
    view.setCurrentIndex(proxy.index(0, 0))
    qloop.run_until_complete(wait_until(lambda: model.is_loaded(0), 10, "the first thumbnail"))
    rect = view.visualRect(proxy.index(0, 0))
    background = view.viewport().palette().color(view.viewport().backgroundRole())
    before = _mean_distance(view.viewport().grab().toImage(), rect, background)

    qtbot.keyClick(view, Qt.Key.Key_X)  # rejects NH-CND-001, moves on past the failed tile
    assert view.currentIndex().row() == 2
    qtbot.keyClick(view, Qt.Key.Key_P)  # picks NH-CND-003, not a no-op on the failed tile
    assert view.currentIndex().row() == 3
    assert [t.flag for t in model.tiles[:3]] == ["rejected", "unflagged", "picked"]
    view.setCurrentIndex(proxy.index(1, 0))  # on the failed tile itself, a key moves on
    qtbot.keyClick(view, Qt.Key.Key_5)
    assert view.currentIndex().row() == 2 and model.tiles[2].stars == 0
    qtbot.keyClick(view, Qt.Key.Key_5)
    assert model.tiles[2].stars == 5
    qloop.run_until_complete(window.ops.call(lambda: None))  # the ops run in order: all stored
    stored = {im.path.name: (im.flag, im.stars) for im in window.store.images(window.batch_id)}
    assert stored["NH-CND-001.png"] == ("rejected", 0) and stored["NH-CND-003.png"] == ("picked", 5)

    view.viewport().repaint()
    after = _mean_distance(view.viewport().grab().toImage(), rect, background)
    assert after < before * 0.6, f"a rejected tile is dimmed ({before:.0f} → {after:.0f})"

    # the caption is elided in the middle: the SKU and the "-2" suffix stay in sight
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    long_name = "✓ v2 NH-CND-001-stonewashed-linen-throw-blanket-natural-2.png ★★★"
    shown = QFontMetrics(view.font()).elidedText(
        long_name, view.textElideMode(), view.gridSize().width()
    )
    assert shown.startswith("✓ v2 NH-") and shown.endswith("-2.png ★★★") and "…" in shown
    qtmodeltester.check(model)


def test_counts_are_live_while_changes_keep_arriving(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, culled: Any
) -> None:
    gallery, view = culled, culled.gallery_view
    model = gallery.gallery_model
    qloop.run_until_complete(
        wait_until(lambda: "37 unflagged" in gallery.counts_label.text(), 5, "counts")
    )
    # A running batch's updates: a changed tile ten times a second, on and on.
    ticks = QTimer(interval=50)
    ticks.timeout.connect(lambda: model.dataChanged.emit(model.index(37), model.index(37)))
    ticks.start()
    try:
        view.setFocus()
        view.setCurrentIndex(gallery.gallery_proxy.index(0, 0))
        qtbot.keyClick(view, Qt.Key.Key_P)
        qloop.run_until_complete(
            wait_until(
                lambda: gallery.counts_label.text() == "1 picked · 0 rejected · 36 unflagged",
                2,
                "the counts, while updates keep coming",
            )
        )
        assert ticks.isActive()
    finally:
        ticks.stop()


def test_export_with_nothing_picked_exports_what_the_gallery_shows(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, culled: Any, tmp_path: Path
) -> None:
    gallery = culled
    asked: list[int] = []
    suggested: list[str] = []
    window.review.ask_export_shown = lambda _parent, count: asked.append(count) or True
    window.review.ask_export_path = lambda _parent, name: (
        suggested.append(name) or tmp_path / "shown.zip"
    )
    gallery.gallery_view.setFocus()
    qtbot.keyClick(gallery.gallery_view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked == [37]  # said before the file dialog: nothing picked, the 37 images shown
    out = tmp_path / "out"
    assert len(suggested) == 1 and Path(suggested[0]).parent == out  # the batch's folder
    qloop.run_until_complete(
        wait_until(lambda: (tmp_path / "shown.pdf").exists(), 30, "the export")
    )
    with zipfile.ZipFile(tmp_path / "shown.zip") as z:
        names = [n for n in z.namelist() if n != "manifest.csv"]
    assert len(names) == 37 and names[:2] == ["NH-CND-001.png", "NH-CND-003.png"]

    # a filter narrows what is shown, and so what is exported; cancelling asks no path
    gallery.stars_filter.setCurrentIndex(gallery.stars_filter.findData(5))
    window.review.ask_export_shown = lambda _parent, count: asked.append(count) and False
    gallery.gallery_view.setFocus()
    qtbot.keyClick(gallery.gallery_view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked == [37] and len(suggested) == 1  # no image has 5 stars: nothing asked
