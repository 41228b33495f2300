"""Delivery end to end on the draft provider: moto's S3 server (objects, keys from templates,
content types, cache headers, metadata), Standard Webhooks verified by the ``standardwebhooks``
package, Slack, a CMS and Shopify's GraphQL fakes; faults, and the outbox's promises."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from atelier.core import paths
from atelier.core.delivery_config import (
    CmsTarget,
    Delivery,
    S3Target,
    ShopifyTarget,
    SlackTarget,
    WebhookTarget,
)
from atelier.core.models import JobSpec, RunSettings
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.store import Store
from tests.fakes.receivers import CmsFake, FaultProxy, ShopifyFake, SlackFake, WebhookReceiver
from tests.fakes.s3 import CREDS, S3Server
from tests.support.batches import store_batch

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = {"backoff_s": 0.05, "max_backoff_s": 0.2, "timeout_s": 1.0}


def _bucket(s3: S3Server) -> str:
    name = f"shop-{uuid.uuid4().hex[:10]}"
    s3.client().create_bucket(Bucket=name)
    return name


def _specs(n: int = 3) -> list[JobSpec]:
    vendors = ["Kinto", "Hasami", "無印良品"]
    return [
        JobSpec(
            prompt=f"A mug {i}",
            output_path=f"mug-{i}.png",
            size="256x256",
            row_values={"Vendor": vendors[i % 3], "Variant SKU": f"SKU-{i}", "Title": f"Mug {i}"},
        )
        for i in range(n)
    ]


def _run(tmp_path: Path, delivery: Delivery, specs: list[JobSpec] | None = None):
    store = Store(paths.store_path())  # the one the CLI opens (ATELIER_HOME)
    rs = RunSettings(provider="draft", model="draft", delivery=delivery)
    bid = store_batch(store, rs, specs or _specs(), tmp_path / "out")
    engine = Engine(store, make_provider_factory(Settings()))
    report = asyncio.run(engine.run(bid))
    return store, bid, report


def test_s3_webhook_slack_and_cms_as_made(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("ATELIER_CMS_TOKEN", "cms-token-12345678")
    bucket = _bucket(s3)
    with (
        WebhookReceiver(SECRET) as hook,
        SlackFake() as slack,
        CmsFake("cms-token-12345678") as cms,
    ):
        monkeypatch.setenv("ATELIER_SLACK_WEBHOOK", slack.url + "/services/T0/B0/x")
        delivery = Delivery(
            targets=[
                S3Target(
                    bucket=bucket,
                    key="products/{Vendor}/{Variant SKU}.png",
                    endpoint_url=s3.url,
                    region="us-east-1",
                    public_url="https://cdn.example.com/{key}",
                ),
                WebhookTarget(url=hook.url + "/hooks"),
                SlackTarget(),
                CmsTarget(url=cms.url + "/api/products/{Variant SKU}"),
            ],
            **FAST,
        )
        _store, bid, report = _run(tmp_path, delivery)

    objects = s3.objects(bucket)
    assert sorted(objects) == [
        "products/Hasami/SKU-1.png",
        "products/Kinto/SKU-0.png",
        "products/無印良品/SKU-2.png",
    ]
    head = objects["products/Kinto/SKU-0.png"]
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "public, max-age=31536000"
    assert head["Metadata"]["atelier-batch"] == str(bid)
    body = s3.client().get_object(Bucket=bucket, Key="products/Kinto/SKU-0.png")["Body"].read()
    assert body == (tmp_path / "out" / "mug-0.png").read_bytes()

    assert hook.rejected == 0
    kinds = [e["type"] for e in hook.events]
    assert kinds.count("image.completed") == 3 and kinds[-1] == "batch.finished"
    first = next(e for e in hook.events if e["data"].get("job", {}).get("seq") == 1)
    assert first["data"]["urls"] == ["https://cdn.example.com/products/Kinto/SKU-0.png"]
    assert first["data"]["job"]["row"]["Variant SKU"] == "SKU-0"
    assert len(set(hook.ids)) == len(hook.ids) == 4

    assert sorted(c[1] for c in cms.calls) == [f"/api/products/SKU-{i}" for i in range(3)]
    assert {c[0] for c in cms.calls} == {"PATCH"}
    assert cms.calls[0][2]["image_url"].startswith("https://cdn.example.com/products/")

    assert len(slack.messages) == 2 and slack.too_fast == 0
    assert slack.messages[0].startswith("▶️ Atelier started")
    assert "3/3 succeeded, 0 failed" in slack.messages[1]
    assert "https://cdn.example.com/products/" in slack.messages[1]

    assert report.deliveries == {"delivered": 3 + 4 + 2 + 3, "failed": 0, "pending": 0}
    r0 = report.results[0]
    assert {d.target: d.status for d in r0.deliveries} == {
        "s3": "delivered",
        "webhook": "delivered",
        "cms": "delivered",
    }
    assert r0.deliveries[0].url == "https://cdn.example.com/products/Kinto/SKU-0.png"


@pytest.mark.timing
def test_faults_are_retried_and_permanent_ones_fail_without_failing_the_image(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    bucket = _bucket(s3)
    with FaultProxy(s3.url) as proxy, WebhookReceiver(SECRET) as hook:
        proxy.fail([500, 503, "timeout"])  # S3: two 5xx and a timeout, then fine
        hook.fail([429, 502])
        delivery = Delivery(
            targets=[
                S3Target(bucket=bucket, endpoint_url=proxy.url, region="us-east-1"),
                WebhookTarget(url=hook.url),
            ],
            **FAST,
        )
        store, bid, report = _run(tmp_path, delivery)
    assert report.succeeded == 3
    assert sorted(s3.objects(bucket)) == ["mug-0.png", "mug-1.png", "mug-2.png"]
    assert report.deliveries["failed"] == 0
    attempts = [len(store.delivery_attempts(d.id)) for d in store.deliveries(bid)]
    assert sum(attempts) == len(attempts) + 5  # each fault cost one more attempt
    # every webhook arrived, each id once verified; retried ones repeat their id
    assert len(set(hook.ids)) == 4 and hook.rejected == 0


def test_wrong_credentials_fail_the_delivery_only(tmp_path: Path, s3: S3Server) -> None:
    bucket = _bucket(s3)
    with FaultProxy(s3.url) as proxy:
        proxy.fail([403] * 3)
        delivery = Delivery(
            targets=[S3Target(bucket=bucket, endpoint_url=proxy.url, region="us-east-1")], **FAST
        )
        store, bid, report = _run(tmp_path, delivery)
    assert report.succeeded == 3 and report.failed == 0
    assert report.deliveries == {"delivered": 0, "failed": 3, "pending": 0}
    rows = store.deliveries(bid)
    assert all("HTTP 403" in (d.error or "") and d.attempts == 1 for d in rows)  # not retried


def test_target_down_for_the_run_then_atelier_deliver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.cli import run_cli

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS["aws_secret_access_key"])
    down = S3Server()  # its address is known; nothing listens yet
    delivery = Delivery(
        targets=[S3Target(bucket="later-shop", endpoint_url=down.url, region="us-east-1")],
        max_attempts=2,
        **FAST,
    )
    store, bid, report = _run(tmp_path, delivery)
    assert report.succeeded == 3
    assert report.deliveries["failed"] == 3
    assert all(
        "could not connect" in (d.error or "") or "Endpoint" in (d.error or "")
        for d in store.deliveries(bid)
    )
    store.close()
    with down:
        down.client().create_bucket(Bucket="later-shop")
        r = run_cli("deliver", str(bid), "--format", "json")
        assert r.code == 0, r.err
        assert r.report()["deliveries"] == {"delivered": 3, "failed": 0, "pending": 0}
        assert sorted(down.objects("later-shop")) == ["mug-0.png", "mug-1.png", "mug-2.png"]


def test_shopify_attaches_picked_images_within_its_throttle(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_SHOPIFY_TOKEN", "shpat_test_token_123")
    specs = [
        JobSpec(prompt=f"Mug {i}", output_path=f"mug-{i}.png", size="256x256", row_values={"Handle": f"mug-{i}", "Title": f"Mug {i}"})
        for i in range(6)
    ]  # fmt: skip
    with ShopifyFake(
        "shpat_test_token_123", [f"mug-{i}" for i in range(6)], bucket=30, restore=20
    ) as shop:
        delivery = Delivery(
            targets=[
                ShopifyTarget(shop="my-shop", endpoint=shop.url + "/admin/api/2025-10/graphql.json")
            ],
            after_review=True,
            **FAST,
        )
        store, bid, _report = _run(tmp_path, delivery, specs)
        assert shop.media == {}  # nothing is picked yet
        from atelier.engine.controller import review_images

        images = store.images(bid)
        review_images(store, [images[i].id for i in range(6)], flag="picked")
        counts = asyncio.run(Engine(store, make_provider_factory(Settings())).deliver(bid))
        assert counts["delivered"] == 6, store.deliveries(bid)
        assert len(shop.media) == 6 and len(shop.staged) == 6  # no S3: staged uploads
        assert shop.media["gid://shopify/Product/1"][0]["alt"] == "Mug 0"
        assert shop.throttled <= 2  # the sender waits for points instead of hammering


def test_a_batch_checked_for_shopify_sends_its_shopify_rendition_to_the_product(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Shopify product takes one image: with ``shopify`` among the batch's channels, its
    rendition (Shopify's size and format rules met) rather than the image as made."""
    from atelier.delivery.channels import rendition_dir
    from atelier.engine.controller import review_images

    monkeypatch.setenv("ATELIER_SHOPIFY_TOKEN", "shpat_test_token_123")
    # 4800x600: over Shopify's 4472 px side, so its rendition is scaled down.
    specs = [
        JobSpec(prompt=f"Rug {i}", output_path=f"rug-{i}.png", size="4800x600", row_values={"Handle": f"rug-{i}", "Title": f"Rug {i}"})
        for i in range(2)
    ]  # fmt: skip
    with ShopifyFake("shpat_test_token_123", ["rug-0", "rug-1"]) as shop:
        target = ShopifyTarget(
            shop="my-shop", endpoint=shop.url + "/admin/api/2025-10/graphql.json"
        )
        delivery = Delivery(targets=[target], after_review=True, **FAST)
        store = Store(paths.store_path())
        rs = RunSettings(
            provider="draft", model="draft", delivery=delivery, channels=["shopify", "amazon"]
        )
        bid = store_batch(store, rs, specs, tmp_path / "out")
        engine = Engine(store, make_provider_factory(Settings()))
        assert asyncio.run(engine.run(bid)).succeeded == 2
        review_images(store, [im.id for im in store.images(bid)], flag="picked")
        counts = asyncio.run(engine.deliver(bid))
        assert counts["delivered"] == 2, store.deliveries(bid)
        made = sorted((rendition_dir(bid, "shopify")).iterdir())
        assert [p.name for p in made] == ["rug-0.png", "rug-1.png"]
        # The staged uploads (multipart bodies) carry the renditions, not the images as made.
        assert len(shop.staged) == 2
        assert all(any(p.read_bytes() in body for body in shop.staged) for p in made)
        as_made = [im.path.read_bytes() for im in store.images(bid)]
        assert not any(raw in body for raw in as_made for body in shop.staged)
        from PIL import Image

        with Image.open(made[0]) as im:
            assert max(im.size) <= 4472
        assert len(store.deliveries(bid)) == 2  # one image per product, no Amazon copy
        store.close()


def test_after_review_a_pick_delivers_and_a_regenerated_pick_replaces_it(
    tmp_path: Path, s3: S3Server
) -> None:
    from tests.support.cli import run_cli

    bucket = _bucket(s3)
    delivery = Delivery(
        targets=[S3Target(bucket=bucket, endpoint_url=s3.url, region="us-east-1")],
        after_review=True,
        **FAST,
    )
    store, bid, report = _run(tmp_path, delivery)
    store.close()
    assert report.succeeded == 3 and s3.objects(bucket) == {}  # nothing picked yet
    job = report.results[0].job_id
    first = run_cli("review", str(bid), "--pick", job)
    assert first.code == 0, first.err
    c = s3.client()
    v1 = c.get_object(Bucket=bucket, Key="mug-0.png")
    assert v1["Metadata"]["atelier-version"] == "1"
    assert sorted(s3.objects(bucket)) == ["mug-0.png"]  # only the picked image

    again = run_cli("regenerate", str(bid), "--jobs", job, "--format", "json")
    assert again.code == 0, again.err
    assert c.get_object(Bucket=bucket, Key="mug-0.png")["Metadata"]["atelier-version"] == "1"
    repick = run_cli("review", str(bid), "--pick", job)
    assert repick.code == 0, repick.err
    v2 = c.get_object(Bucket=bucket, Key="mug-0.png")
    assert v2["Metadata"]["atelier-version"] == "2"
    assert v2["Body"].read() == (tmp_path / "out" / "mug-0.png").read_bytes()  # the new pick
    assert sorted(s3.objects(bucket)) == ["mug-0.png"]


def test_no_delivery_secret_reaches_a_file_a_log_a_report_or_a_payload(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch, atelier_home: Path
) -> None:
    import json

    from tests.support.cli import run_cli

    token = "cms-token-5f1c9a7e3b"
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("ATELIER_CMS_TOKEN", token)
    bucket = _bucket(s3)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"jobs": [{"prompt": f"cup {i}", "size": "256x256"} for i in range(2)]}))  # fmt: skip
    out = tmp_path / "out"
    with WebhookReceiver(SECRET) as hook, SlackFake() as slack, CmsFake(token) as cms:
        slack_url = slack.url + "/services/T0/B0/slack-path-is-a-secret"
        r = run_cli(
            "run", str(cfg), "--provider", "draft", "--output-dir", str(out), "--format", "json",
            "--deliver", f"s3://{bucket}/cups", "--s3-endpoint", s3.url, "--s3-region", "us-east-1",
            "--webhook", hook.url, "--slack-webhook", slack_url,
            "--cms-request", "PATCH", cms.url + "/api/cups/{job}", '{"image_url": "{url}"}',
        )  # fmt: skip
        assert r.code == 0, r.err
        assert json.loads(r.out)["deliveries"] == {"delivered": 2 * 3 + 1 + 2, "failed": 0, "pending": 0}  # fmt: skip
        assert len(slack.messages) == 2 and len(cms.calls) == 2 and hook.rejected == 0
        payloads = json.dumps(hook.events) + json.dumps(cms.calls) + "".join(slack.messages)

    needles = [SECRET, SECRET.removeprefix("whsec_"), token, "slack-path-is-a-secret"]
    files = [f for root in (atelier_home, out) for f in root.rglob("*") if f.is_file()]
    assert any(f.name.startswith("atelier.log") for f in files)  # the log was written
    for f in files:
        data = f.read_bytes()
        assert not [n for n in needles if n.encode() in data], f
    for text in (r.out, r.err, payloads):
        assert not [n for n in needles if n in text]


def test_each_channel_gets_its_rendition_under_its_prefix_and_a_blocked_one_fails(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``RunSettings.channels``: storage gets the image as made and each channel's rendition
    under ``<channel>/``; the webhook names the channel; an image failing a channel's rule no
    fix can meet (a draft's grey backdrop is not Amazon's pure white, and its text is read
    before it goes: a draft writes its prompt on the image) is not delivered there."""
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", SECRET)
    bucket = _bucket(s3)
    with WebhookReceiver(SECRET) as hook:
        delivery = Delivery(
            targets=[
                S3Target(bucket=bucket, endpoint_url=s3.url, region="us-east-1"),
                WebhookTarget(url=hook.url + "/hooks"),
            ],
            **FAST,
        )
        store = Store(paths.store_path())
        rs = RunSettings(
            provider="draft", model="draft", delivery=delivery, channels=["shopify", "amazon"]
        )
        bid = store_batch(store, rs, _specs(1), tmp_path / "out")
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    objects = s3.objects(bucket)
    assert "mug-0.png" in objects
    shopify = [k for k in objects if k.startswith("shopify/")]
    assert shopify == ["shopify/mug-0.png"]
    by_channel = {
        e["data"].get("channel"): e for e in hook.events if e["type"] == "image.completed"
    }
    assert by_channel["shopify"]["data"]["files"][0]["name"] == shopify[0].split("/", 1)[1]
    assert None in by_channel
    failed = [d for r in report.results for d in r.deliveries if d.status == "failed"]
    # The draft's backdrop is not Amazon's pure white, and no fix can make it so.
    assert not [k for k in objects if k.startswith("amazon/")]
    assert len(failed) == 2  # storage and webhook, each naming the rule
    assert all("not delivered to amazon" in (d.error or "") for d in failed)
    store.close()
