"""Issue 29: every store write the window makes leaves the GUI thread (Anki's ``CollectionOp``;
``docs/architecture.md``: the GUI thread does only small reads). The store is spied on: each
write (a ``BEGIN IMMEDIATE`` transaction, or a public writer) records the thread it ran on;
then a designer's paid day is clicked through: Start, "Raise the cap…", "Retry all failed",
picks, rejects and stars in the gallery, Regenerate, a version chosen in the viewer, Resume.
Paid runs use the fake OpenAI server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atelier.core.status import JobStatus
from tests.fakes.openai_server import FakeOpenAI
from tests.studio.test_spend_confirmation import Asker, _paid_shop
from tests.support.qt import wait_until

WRITERS = (
    "tx",  # every write of the store is one of these transactions
    "add_cost",
    "add_deliveries",
    "add_image",
    "cancel_unfinished",
    "claim_delivery",
    "claim_job",
    "close_open_attempts",
    "create_batch",
    "end_delivery",
    "finish_attempt",
    "forget_images",
    "move_image",
    "recover",
    "recover_deliveries",
    "reset_for_retry",
    "retry_deliveries",
    "set_batch_status",
    "set_delivery_payload",
    "set_job_status",
    "set_pick",
    "set_remote_job",
    "set_review",
    "set_spec",
    "start_attempt",
    "start_version",
    "update_batch_settings",
    "set_run_settings",
)


class WriteSpy:
    """Wraps the store's writers on the instance: ``on_gui`` collects each write made on the
    GUI (main) thread, ``elsewhere`` the names of those made on any other thread."""

    def __init__(self, store: Any) -> None:
        self.on_gui: list[str] = []
        self.elsewhere: set[str] = set()
        for name in WRITERS:
            setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def writer(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                self.on_gui.append(name)
            else:
                self.elsewhere.add(name)
            return real(*args, **kwargs)

        return writer


def _settle(qloop: asyncio.AbstractEventLoop, result: Any, pred: Callable[[], bool]) -> None:
    """Let a window action finish: its op when it returned one, then until ``pred``."""
    if isinstance(result, asyncio.Future):
        qloop.run_until_complete(result)
    qloop.run_until_complete(wait_until(pred, 60, "the action"))


def test_every_store_write_of_the_window_leaves_the_gui_thread(
    qtbot: Any,
    window: Any,
    qloop: asyncio.AbstractEventLoop,
    data_dir: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ask = Asker()
    window.ask_spend = ask
    fake_openai.script_for("NH-CND-003", ["moderation_blocked", "moderation_blocked"])
    _paid_shop(window, data_dir, tmp_path / "shop", fake_openai, monkeypatch)
    store = window.store
    spy = WriteSpy(store)
    done: list[int] = []
    window.batch_done.connect(done.append)

    window.start_batch()  # stores the batch (and its cap)
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the first run"))
    bid = done[0]
    failed = store.failed_job_ids(bid)
    assert len(failed) == 1

    # "Raise the cap…" and resume: a new cap, the failed job reset (it fails once more)
    result = window.spending.raise_cap(bid)
    _settle(qloop, result, lambda: len(done) == 2)
    assert ask.questions[-1].action == "Raise the cap and resume"
    assert store.job(failed[0]).status == JobStatus.FAILED

    # "Retry all failed": the spend question, a cap, the job reset and run
    window.acts.retry_failed.trigger()
    qloop.run_until_complete(wait_until(lambda: len(done) == 3, 60, "the retry"))
    assert store.job(failed[0]).status == JobStatus.COMPLETED
    assert ask.questions[-1].action == "Retry"

    # culling keys in the gallery: reject, pick, stars
    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    view, proxy, model = gallery.gallery_view, gallery.gallery_proxy, gallery.gallery_model
    qloop.run_until_complete(wait_until(lambda: proxy.rowCount() == 38, 10, "tiles"))
    view.setFocus()
    view.setCurrentIndex(proxy.index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_X)  # each flag moves on to the next image
    qtbot.keyClick(view, Qt.Key.Key_P)
    qtbot.keyClick(view, Qt.Key.Key_5)
    first, second, third = (model.tiles[i].image_id for i in range(3))

    def reviewed() -> bool:
        by_id = {im.id: im for im in store.images(bid)}
        flags = [by_id[i].flag for i in (first, second)]
        return flags == ["rejected", "picked"] and by_id[third].stars == 5

    qloop.run_until_complete(wait_until(reviewed, 10, "the review stored"))

    # Regenerate the rejected job (the spend question, a cap, its next version)
    job = store.image(first).job_id
    before = len(done)
    gallery.regenerate_requested.emit([job])
    qloop.run_until_complete(wait_until(lambda: len(done) > before, 60, "the regeneration"))
    assert store.job(job).version == 2

    # the viewer: v1 back as the pick
    viewer = window.review.open_viewer(job)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    viewer.use_button.click()
    qloop.run_until_complete(
        wait_until(lambda: store.job(job).pick_version == 1, 10, "the version chosen")
    )
    viewer.close()

    assert spy.on_gui == [], f"store writes on the GUI thread: {spy.on_gui}"
    # the spy saw the window's writes (elsewhere): it is not blind
    assert {"set_review", "reset_for_retry", "set_run_settings", "set_pick"} <= (spy.elsewhere), (
        spy.elsewhere
    )


def test_regenerate_all_rejected_sees_the_reject_just_pressed(
    qtbot: Any, window: Any, qloop: asyncio.AbstractEventLoop, data_dir: Path, tmp_path: Path
) -> None:
    """A reject is stored by a store op; "Regenerate all rejected" pressed right after it
    reads the rejects on the GUI thread, after the ops asked before it (``StoreOps.drain``)."""
    assert window.load_spreadsheet(data_dir / "jp-zakka-shift_jis.csv")
    window.sheet.prompt_edit.setPlainText("{商品名}、{カラー}")
    window.sheet.filename_edit.setText("{品番}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(tmp_path / "zakka"))
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: len(done) == 1, 60, "the run"))
    window.tabs.setCurrentIndex(3)
    gallery = window.gallery
    view, proxy = gallery.gallery_view, gallery.gallery_proxy
    qloop.run_until_complete(wait_until(lambda: proxy.rowCount() == 12, 10, "tiles"))
    view.setFocus()
    view.setCurrentIndex(proxy.index(0, 0))
    job = gallery.gallery_model.tiles[0].job_id
    qtbot.keyClick(view, Qt.Key.Key_X)
    op = window.review.regenerate([])  # at once: the reject's op may not have run yet
    assert op is not None, window.statusBar().currentMessage()
    assert qloop.run_until_complete(op) == [job]
