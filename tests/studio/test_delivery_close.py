"""Issue 27 §4 in the window: a webhook that accepts and never answers does not hold a run or
the window. The run ends once the delivery wait (``ATELIER_DELIVERY_WAIT``) is over, with its
report written and the unfinished deliveries waiting in the outbox; "Retry deliveries" sends
them once the receiver answers; closing the window while a run still waits on the receiver
takes no time and leaves the rest in the outbox (``pending``, none held as in flight), with the
report written."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from atelier.core import paths
from atelier.store import Store
from tests.fakes.stalling_receivers import StallingReceiver
from tests.studio.test_delivery_window import _deliver, _set_up
from tests.support.qt import wait_until

IMAGES = 3
LEFT = IMAGES + 1  # an image.completed per image and the batch.finished message


def _images_made(window: Any) -> bool:
    bid = window.batch_id
    return bid is not None and window.store.batch(bid).counts.get("completed", 0) == IMAGES


def test_a_dead_receiver_holds_the_run_only_for_the_wait_then_retry_delivers(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_DELIVERY_WAIT", "1")
    with StallingReceiver("silent") as hook:
        _set_up(window, tmp_path)
        _deliver(window, webhook_url=hook.url + "/hooks")
        done: list[int] = []
        window.batch_done.connect(done.append)
        window.start_batch()
        qloop.run_until_complete(wait_until(lambda: _images_made(window), 60, "the images"))
        made = time.monotonic()
        qloop.run_until_complete(wait_until(lambda: bool(done), 20, "the run's end"))
        held = time.monotonic() - made
        bid = done[0]
        assert held < 1 + 8, held
        report = json.loads((tmp_path / "out" / "atelier-report.json").read_text("utf-8"))
        assert report["deliveries"] == {"delivered": 0, "failed": 0, "pending": LEFT}
        assert {d.status for d in window.store.deliveries(bid)} == {"pending"}
        label = window.progress.delivery_label
        qloop.run_until_complete(
            wait_until(lambda: f"{LEFT} waiting" in label.text(), 10, "the delivery line")
        )

        hook.heal()
        window.deliveries.retry()
        qloop.run_until_complete(
            wait_until(lambda: f"{LEFT} delivered" in label.text(), 30, "the deliveries")
        )
        assert window.store.delivery_counts(bid)["delivered"] == LEFT
        started = time.monotonic()
        window.close()
        assert time.monotonic() - started < 3


def test_closing_the_window_while_the_run_waits_on_a_dead_receiver(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_DELIVERY_WAIT", "600")  # the user does not wait that long
    with StallingReceiver("silent") as hook:
        _set_up(window, tmp_path)
        _deliver(window, webhook_url=hook.url + "/hooks")
        window.start_batch()
        qloop.run_until_complete(wait_until(lambda: _images_made(window), 60, "the images"))
        qloop.run_until_complete(wait_until(lambda: hook.stalled >= 1, 20, "a held call"))
        bid = window.batch_id
        # The run waits on the receiver once its batch.finished message is in the outbox too
        # (written as the jobs settle, a moment after the last image on a loaded machine).
        qloop.run_until_complete(
            wait_until(lambda: len(window.store.deliveries(bid)) == LEFT, 20, "the outbox")
        )
        assert window.host.is_running(bid)  # waiting on the receiver
        started = time.monotonic()
        window.close()
        took = time.monotonic() - started
    assert took < 5, took
    store = Store(paths.store_path())  # as the next start, or `atelier deliver`, sees it
    rows = store.deliveries(bid)
    store.close()
    assert len(rows) == LEFT and {r.status for r in rows} == {"pending"}
    report = json.loads((tmp_path / "out" / "atelier-report.json").read_text("utf-8"))
    assert report["succeeded"] == IMAGES
    assert report["deliveries"] == {"delivered": 0, "failed": 0, "pending": LEFT}


def test_events_queued_when_the_window_closes_are_not_shown_after(
    window: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    """A delivery's change the engine queued just before the window closed is dropped with the
    window, not flushed onto views whose store is closed (before: a later flush read the closed
    store, "Cannot operate on a closed database", seen in the next test's event loop)."""
    from atelier.core.events import DeliveryChanged

    window.batch_id = 1
    window.close()
    window.store.close()
    window.bridge(DeliveryChanged(1, None, None, "s3", "delivered"))
    qloop.run_until_complete(asyncio.sleep(0.3))  # three flush intervals: an error would show
