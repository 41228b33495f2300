"""Opening a big batch in two steps, so its first screen shows at once: the first screenful of
rows and tiles is read on the spot, the whole batch in a worker thread, which then replaces
them (reading 10,000 jobs of three versions takes 0.6 s, most of it making their ``Path``s)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from atelier.store import Store
from atelier.studio.models import JobView
from atelier.studio.models.gallery import Tile, load_views

FIRST_SCREEN = 300  # tiles read before the first paint: several screens of the gallery
BIG = 1000  # jobs above which a batch opens in two steps
READ_REST_AFTER_MS = 400  # the gallery's cold first screen takes 0.3–0.5 s (bench.gallery)

Views = tuple[list[JobView], list[Tile]]


class BatchLoader(QObject):
    """``first(store, batch_id)`` gives the first screenful of a big batch (``None`` for a
    small one, read whole as before) and reads the rest in a thread.

    Signals:
        loaded(int, object): ``(batch_id, views)``, the whole batch, on the GUI thread.
    """

    loaded = Signal(int, object)

    def first(self, store: Store, batch_id: int) -> Views | None:
        """The first ``FIRST_SCREEN`` jobs' views of a batch of more than ``BIG`` jobs, the
        rest read in a worker thread (``loaded``); ``None`` for a smaller batch."""
        if store.batch(batch_id).total <= BIG:
            return None
        views = load_views(store, batch_id, FIRST_SCREEN)
        # The reading thread holds the GIL for most of its 0.6 s: started at once, it starves
        # the GUI thread decoding the first screen's thumbnails. It starts once they are in.
        QTimer.singleShot(READ_REST_AFTER_MS, lambda: self._read_rest(store, batch_id))
        return views

    def _read_rest(self, store: Store, batch_id: int) -> None:
        threading.Thread(
            target=lambda: self.loaded.emit(batch_id, load_views(store, batch_id)),
            name=f"atelier-open-{batch_id}",
            daemon=True,
        ).start()
