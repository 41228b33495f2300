"""Delivery from the window: the Deliver section set up for S3 (moto's server) and Slack, a
run on draft, and the delivery states and URLs in the progress table, the gallery and the
progress page; after review, a pick delivers, a target that is down shows it, and "Retry
deliveries" sends once it is back. The section is saved with a template and loaded again."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atelier.core.secrets import get_secret
from atelier.sheet import library
from atelier.studio.models import JobsModel
from tests.fakes.receivers import SlackFake
from tests.fakes.s3 import CREDS, S3Server
from tests.support.qt import wait_until

DELIVERY_COLUMN = JobsModel.DELIVERY
TIP = Qt.ItemDataRole.ToolTipRole


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS["aws_secret_access_key"])


def _sheet(tmp_path: Path) -> Path:
    csv = tmp_path / "mugs.csv"
    csv.write_text(
        "Handle,Vendor,SKU,Title\n"
        "kinto-mug,Kinto,KM-1,Kinto mug\n"
        "hasami-cup,Hasami,HC-2,Hasami cup\n"
        "muji-bowl,無印良品,MB-3,Muji bowl\n",
        encoding="utf-8",
    )
    return csv


def _set_up(window: Any, tmp_path: Path) -> None:
    assert window.load_spreadsheet(_sheet(tmp_path))
    window.sheet.prompt_edit.setPlainText("Studio photo of {Title}")
    window.sheet.filename_edit.setText("{SKU}")
    window.batch.provider_combo.setCurrentIndex(window.batch.provider_combo.findData("draft"))
    window.batch.output_edit.setText(str(tmp_path / "out"))


def _deliver(window: Any, **fields: str) -> None:
    for name, value in fields.items():
        window.batch.deliver.edits[name].setText(value)


def _run(window: Any, qloop: asyncio.AbstractEventLoop) -> int:
    done: list[int] = []
    window.batch_done.connect(done.append)
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(done), 60, "the batch"))
    return done[0]


def test_s3_and_slack_from_the_deliver_section(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path, qtmodeltester: Any
) -> None:
    bucket = f"shop-{uuid.uuid4().hex[:8]}"
    with S3Server() as s3, SlackFake() as slack:
        s3.client().create_bucket(Bucket=bucket)
        _set_up(window, tmp_path)
        _deliver(
            window,
            s3_bucket=bucket,
            s3_key="products/{Vendor}/{file}",
            s3_endpoint=s3.url,
            s3_region="us-east-1",
            s3_public_url="https://cdn.example.com/{key}",
            slack_url=slack.url + "/services/T0/B0/secret",
        )
        bid = _run(window, qloop)
        label = window.progress.delivery_label
        qloop.run_until_complete(
            wait_until(lambda: "slack ✓" in label.text(), 20, "the Slack message's state")
        )
        objects = s3.objects(bucket)

    assert label.text() == "Delivery: 5 delivered · slack ✓"  # 3 images + started + finished
    assert sorted(objects) == [
        "products/Hasami/HC-2.png",
        "products/Kinto/KM-1.png",
        "products/無印良品/MB-3.png",
    ]
    assert len(slack.messages) == 2 and "3/3 succeeded" in slack.messages[1]

    model = window.progress.jobs_model
    qtmodeltester.check(model)
    assert model.headerData(DELIVERY_COLUMN, Qt.Orientation.Horizontal) == "Delivery"
    cells = [model.index(r, DELIVERY_COLUMN) for r in range(3)]
    assert [c.data() for c in cells] == ["s3 ✓"] * 3
    assert cells[0].data(TIP) == "s3: delivered → https://cdn.example.com/products/Kinto/KM-1.png"

    gallery = window.gallery.gallery_model
    assert all(t.caption().endswith("☁✓") for t in gallery.tiles)
    tip = gallery.index(1).data(TIP)
    assert "s3: delivered → https://cdn.example.com/products/Hasami/HC-2.png" in tip

    # The Slack address went to the keyring; the batch's settings name its entry only.
    stored = window.store.batch(bid).settings["delivery"]
    entry = stored["targets"][1]["url_secret"]
    assert "B0/secret" not in str(stored) and entry.startswith("slack:")
    assert get_secret(entry) == slack.url + "/services/T0/B0/secret"

    # Opened again from History, the states come from the store.
    window.open_batch(bid)
    assert [model.index(r, DELIVERY_COLUMN).data() for r in range(3)] == ["s3 ✓"] * 3
    assert window.progress.delivery_label.text() == "Delivery: 5 delivered · slack ✓"


def test_after_review_a_pick_delivers_and_retry_deliveries_sends_when_back(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    down = S3Server()  # the address is known; nothing listens yet
    bucket = f"later-{uuid.uuid4().hex[:8]}"  # moto's buckets outlive a server in one process
    _set_up(window, tmp_path)
    _deliver(window, s3_bucket=bucket, s3_endpoint=down.url, s3_region="us-east-1")
    box = window.batch.deliver
    box.mode_combo.setCurrentIndex(1)  # after review
    bid = _run(window, qloop)
    assert window.store.delivery_counts(bid)["pending"] == 0  # nothing picked, nothing sent
    assert window.progress.delivery_label.text() == ""

    gallery = window.gallery
    first = gallery.gallery_model.tiles[0]
    window.review.review([first.image_id], "picked", None)

    def failed_once() -> bool:
        s3 = first.deliveries.get("s3")
        return s3 is not None and s3.status == "pending" and bool(s3.error)

    qloop.run_until_complete(wait_until(failed_once, 20, "the failed first attempt"))
    assert first.caption().endswith("☁…")
    assert "waiting" in window.progress.jobs_model.index(0, DELIVERY_COLUMN).data()
    assert "1 waiting" in window.progress.delivery_label.text()

    with down:
        down.client().create_bucket(Bucket=bucket)
        window.acts.retry_deliveries.trigger()
        qloop.run_until_complete(
            wait_until(lambda: first.caption().endswith("☁✓"), 20, "the delivery, retried")
        )
        assert sorted(down.objects(bucket)) == ["KM-1.png"]
    assert window.progress.delivery_label.text() == "Delivery: 1 delivered"
    assert not any(t.deliveries for t in gallery.gallery_model.tiles[1:])  # not picked


def test_the_deliver_section_is_saved_with_a_template(window: Any, tmp_path: Path) -> None:
    _set_up(window, tmp_path)
    _deliver(
        window,
        s3_bucket="shop-images",
        s3_key="{Vendor}/{file}",
        webhook_url="https://example.com/hooks/atelier",
        cms_url="https://cms.example.com/api/products/{SKU}",
        shopify_shop="my-shop",
    )
    box = window.batch.deliver
    box.mode_combo.setCurrentIndex(1)
    assert [box.secret_combo.itemData(i) for i in range(box.secret_combo.count())] == [
        "webhook",
        "cms",
        "shopify:my-shop.myshopify.com",
    ]
    window.sheet.library.save_requested.emit("Mugs to the shop")
    saved = library.load_template("Mugs to the shop")
    assert saved.delivery is not None and saved.delivery.after_review
    assert [t.kind for t in saved.delivery.targets] == ["s3", "webhook", "cms", "shopify"]

    _deliver(window, s3_bucket="", webhook_url="", cms_url="", shopify_shop="")
    box.mode_combo.setCurrentIndex(0)
    window.sheet.library.load("Mugs to the shop")
    assert box.edits["s3_key"].text() == "{Vendor}/{file}"
    assert box.edits["shopify_shop"].text() == "my-shop"
    assert box.mode_combo.currentIndex() == 1


def test_a_bad_delivery_template_names_its_field(
    window: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    errors: list[str] = []
    window.report_error = lambda message, level="error": errors.append(message)
    _set_up(window, tmp_path)
    _deliver(window, s3_bucket="shop-images", s3_key="{Vendorr}/{file}")
    window.start_batch()
    qloop.run_until_complete(wait_until(lambda: bool(errors), 20, "the error"))
    assert "delivery s3.key" in errors[0] and "Vendor" in errors[0]
