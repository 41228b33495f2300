"""The progress table and the gallery do no work for changed rows off screen, and repaint only
the changed rows on screen."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSize, Qt
from PySide6.QtWidgets import QAbstractItemView, QListView, QTableView

from atelier.studio.widgets.views import GalleryView, JobsTableView


class CountingModel(QAbstractTableModel):
    """10,000 rows; remembers which rows Qt asked data() for, and counts every call Qt makes."""

    def __init__(self, columns: int) -> None:
        super().__init__()
        self.columns = columns
        self.rows_read: set[int] = set()
        self.calls = 0
        self.text = [f"row {i}" for i in range(10_000)]

    def rowCount(self, parent: Any = QModelIndex()) -> int:
        self.calls += 1  # Qt asks on every index() it makes
        return 0 if parent.isValid() else len(self.text)

    def columnCount(self, parent: Any = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.columns

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        self.rows_read.add(index.row())
        self.calls += 1
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self.text[index.row()]} · {index.column()}"
        return None

    def change(self, first: int, last: int) -> None:
        for r in range(first, last + 1):
            self.text[r] = f"changed {r}"
        self.dataChanged.emit(self.index(first, 0), self.index(last, self.columns - 1))


def _show(qtbot: Any, view: QAbstractItemView, model: CountingModel) -> None:
    view.setModel(model)
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(30)


def _rows_repainted(
    qtbot: Any, model: CountingModel, first: int, last: int, *, painted: bool = False
) -> set[int]:
    """Change rows ``first``–``last`` and return the rows Qt read back. ``painted``: a repaint
    is expected, so wait for it rather than for a fixed time."""
    model.rows_read.clear()
    model.calls = 0
    model.change(first, last)
    if painted:
        qtbot.waitUntil(lambda: bool(model.rows_read), timeout=3000)
        qtbot.wait(20)
    else:
        qtbot.wait(100)
    return set(model.rows_read)


def test_stock_table_view_works_through_every_cell_of_a_change_off_screen(qtbot: Any) -> None:
    """What JobsTableView avoids: when the changed range is wider than the viewport (the jobs
    table's 8 columns), Qt works through each of its cells, 41 rows × 8 columns here."""
    model = CountingModel(8)
    view = QTableView()  # held here: qtbot keeps only a weak reference
    _show(qtbot, view, model)
    _rows_repainted(qtbot, model, 500, 540)
    assert model.calls >= 41 * 8


def test_jobs_table_skips_changes_off_screen_and_repaints_only_changed_rows(qtbot: Any) -> None:
    model = CountingModel(8)
    view = JobsTableView()
    _show(qtbot, view, model)
    assert _rows_repainted(qtbot, model, 500, 540) == set()
    assert model.calls <= 6  # two corners, whatever the size of the range
    assert _rows_repainted(qtbot, model, 2, 3, painted=True) == {2, 3}
    # A change straddling the bottom edge repaints the visible part only.
    last_visible = view.rowAt(view.viewport().height() - 1)
    seen = _rows_repainted(qtbot, model, last_visible, 900, painted=True)
    assert last_visible in seen and max(seen) <= last_visible + 1
    assert view.model().index(2, 7).data() == "changed 2 · 7"


@pytest.mark.parametrize("view_class", [GalleryView, QListView])
def test_gallery_skips_changes_off_screen(qtbot: Any, view_class: type[QListView]) -> None:
    model = CountingModel(1)
    view = view_class()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setGridSize(QSize(100, 60))
    view.setUniformItemSizes(True)
    view.setMovement(QListView.Movement.Static)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    _show(qtbot, view, model)
    per_line = view.viewport().width() // 100
    off_screen = _rows_repainted(qtbot, model, 600, 640)
    if view_class is GalleryView:
        assert off_screen == set() and model.calls <= 6
        # Row 1 changed: its line of tiles is repainted, nothing below it.
        seen = _rows_repainted(qtbot, model, 1, 1, painted=True)
        assert 1 in seen and max(seen) < per_line
    else:
        assert model.calls >= 41  # the stock view measures each of the 41 changed tiles


class StatusModel(CountingModel):
    """CountingModel whose rows have a status (``StatusRole``)."""

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        from atelier.studio.models import StatusRole

        if role == StatusRole:
            self.calls += 1
            return "failed" if index.row() % 10 == 0 else "completed"
        return super().data(index, role)

    def reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()


def test_status_proxy_costs_no_python_call_per_row_without_a_filter(qtbot: Any) -> None:
    from atelier.studio.models import StatusFilterProxy, StatusRole

    model = StatusModel(2)
    proxy = StatusFilterProxy()
    proxy.setSourceModel(model)
    python_calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal python_calls
        python_calls += event == "call"

    sys.setprofile(count)
    try:
        model.reset()  # what opening a 10,000-job batch does
        rows = proxy.rowCount()  # the proxy maps rows lazily, on first use
    finally:
        sys.setprofile(None)
    assert rows == 10_000
    assert python_calls < 50  # not one (or more) per row
    proxy.set_statuses({"failed"})
    assert proxy.rowCount() == 1_000
    assert {proxy.index(r, 0).data(StatusRole) for r in range(proxy.rowCount())} == {"failed"}
    proxy.set_statuses({"failed", "completed"})
    assert proxy.rowCount() == 10_000
    proxy.set_statuses(set())
    assert proxy.rowCount() == 10_000
