"""The progress table's model filters and sorts its own rows, with no proxy between it and
the view, so a painted cell costs two calls into Python instead of fifteen (``JobsModel``):
the rows, the order and the selection are what Qt's ``QSortFilterProxyModel`` gave."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    Qt,
)
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QTableView

from atelier.core.events import JobChanged
from atelier.studio.bridge import JobUpdate
from atelier.studio.models.jobs import JobsModel, JobView
from atelier.studio.models.roles import JobIdRole, SortRole, StatusRole

DESC = Qt.SortOrder.DescendingOrder
ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.FontRole,
    JobIdRole,
    StatusRole,
    SortRole,
]


def _jobs(n: int, seed: int = 5) -> list[JobView]:
    rng = random.Random(seed)
    return [
        JobView(
            i + 100,
            i,
            f"{rng.choice(['Mug', 'mug', 'Teapot', 'Bowl'])} {i}\nwhite",
            f"{i}.png",
            rng.choice(["pending", "completed", "failed"]),
            cost=rng.choice([None, 0.04, 0.011, 0.04]),
            error=rng.choice(["", "refused"]),
        )
        for i in range(n)
    ]


def _ids(model: JobsModel) -> list[int]:
    return [model.index(r, 0).data(JobIdRole) for r in range(model.rowCount())]


def test_filter_and_sort_show_the_rows_the_proxies_showed(qapp: Any, qtmodeltester: Any) -> None:
    jobs = _jobs(60)
    model = JobsModel()
    model.set_jobs(jobs)
    assert _ids(model) == [j.id for j in jobs]
    model.set_filter({"failed", "pending"}, "MUG")
    want = [j for j in jobs if j.status in ("failed", "pending") and "mug" in j.prompt.casefold()]
    assert _ids(model) == [j.id for j in want] and want
    # by cost, highest first: equal costs keep job order; an unknown cost counts as lowest
    model.sort(6, DESC)
    by_cost = sorted(want, key=lambda j: -(-1.0 if j.cost is None else j.cost))
    assert _ids(model) == [j.id for j in by_cost]
    qtmodeltester.check(model)
    model.sort(-1)  # no sort column: job order again
    assert _ids(model) == [j.id for j in want]
    model.sort(1)  # a re-made table keeps its sort
    model.set_jobs(jobs[:10])
    assert _ids(model) == [
        j.id for j in sorted(jobs[:10], key=lambda j: j.prompt)
        if j.status != "completed" and "mug" in j.prompt.casefold()
    ]  # fmt: skip
    model.set_filter()
    assert model.rowCount() == 10


def test_the_selection_follows_its_rows_when_sorted(qapp: Any) -> None:
    model = JobsModel()
    model.set_jobs(_jobs(30))
    view = QTableView()
    view.setModel(model)
    view.selectRow(4)
    chosen = model.job_at(4).id
    model.sort(1, DESC)
    (row,) = view.selectionModel().selectedRows()
    assert model.job_at(row.row()).id == chosen and row.row() != 4


def test_a_changed_job_repaints_its_own_row_when_sorted(qapp: Any) -> None:
    model = JobsModel()
    jobs = _jobs(40)
    model.set_jobs(jobs)
    model.sort(0, DESC)
    spans: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=(): spans.append((a.row(), b.row())))
    model.update_jobs({jobs[3].id: JobUpdate(JobChanged(1, jobs[3].id, "running", 2))})
    (span,) = spans
    assert span == (36, 36) and model.job_at(36).id == jobs[3].id
    assert model.index(36, 3).data(StatusRole) == "running"
    model.set_filter({"failed"})
    hidden = next(j for j in jobs if j.status != "failed")
    model.update_jobs({hidden.id: JobUpdate(JobChanged(1, hidden.id, "completed", 2))})
    assert len(spans) == 1  # a filtered-out row: nothing on screen changed
    assert Counter(j.status for j in model.jobs) == Counter(model.counts())


def test_multidata_gives_what_data_gives(qapp: Any) -> None:
    model = JobsModel()
    model.set_jobs(_jobs(12))
    model.sort(6)
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            index = model.index(row, col)
            for role in ROLES:
                wanted = QModelRoleData(role)
                model.multiData(index, QModelRoleDataSpan(wanted))
                assert _same(wanted.data()) == _same(model.data(index, role)), (row, col, role)


def _same(value: Any) -> Any:
    """``value``, or for an icon (which has no ``==``) its cache key."""
    return value.cacheKey() if isinstance(value, QIcon) else value


class _Counted(JobsModel):
    calls: Counter[str]

    def index(self, row: int, column: int, parent: Any = QModelIndex()) -> Any:
        self.calls["index"] += 1
        return super().index(row, column, parent)

    def data(self, index: Any, role: int = 0) -> Any:
        self.calls["data"] += 1
        return super().data(index, role)

    def multiData(self, index: Any, span: Any) -> None:
        self.calls["multiData"] += 1
        super().multiData(index, span)


def test_a_painted_cell_costs_two_calls_into_python(qapp: Any) -> None:
    model = _Counted()
    model.calls = Counter()
    model.set_jobs(_jobs(50))
    view = QTableView()
    view.setModel(model)
    view.resize(900, 300)
    view.show()
    qapp.processEvents()
    model.calls.clear()
    view.viewport().repaint()
    port = view.viewport()
    columns = view.columnAt(port.width() - 1) + 1 or model.columnCount()
    cells = (view.rowAt(port.height() - 1) + 1) * columns
    assert cells > 0 and model.calls["multiData"] >= cells, (cells, model.calls)  # painted
    assert sum(model.calls.values()) <= 2 * cells, (cells, model.calls)


def test_the_painted_cell_shows_its_text(qapp: Any) -> None:
    """What ``multiData`` gives is what is painted (a prompt of W's inks its cell)."""
    model = JobsModel()
    view = QTableView()
    view.setModel(model)
    view.resize(900, 200)
    view.show()

    def ink(prompt: str) -> int:
        model.set_jobs([JobView(1, 0, prompt, "a.png", "completed")])
        qapp.processEvents()
        image = view.viewport().grab(view.visualRect(model.index(0, 1))).toImage()
        dark = QColor(Qt.GlobalColor.darkGray).lightness()
        return sum(
            image.pixelColor(x, y).lightness() < dark
            for x in range(image.width())
            for y in range(image.height())
        )

    assert ink("WWWWWWWWWW") > 20 and ink("") == 0


def test_sorting_keeps_the_rows_a_filter_showed(qapp: Any) -> None:
    """A sort reorders the rows shown; jobs that changed status since the filter was set stay
    until it is set again (as with Qt's proxy, rows keep their place while a batch runs)."""
    model = JobsModel()
    jobs = _jobs(20)
    model.set_jobs(jobs)
    model.set_filter({"failed"})
    shown = set(_ids(model))
    failed = next(j for j in jobs if j.status == "failed")
    model.update_jobs({failed.id: JobUpdate(JobChanged(1, failed.id, "completed", 2))})
    model.sort(0, DESC)
    assert set(_ids(model)) == shown and _ids(model) == sorted(shown, reverse=True)


def test_selected_rows_still_shown_stay_selected_when_the_table_is_filtered(qapp: Any) -> None:
    """The designer selects rows, then narrows the table: the selected rows still shown stay
    selected (as with Qt's filter proxy), so "Retry selected" takes them."""
    from atelier.studio.pages.progress import ProgressPage

    page = ProgressPage([])
    jobs = _jobs(30)
    page.set_jobs(jobs)
    failed = [j for j in jobs if j.status == "failed"]
    other = next(j for j in jobs if j.status != "failed")
    view = page.jobs_view
    for j in [*failed[:2], other]:
        view.selectionModel().select(
            page.jobs_model.index(page.jobs_model.rows_of([j.id])[0], 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert set(page.selected_job_ids()) == {failed[0].id, failed[1].id, other.id}
    page.show_failed()
    assert set(page.selected_job_ids()) == {failed[0].id, failed[1].id}
    page.job_search.setText(failed[0].prompt.split("\n")[0])
    assert page.selected_job_ids() == [failed[0].id]
