"""The price catalogue as a read-only table (Settings → Prices): the lines ``atelier prices``
prints (``atelier.pricing.catalogue_list``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from atelier.core.i18n import N_, tr
from atelier.pricing.catalogue_list import PriceLine
from atelier.studio.models.roles import Index

COLUMNS = (N_("Provider"), N_("Model"), N_("Images"), N_("Price"), N_("As of"), N_("Source"))


class PriceListModel(QAbstractTableModel):
    """One row per price: provider, model, which images, price, as of, source (with
    "third party" when read only in a third party's copy). A price older than 120 days says
    "check the provider's page" in its date cell; a model's lifecycle note is its tooltip."""

    def __init__(self, lines: Iterable[PriceLine] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self.lines: list[PriceLine] = list(lines)

    def set_lines(self, lines: Iterable[PriceLine]) -> None:
        """Show ``lines`` instead."""
        self.beginResetModel()
        self.lines = list(lines)
        self.endResetModel()

    def cells(self, x: PriceLine) -> tuple[str, ...]:
        """The row's texts, in ``COLUMNS`` order."""
        images = " ".join(v for v in (x.quality, x.size) if v != "*") or tr("any")
        as_of = x.as_of or "—"
        if x.stale:
            as_of = tr("{date} (check the provider's page)").format(date=as_of)
        source = tr(x.source) if x.source_kind in ("atelier", "user") else x.source
        if x.source_kind == "third party":
            source = tr("{source} (third party)").format(source=source)
        return x.provider, x.model, images, x.price, as_of, source

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.lines):
            return None
        x = self.lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(x)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return x.note or None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by ``column``'s text, the price column by its figure (stable: rows
        alike keep the list's order, so a model's prices stay together under a sort by
        provider or model)."""
        if not 0 <= column < len(COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        down = order == Qt.SortOrder.DescendingOrder  # reverse=: rows alike keep their order
        if column == COLUMNS.index(N_("Price")):  # by the figure ($2 before $10), unknown last
            self.lines.sort(key=lambda x: (x.usd is None, x.usd or 0.0), reverse=down)
        else:
            self.lines.sort(key=lambda x: self.cells(x)[column].casefold(), reverse=down)
        self.layoutChanged.emit()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section]) if 0 <= section < len(COLUMNS) else None
        return None
