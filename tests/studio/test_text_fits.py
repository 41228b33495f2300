"""No text of the window is cut at 1280×800 in any of the five languages: every page with the
sample project run on draft (and a cancelled batch in History), its tables' headers and cells,
the Settings dialog (also showing a keyring that cannot store a key), the image viewer and the
comparison, measured with font metrics against each widget's room (tests/studio/text_fit.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from atelier.core import i18n
from atelier.studio.look.fonts import apply_ui_font
from tests.studio.text_fit import cut_texts
from tests.support.qt import wait_until

LANGUAGES = ("en", "ja", "zh_Hans", "zh_Hant", "ko")


@pytest.fixture
def language(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    lang: str = request.param
    before = qapp.font()
    i18n.use_language(lang)
    apply_ui_font(qapp, lang)
    yield lang
    i18n.use_language("en")
    qapp.setFont(before)


def _settle(app: QApplication, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Let pending paints and layouts happen; with ``loop``, inside the window's asyncio loop,
    as in the program (a debounced estimate spawned outside it fails with "no running event
    loop" and puts an error banner over the page)."""
    for _ in range(5):
        if loop is not None:
            loop.run_until_complete(asyncio.sleep(0.01))
        app.processEvents()


@pytest.mark.parametrize("language", LANGUAGES, indirect=True)
def test_no_text_is_cut_at_1280x800(
    language: str,
    qapp: QApplication,
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    atelier_home: Any,
    tmp_path: Path,
) -> None:
    from atelier.studio.app import build_window

    win, store = build_window()
    try:
        qtbot.addWidget(win)
        win.resize(1280, 800)  # type: ignore[attr-defined]
        win.show()  # type: ignore[attr-defined]
        win.sheet.sample_button.click()  # type: ignore[attr-defined]
        qloop.run_until_complete(
            wait_until(lambda: win.sheet.table is not None, 30, "the sample")  # type: ignore[attr-defined]
        )
        qloop.run_until_complete(asyncio.sleep(0.05))  # its starter template
        win.batch.select_provider("draft")  # type: ignore[attr-defined]
        win.batch.output_edit.setText(str(tmp_path / "out"))  # type: ignore[attr-defined]
        done: list[int] = []
        win.batch_done.connect(done.append)  # type: ignore[attr-defined]
        win.start_batch()  # type: ignore[attr-defined]
        qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the sample batch"))
        _cancelled_batch(store, tmp_path)
        win.refresh_history()  # type: ignore[attr-defined]
        cut: list[str] = []
        for i in range(win.tabs.count()):  # type: ignore[attr-defined]
            win.tabs.setCurrentIndex(i)  # type: ignore[attr-defined]
            win.resize(1280, 800)  # type: ignore[attr-defined]
            _settle(qapp, qloop)
            assert (win.width(), win.height()) == (1280, 800)  # type: ignore[attr-defined]
            cut += [f"page {i + 1}: {p}" for p in cut_texts(win)]  # type: ignore[arg-type]
        settings = win.open_settings()  # type: ignore[attr-defined]
        _settle(qapp, qloop)
        cut += [f"settings: {p}" for p in cut_texts(settings)]
        cut += [f"settings, keyring error: {p}" for p in _keyring_error(settings, qapp)]
        settings.close()
        job = store.jobs(done[0])[0].id
        viewer = win.review.open_viewer(job)  # type: ignore[attr-defined]
        assert viewer is not None
        _settle(qapp, qloop)
        assert viewer.width() <= 1280 and viewer.height() <= 800
        cut += [f"viewer: {p}" for p in cut_texts(viewer)]
        viewer.close()
        win.tabs.setCurrentIndex(3)  # type: ignore[attr-defined]
        _settle(qapp, qloop)
        win.gallery.gallery_view.selectAll()  # type: ignore[attr-defined]
        compare = win.gallery.compare_selected()  # type: ignore[attr-defined]
        assert compare is not None
        _settle(qapp, qloop)
        assert compare.width() <= 1280 and compare.height() <= 800
        cut += [f"compare: {p}" for p in cut_texts(compare)]
        compare.close()
        assert cut == [], f"{language}: " + "\n".join(cut)
    finally:
        win.close()  # type: ignore[attr-defined]
        store.close()


def _cancelled_batch(store: Any, tmp_path: Path) -> None:
    """A batch cancelled by the user, as History lists it."""
    from atelier.core.models import JobSpec, RunSettings
    from tests.support.batches import store_batch

    specs = [JobSpec(prompt="a cup", output_path="cup.png")]
    bid = store_batch(store, RunSettings(provider="draft"), specs, tmp_path / "c", name="c")
    store.set_batch_status(bid, "cancelled")


def _keyring_error(settings: Any, app: QApplication) -> list[str]:
    """Save a key where no keyring can store it: the dialog says so, whole."""
    import keyring
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        edit = next(p.key_edit for p in settings.panels.values() if hasattr(p, "key_edit"))
        edit.setText("sk-not-a-real-key")
        settings._save()
        _settle(app)
        shown = [w.text() for w in settings.findChildren(QLabel) if w.isVisible()]
        assert any("keyring" in t.lower() or "キーリング" in t for t in shown) or shown
        return cut_texts(settings)
    finally:
        keyring.set_keyring(before)


def test_the_measure_sees_cut_texts(qapp: QApplication, qtbot: Any) -> None:
    """The measure itself: a label, a button, a combo, a placeholder and a group title too
    long for a 90 px column are each reported; the same column 1,000 px wide reports none."""
    top = QWidget()
    qtbot.addWidget(top)
    column = QWidget(top)
    lay = QVBoxLayout(column)
    long = "ネガティブプロンプト ネガティブプロンプト"
    label = QLabel(long)
    button = QPushButton(long)
    combo = QComboBox()
    combo.addItem(long)
    edit = QLineEdit()
    edit.setPlaceholderText(long)
    group = QGroupBox(long)
    QHBoxLayout(group).addWidget(QLabel("x"))
    for w in (label, button, combo, edit, group):
        w.setMinimumWidth(0)
        w.setMaximumWidth(90)
        lay.addWidget(w)
    top.resize(1000, 400)
    column.setGeometry(0, 0, 110, 400)
    top.show()
    _settle(qapp)
    kinds = {p.split(": ", 1)[1].split(" ", 1)[0] for p in cut_texts(top)}
    assert kinds >= {"label", "button", "combo", "placeholder", "group"}
    for w in (label, button, combo, edit, group):
        w.setMaximumWidth(2000)
    column.setGeometry(0, 0, 1000, 400)
    _settle(qapp)
    assert cut_texts(top) == []


def test_the_measure_sees_cut_headers_cells_and_folds(qapp: QApplication, qtbot: Any) -> None:
    """A header title wider than its section, a section past the table's right edge, a cut
    cell without a tooltip, and a page taller than its scroll area are each reported; a cut
    cell whose tooltip holds the whole text is not."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QScrollArea, QTableView

    top = QWidget()
    qtbot.addWidget(top)
    lay = QVBoxLayout(top)
    model = QStandardItemModel(1, 3)
    model.setHorizontalHeaderLabels(["キャンセル済みの試行", "File", "Delivery"])
    model.setItem(0, 0, QStandardItem("x"))
    model.setItem(0, 1, QStandardItem("a-very-long-file-name-SKU-0001-2.png"))
    tipped = QStandardItem("a long prompt that is elided in its cell")
    tipped.setToolTip("a long prompt that is elided in its cell")
    model.setItem(0, 2, tipped)
    table = QTableView()
    table.setModel(model)
    for col, width in enumerate((40, 60, 400)):
        table.horizontalHeader().resizeSection(col, width)
    lay.addWidget(table)
    page = QWidget()
    QVBoxLayout(page).addWidget(QPlainTextEdit())
    page.layout().itemAt(0).widget().setMinimumHeight(600)  # type: ignore[union-attr]
    scroll = QScrollArea()
    scroll.setWidget(page)
    scroll.setWidgetResizable(True)
    lay.addWidget(scroll)
    top.resize(300, 400)
    top.show()
    _settle(qapp)
    found = "\n".join(cut_texts(top))
    assert "header 'キャンセル済みの試行'" in found
    assert "header 'Delivery' reaches past the table" in found
    assert "'a-very-long-file-name-SKU-0001-2.png'" in found and "no tooltip" in found
    assert "a long prompt" not in found
    assert "content below the fold" in found
