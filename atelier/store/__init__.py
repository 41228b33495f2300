"""The SQLite store: batches, jobs, attempts and images; the single source of truth.

``Store`` is the one object the engine, the controller and the views' loaders use. Its parts:
``db`` (connection, transactions and the only writers of a status, checked against
``atelier.core.status``), ``schema`` (numbered migrations), ``batches``, ``jobs`` and ``images``
(versions and review) and ``deliveries`` (the delivery outbox).
Which threads may use it: see ``docs/architecture.md`` (any thread; one lock serialises).
"""

from __future__ import annotations

from pathlib import Path

from atelier.store.batches import BatchStore
from atelier.store.channels import ChannelStore, ChannelVerdict
from atelier.store.db import now_iso
from atelier.store.deliveries import DeliveryRow, DeliveryStore, NewDelivery
from atelier.store.images import ImageStore
from atelier.store.jobs import JobStore
from atelier.store.rows import BatchRow, ImageRow, JobRow, JobSummary

__all__ = [
    "BatchRow",
    "ChannelVerdict",
    "DeliveryRow",
    "ImageRow",
    "JobRow",
    "JobSummary",
    "NewDelivery",
    "Store",
    "now_iso",
]


class Store(BatchStore, JobStore, ImageStore, DeliveryStore, ChannelStore):
    """Thread-safe access to the SQLite store at ``path`` (created and migrated as needed).

    Raises:
        atelier.store.schema.StoreVersionError: the file was written by a newer Atelier.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
