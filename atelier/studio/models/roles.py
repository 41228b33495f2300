"""The item roles the models share, and the index type their methods take."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

SortRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
JobIdRole = Qt.ItemDataRole.UserRole + 3
PathRole = Qt.ItemDataRole.UserRole + 4
ReviewRole = Qt.ItemDataRole.UserRole + 5  # "picked:3" (flag:stars), filtered by regex
ImageIdRole = Qt.ItemDataRole.UserRole + 6
ShownRole = Qt.ItemDataRole.UserRole + 7  # "1" when the row filter shows the row, else "0"
ChannelRole = Qt.ItemDataRole.UserRole + 12  # " amazon rakuten ": the channels a tile fails
Index = QModelIndex | QPersistentModelIndex
