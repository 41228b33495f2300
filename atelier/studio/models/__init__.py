"""The window's Qt item models: the spreadsheet, a batch's jobs, the history, the gallery and the team's batches."""

from __future__ import annotations

from atelier.studio.models.batches import BATCH_STATUS_LABELS, BatchListModel, HistoryModel
from atelier.studio.models.jobs import JobsModel, JobView, StatusFilterProxy
from atelier.studio.models.roles import (
    ChannelRole,
    ImageIdRole,
    Index,
    JobIdRole,
    PathRole,
    ReviewRole,
    ShownRole,
    SortRole,
    StatusRole,
)
from atelier.studio.models.sheet import RowFilterProxy, SpreadsheetModel

__all__ = [
    "BATCH_STATUS_LABELS",
    "BatchListModel",
    "ChannelRole",
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
