"""Qt item models: the spreadsheet, the jobs of a batch and the batch history (the gallery's
is ``ui.gallery_model``); the item roles they share.

All are ``QAbstractItemModel`` subclasses (checked by ``qtmodeltester``); they hold display
state only and get their data from ``app`` (tables, store rows, engine events). Each lives in
a module of this package; ``from ui.models import X`` reaches every one of them.
"""

from __future__ import annotations

from ui.models.batches import BATCH_STATUS_LABELS, BatchListModel, HistoryModel
from ui.models.jobs import JobsModel, JobView, StatusFilterProxy
from ui.models.roles import (
    ImageIdRole,
    Index,
    JobIdRole,
    PathRole,
    ReviewRole,
    ShownRole,
    SortRole,
    StatusRole,
)
from ui.models.sheet import RowFilterProxy, SpreadsheetModel

__all__ = [
    "BATCH_STATUS_LABELS",
    "BatchListModel",
    "HistoryModel",
    "ImageIdRole",
    "Index",
    "JobIdRole",
    "JobView",
    "JobsModel",
    "PathRole",
    "ReviewRole",
    "RowFilterProxy",
    "ShownRole",
    "SortRole",
    "SpreadsheetModel",
    "StatusFilterProxy",
    "StatusRole",
]
