"""The designer's loop in the gallery, by keyboard only: import the Shopify export, run it on
draft, reject three images with X, regenerate the rejected ones (Ctrl+Shift+R), see v2 badges
with the v1 images still on disk, pick all (Ctrl+A, P), export (Ctrl+E): the ZIP holds the
picked versions and its manifest matches them."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from tests.support.qt import wait_until


def _key(qtbot: Any, widget: Any, key: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # fmt: skip
    qtbot.keyClick(widget, key, mod)


def _draft_batch(window: Any, sheet: Path, prompt: str, filename: str, out: Path) -> None:
    """The sheet imported, the templates written, draft chosen, ``out`` the output folder."""
    assert window.load_spreadsheet(sheet)
    window.sheet.prompt_edit.setPlainText(prompt)
    window.sheet.filename_edit.setText(filename)
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(out))


def test_cull_regenerate_pick_export_by_keyboard(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path, qtmodeltester: Any
) -> None:  # fmt: skip
    asked: list[object] = []
    window.ask_spend = lambda _parent, question: asked.append(question)
    window.review.ask_export_path = lambda _parent, _name: tmp_path / "picked.zip"
    done: list[int] = []
    window.batch_done.connect(done.append)

    out = tmp_path / "shop"
    _draft_batch(window, data_dir / "shopify-home-goods.csv", "Studio photo of {Title} in {Option1 Value}", "{Variant SKU}", out)  # fmt: skip
    _key(qtbot, window.batch.start_button, Qt.Key.Key_Space)
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the first run"))

    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    view = gallery.gallery_view
    qloop.run_until_complete(
        wait_until(lambda: gallery.gallery_proxy.rowCount() == 38, 10, "tiles")
    )
    view.setFocus()
    view.setCurrentIndex(gallery.gallery_proxy.index(0, 0))
    for _ in range(3):  # X rejects and moves on (Lightroom's auto-advance)
        _key(qtbot, view, Qt.Key.Key_X)
    assert gallery.gallery_model.counts() == {"picked": 0, "rejected": 3, "unflagged": 35}
    qloop.run_until_complete(
        wait_until(lambda: "3 rejected" in gallery.counts_label.text(), 5, "the counts")
    )
    assert gallery.counts_label.text() == "0 picked · 3 rejected · 35 unflagged"
    rejected = [t for t in gallery.gallery_model.tiles if t.flag == "rejected"]
    assert [t.label for t in rejected] == ["NH-CND-001.png", "NH-CND-002.png", "NH-CND-003.png"]
    assert all(t.caption().startswith("✗ ") for t in rejected)
    v1 = {t.label: t.path.read_bytes() for t in rejected}
    qtmodeltester.check(gallery.gallery_model)

    _key(
        qtbot,
        view,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert asked == []  # the draft provider costs nothing: regenerating asks no money question
    qloop.run_until_complete(wait_until(lambda: len(done) == 2, 60, "the regeneration"))
    qloop.run_until_complete(
        wait_until(
            lambda: sum(t.versions == 2 for t in gallery.gallery_model.tiles) == 3, 10, "v2 tiles"
        )
    )
    regenerated = [t for t in gallery.gallery_model.tiles if t.versions == 2]
    assert [t.caption() for t in regenerated] == ["v2 NH-CND-001.v2.png", "v2 NH-CND-002.v2.png", "v2 NH-CND-003.v2.png"]  # fmt: skip
    for name, data in v1.items():  # the first versions are kept, and the job's name holds v2
        stem = name.removesuffix(".png")
        assert (out / f"{stem}.v1.png").read_bytes() == data
        assert (out / name).read_bytes() == (out / f"{stem}.v2.png").read_bytes() != data
    assert len(list(out.glob("*.png"))) == 38 + 3 * 2

    view.setFocus()
    _key(qtbot, view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    _key(qtbot, view, Qt.Key.Key_P)
    assert gallery.gallery_model.counts() == {"picked": 38, "rejected": 0, "unflagged": 0}
    gallery.flag_filter.setCurrentIndex(gallery.flag_filter.findData("picked"))
    assert gallery.gallery_proxy.rowCount() == 38
    gallery.flag_filter.setCurrentIndex(0)
    _key(qtbot, view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qloop.run_until_complete(
        wait_until(lambda: (tmp_path / "picked.pdf").exists(), 30, "the export")
    )
    with zipfile.ZipFile(tmp_path / "picked.zip") as z:
        names = [n for n in z.namelist() if n != "manifest.csv"]
        manifest = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
        # the pick under the job's own name, whichever version it is
        assert z.read("NH-CND-002.png") == (out / "NH-CND-002.v2.png").read_bytes()
    assert len(names) == 38 and "NH-CND-001.png" in names and "NH-CND-001.v2.png" not in names
    assert [m["file"] for m in manifest] == names
    assert [m["file"] for m in manifest if m["version"] == "2"] == ["NH-CND-001.png", "NH-CND-002.png", "NH-CND-003.png"]  # fmt: skip
    assert all(m["flag"] == "picked" for m in manifest)
    assert manifest[0]["Variant SKU"] == "NH-CND-001" and manifest[0]["model"] == "draft/draft"


def test_viewer_steps_versions_chooses_the_pick_and_edits_one_prompt(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    done: list[int] = []
    window.batch_done.connect(done.append)
    out = tmp_path / "zakka"
    _draft_batch(window, data_dir / "jp-zakka-shift_jis.csv", "{商品名}、{カラー}", "{品番}", out)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the run"))
    job = window.store.jobs(window.batch_id)[0]
    assert qloop.run_until_complete(window.review.regenerate([job.id])) == [job.id]
    qloop.run_until_complete(wait_until(lambda: len(done) == 2, 60, "the regeneration"))

    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    qloop.run_until_complete(
        wait_until(lambda: gallery.gallery_proxy.rowCount() == 12, 10, "tiles")
    )
    gallery.gallery_view.setFocus()
    gallery.gallery_view.setCurrentIndex(gallery.gallery_proxy.index(0, 0))
    opened: list[Any] = []
    gallery.viewer_factory = lambda jid: opened.append(window.review.open_viewer(jid)) or opened[-1]
    qtbot.keyClick(gallery.gallery_view, Qt.Key.Key_Space)
    viewer = opened[0]
    assert viewer.version_label.text() == "v2 (2 of 2) · the pick"
    assert "seed " in viewer.info.text() and "draft/draft" in viewer.info.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.version_label.text() == "v1 (1 of 2)"
    viewer.copy_prompt()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == "急須、黒"
    viewer.use_button.click()  # v1 becomes the pick: the file under the job's name holds it
    qloop.run_until_complete(window.ops.call(lambda: None))  # stored (the ops run in order)
    assert (out / "JP-TEA-001.png").read_bytes() == (out / "JP-TEA-001.v1.png").read_bytes()
    assert window.store.job(job.id).pick_version == 1
    viewer.prompt_edit.setPlainText("急須、黒、木の机の上")
    regen = next(b for b in viewer.findChildren(type(viewer.use_button)) if b.text() == "Regenerate with this prompt")  # fmt: skip
    regen.click()
    qloop.run_until_complete(wait_until(lambda: len(done) == 3, 60, "the edited job"))
    again = window.store.job(job.id)
    assert again.spec.prompt == "急須、黒、木の机の上" and again.version == 3
    assert (out / "JP-TEA-001.png").read_bytes() == (out / "JP-TEA-001.v3.png").read_bytes()
    viewer.close()


def test_compare_zooms_and_pans_together_and_tiles_drag_out_as_files(
    qtbot: Any, window: Any, tmp_path: Path
) -> None:
    from PIL import Image

    from atelier.studio.widgets.compare import CompareView

    paths = []
    for i, color in enumerate(("navy", "olive", "maroon")):
        p = tmp_path / f"img-{i}.png"
        Image.new("RGB", (2000, 1500), color).save(p)
        paths.append(p)
    view = CompareView([(p, p.name) for p in paths])
    qtbot.addWidget(view)
    view.show()
    view.zoom(8.0)  # far enough in to pan on an 800 px screen too
    assert {round(v.transform().m11(), 4) for v in view.views} == {round(view.scale, 4)}
    view.views[1].horizontalScrollBar().setValue(300)
    view.views[1].verticalScrollBar().setValue(200)
    assert [v.horizontalScrollBar().value() for v in view.views] == [300, 300, 300]
    assert [v.verticalScrollBar().value() for v in view.views] == [200, 200, 200]
    qtbot.keyClick(view, Qt.Key.Key_0)  # fit again
    assert view.scale < 1
    try:
        CompareView([(paths[0], "one")])
    except ValueError as e:
        assert "2 to 4" in str(e)
    else:
        raise AssertionError("one image cannot be compared")
    # the gallery: C compares the selection; a tile drags out as a file
    window.gallery.show_folder(tmp_path)
    g = window.gallery
    g.gallery_view.selectAll()
    g.gallery_view.setFocus()
    opened = g.compare_selected()
    assert opened is not None and len(opened.views) == 3
    opened.close()
    model = g.gallery_model
    data = model.mimeData([model.index(0, 0), model.index(1, 0)])
    assert [u.toLocalFile() for u in data.urls()] == [str(paths[0]), str(paths[1])]
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled


def test_a_big_batch_opens_its_first_screen_at_once_then_the_rest(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from atelier.core.models import JobSpec, RunSettings
    from atelier.studio.batch_loader import BIG, FIRST_SCREEN
    from tests.support.batches import store_batch

    specs = [JobSpec(prompt=f"p {i}", output_path=f"p-{i}.png") for i in range(BIG + 200)]
    bid = store_batch(window.store, RunSettings(), specs, tmp_path / "big")
    window._open_from_history(bid)
    model = window.gallery.gallery_model
    assert model.rowCount() in (FIRST_SCREEN, BIG + 200)  # the rest may already be read
    qloop.run_until_complete(wait_until(lambda: model.rowCount() == BIG + 200, 10, "the rest"))
    assert window.progress.jobs_model.rowCount() == BIG + 200
    assert [t.label for t in model.tiles[:2]] == ["p-0.png", "p-1.png"]
    small = store_batch(window.store, RunSettings(), specs[:10], tmp_path / "small", name="s")
    window._open_from_history(small)
    assert model.rowCount() == 10  # a small batch is read whole, at once
