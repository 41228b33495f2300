"""The imported spreadsheet (its ticks and row filter) as a Qt item model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from atelier.sheet.row_selection import RowSelection
from atelier.sheet.tabular import Table
from atelier.studio.models.roles import (
    Index,
    ShownRole,
)

_EXCLUDED_COLOR = QColor("#9aa0a6")  # rows that make no job (Shopify's extra-photo rows)


class SpreadsheetModel(QAbstractTableModel):
    """Read-only view of an imported ``Table``; 100,000 rows cost nothing until shown.

    The first column carries each row's tick (``Qt.CheckStateRole``, user-checkable): the
    rows ticked are the rows the batch makes (``selection.planned()``). Rows the export's
    conventions leave out (``table.excluded``) have no tick.

    Signals:
        ticks_changed(): a row was ticked or unticked, or all / none were.

    Attributes:
        table: the table shown (``None`` before the first import).
        selection: its ticks and filter (``None`` with no table).
    """

    ticks_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table: Table | None = None
        self.selection: RowSelection | None = None

    def set_table(self, table: Table | None) -> None:
        """Show ``table`` with every row ticked; the same file read again with as many rows
        keeps its ticks."""
        old = self.selection
        self.beginResetModel()
        self.table = table
        self.selection = RowSelection(table) if table is not None else None
        if old is not None and self.selection is not None and old.table.source == table.source:
            self.selection.keep_ticks_of(old)
        self.endResetModel()
        self.ticks_changed.emit()

    def set_all(self, ticked: bool) -> None:
        """Tick (select all) or untick (select none) every row the filter shows: one pass in
        Python and one ``dataChanged`` for the column, whatever the number of rows."""
        if self.selection is None or not len(self.selection):
            return
        self.selection.set_shown(ticked)
        self.dataChanged.emit(
            self.index(0, 0),
            self.index(len(self.selection) - 1, 0),
            [Qt.ItemDataRole.CheckStateRole],
        )
        self.ticks_changed.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self.table is None else len(self.table.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() or self.table is None else len(self.table.headers)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if (
            index.isValid()
            and index.column() == 0
            and self.selection is not None
            and self.selection.tickable(index.row())
        ):
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.table is None:
            return None
        if index.column() == 0 and self.selection is not None:
            if role == Qt.ItemDataRole.CheckStateRole:
                if not self.selection.tickable(index.row()):
                    return None
                ticked = self.selection.is_ticked(index.row())
                return Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
            if role == ShownRole:
                return "1" if self.selection.shown(index.row()) else "0"
        excluded = self.table.excluded.get(index.row())
        if role == Qt.ItemDataRole.ForegroundRole:
            return _EXCLUDED_COLOR if excluded else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self.table.rows[index.row()][index.column()]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{excluded}. {value}" if excluded else value
            if len(value) > 120:
                return value[:117].replace("\n", " ") + "…"
            return value.replace("\n", " ")
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            role != Qt.ItemDataRole.CheckStateRole
            or not index.isValid()
            or index.column() != 0
            or self.selection is None
        ):
            return False
        ticked = Qt.CheckState(value) == Qt.CheckState.Checked
        if not self.selection.set_ticked(index.row(), ticked):
            return False
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.ticks_changed.emit()
        return True

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self.table is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if role != Qt.ItemDataRole.DisplayRole:
                return None
            return self.table.headers[section] if 0 <= section < len(self.table.headers) else None
        if not 0 <= section < len(self.table.rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole:  # the file's own line, and why a row is no job
            where = self.table.place(self.table.line_numbers[section])
            excluded = self.table.excluded.get(section)
            return f"{where}: {excluded}" if excluded else where
        return None


class RowFilterProxy(QSortFilterProxyModel):
    """The spreadsheet as its row filter shows it (``SpreadsheetModel.selection``: a search over
    the row values, "only rows without an image").

    Like ``StatusFilterProxy`` it filters with Qt's own filter on a role (``ShownRole``) instead
    of a Python ``filterAcceptsRow``: with no filter Qt accepts every row without calling into
    Python (100,000 calls when a big sheet opens). Ticks do not move rows, so the proxy does not
    filter again on every ``dataChanged`` (``dynamicSortFilter`` off): ``refilter`` does.
    """

    def __init__(self, source: SpreadsheetModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setDynamicSortFilter(False)
        self.setFilterRole(ShownRole)
        self.setFilterKeyColumn(0)
        self.setSourceModel(source)
        self.sheet = source

    def set_filter(self, search: str, without_image: bool) -> None:
        """Show the rows with a value containing ``search`` (case-insensitive; blank: all)
        and, with ``without_image``, no product photo (``atelier.sheet.row_selection.has_image``)."""
        selection = self.sheet.selection
        if selection is None:
            return
        selection.set_filter(search, without_image)
        pattern = "^1$" if selection.filtering() else ""
        if self.filterRegularExpression().pattern() != pattern:
            self.setFilterRegularExpression(pattern)
        else:
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
