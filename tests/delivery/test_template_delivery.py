"""A shared template's delivery block cannot steer the user's credentials (issue 27 §1): a
target uses only the secret of its own kind; ``templates import`` and ``run --template`` take
a delivery that adds targets only with ``--accept-template-delivery`` (else exit 2 with each
target's kind and host); an exported template carries no secret names, tokens or passwords."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from atelier.core import paths
from atelier.core.delivery_config import CmsTarget, Delivery, S3Target, SlackTarget, WebhookTarget
from atelier.core.models import JobSpec, RunSettings
from atelier.core.secrets import get_secret
from atelier.core.settings import Settings
from atelier.engine.engine import Engine
from atelier.engine.service import make_provider_factory
from atelier.sheet import library
from atelier.sheet.library import BatchTemplate
from atelier.store import Store
from tests.fakes.receivers import CmsFake
from tests.support.batches import store_batch
from tests.support.cli import run_cli
from tests.support.record import record

SHOPIFY_TOKEN = "shpat_live_9f8e7d6c5b4a3210"
REDIS_PASSWORD = "redis-pw-Kq2mVx7Rk"
CMS_TOKEN = "cms-token-Zq8tQ2mV"
FAST = {"backoff_s": 0.05, "max_backoff_s": 0.2, "timeout_s": 2.0, "max_attempts": 2}


def _sheet(tmp_path: Path) -> Path:
    sheet = tmp_path / "s.csv"
    sheet.write_text("Title,SKU\nCup,C-1\nBowl,B-2\n", encoding="utf-8")
    return sheet


def _template_file(tmp_path: Path, targets: list[dict[str, Any]], name: str = "Shared") -> Path:
    path = tmp_path / f"{name}.atelier-template.json"
    doc = {
        "format": "atelier-template/1",
        "name": name,
        "prompt": "photo of {Title}",
        "filename": "{SKU}",
        "delivery": {"targets": targets, **FAST},
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_target_uses_only_the_secret_of_its_own_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CMS and webhook targets naming a Shopify, Redis or S3 secret get nothing: not through
    the keyring, the session, nor the environment's prefix fallback."""
    monkeypatch.setenv("ATELIER_SHOPIFY_TOKEN", SHOPIFY_TOKEN)
    monkeypatch.setenv("ATELIER_REDIS_PASSWORD", REDIS_PASSWORD)
    with CmsFake("whatever") as cms:
        delivery = Delivery(
            targets=[
                CmsTarget(
                    name="steal-shopify",
                    url=cms.url + "/api/products/{SKU}",
                    body='{"sku": "{SKU}"}',
                    secret="shopify:my-shop.myshopify.com",
                ),
                CmsTarget(
                    name="steal-redis",
                    url=cms.url + "/r/{SKU}",
                    body='{"sku": "{SKU}"}',
                    secret="redis:default@cache:6379",
                ),
            ],
            **FAST,
        )
        store = Store(paths.store_path())
        specs = [
            JobSpec(prompt="a cup", output_path="c.png", size="256x256", row_values={"SKU": "C-1"})
        ]
        bid = store_batch(
            store, RunSettings(provider="draft", model="draft", delivery=delivery), specs,
            tmp_path / "out",
        )  # fmt: skip
        report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
        sent = json.dumps([g.headers for g in cms.got]) + "".join(g.body.decode() for g in cms.got)
    leaked = (SHOPIFY_TOKEN in sent) + (REDIS_PASSWORD in sent)
    assert leaked == 0
    assert report.results[0].status == "completed"  # the image is kept, its delivery fails
    errors = [d.error or "" for d in report.results[0].deliveries]
    assert len(errors) == 2 and all("keyring entry" in e for e in errors)
    # the lookup itself: another kind's entry is never read, its own kind's is
    assert get_secret("shopify:my-shop.myshopify.com", "cms") is None
    assert get_secret("redis:default@cache:6379", "cms") is None
    assert get_secret("shopify:my-shop.myshopify.com", "shopify") == SHOPIFY_TOKEN
    record(
        "a template's CMS targets name the Shopify token and the Redis password",
        targets=2,
        secrets_sent_to_a_host_the_user_did_not_name=leaked,
    )


def test_a_config_naming_another_kinds_secret_is_refused_at_the_door(tmp_path: Path) -> None:
    cfg = tmp_path / "batch.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [{"prompt": "a cup", "output_path": "c.png"}],
                "output_dir": str(tmp_path / "out"),
                "deliver": [
                    {
                        "kind": "cms",
                        "url": "https://cms.example/x",
                        "body": "{}",
                        "secret": "s3:AKIA1",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    r = run_cli("run", str(cfg), "--provider", "draft")
    assert r.code == 2
    assert "delivery cms.secret" in r.err and "'s3:AKIA1' is not a cms secret" in r.err
    assert not (tmp_path / "out").exists()


def test_templates_import_needs_an_explicit_yes_for_added_targets(tmp_path: Path) -> None:
    evil = [
        {"kind": "cms", "url": "https://evil.example/api/{SKU}", "body": "{}"},
        {"kind": "webhook", "url": "https://hooks.evil.example:8443/in"},
    ]
    path = _template_file(tmp_path, evil)
    r = run_cli("templates", "import", str(path))
    assert r.code == 2
    assert "cms → evil.example" in r.err and "webhook → hooks.evil.example:8443" in r.err
    assert "--accept-template-delivery" in r.err
    assert "Shared" not in [t.name for t in library.list_templates()]

    r = run_cli("templates", "import", "--accept-template-delivery", str(path))
    assert r.code == 0, r.err
    assert library.load_template("Shared").delivery is not None
    # the same file again adds nothing: no question
    assert run_cli("templates", "import", str(path)).code == 0
    # a new version that adds a target asks again, and lists only what it adds
    more = _template_file(
        tmp_path,
        [*evil, {"kind": "s3", "bucket": "drop", "endpoint_url": "https://s3.evil.example"}],
    )
    r = run_cli("templates", "import", str(more))
    assert r.code == 2 and "s3 → s3.evil.example" in r.err and "cms →" not in r.err
    assert len(library.load_template("Shared").delivery.targets) == 2  # type: ignore[union-attr]
    # a template without delivery needs no flag
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"name": "Plain", "prompt": "x"}), encoding="utf-8")
    assert run_cli("templates", "import", str(plain)).code == 0


def test_a_template_file_naming_another_kinds_secret_is_not_imported(tmp_path: Path) -> None:
    path = _template_file(
        tmp_path,
        [{"kind": "cms", "url": "https://cms.example/{SKU}", "body": "{}", "secret": "shopify:x"}],
    )
    r = run_cli("templates", "import", str(path))
    assert r.code == 2 and "'shopify:x' is not a cms secret" in r.err
    assert "Shared" not in [t.name for t in library.list_templates()]


def test_run_template_needs_an_explicit_yes_then_delivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_CMS_TOKEN", CMS_TOKEN)
    sheet = _sheet(tmp_path)
    with CmsFake(CMS_TOKEN) as cms:
        library.save_template(
            BatchTemplate.model_validate(
                {
                    "name": "To the CMS",
                    "prompt": "photo of {Title}",
                    "filename": "{SKU}",
                    "delivery": {
                        "targets": [
                            {
                                "kind": "cms",
                                "url": cms.url + "/api/products/{SKU}",
                                "body": '{"sku": "{SKU}"}',
                            }
                        ],
                        **FAST,
                    },
                }
            )
        )
        args = ["run", "--csv", str(sheet), "--template", "To the CMS", "--provider", "draft"]
        out = tmp_path / "out"
        r = run_cli(*args, "--output-dir", str(out))
        host = cms.url.removeprefix("http://")
        assert r.code == 2
        assert f"cms → {host}" in r.err and "--accept-template-delivery" in r.err
        assert cms.got == [] and not out.exists()  # nothing made, nothing sent
        # an estimate sends nothing: it needs no yes
        assert run_cli(*args, "--estimate-only").code == 0

        r = run_cli(*args, "--output-dir", str(out), "--accept-template-delivery")
        assert r.code == 0, r.err
        assert sorted(c[1] for c in cms.calls) == ["/api/products/B-2", "/api/products/C-1"]


def test_an_exported_template_carries_no_secret(tmp_path: Path) -> None:
    """Secret names, a token typed into a header or a URL, a URL's password, a Slack address
    and an S3 access key id stay on this machine."""
    secrets = [
        "cms:prod-7",
        "live-token-5ab3",
        "qs-token-77c1",
        "hunter2",
        "slack:1f2e3d4c5b6a",
        "T0AAA/B0BBB/XyZ123abc",
        "AKIAEXAMPLE12345",
        "webhook:mine",
    ]
    t = BatchTemplate(
        name="Mine",
        prompt="photo of {Title}",
        delivery=Delivery(
            targets=[
                S3Target(
                    bucket="my-bucket",
                    endpoint_url="https://user:hunter2@minio.example",
                    access_key_id="AKIAEXAMPLE12345",
                ),
                CmsTarget(
                    url="https://cms.example/api/{SKU}?access_token=qs-token-77c1&lang=en",
                    headers={"Authorization": "Bearer live-token-5ab3", "X-Trace": "{SKU}"},
                    secret="cms:prod-7",
                ),
                WebhookTarget(
                    url="https://hooks.slack.com/services/T0AAA/B0BBB/XyZ123abc",
                    secret="webhook:mine",
                ),
                SlackTarget(url_secret="slack:1f2e3d4c5b6a", shown="hooks.slack.com/…"),
            ]
        ),
    )
    library.save_template(t)
    out = tmp_path / "shared.json"
    assert run_cli("templates", "export", "Mine", str(out)).code == 0
    text = out.read_text(encoding="utf-8")
    found = [s for s in secrets if s in text]
    doc = json.loads(text)
    names = {k for target in doc["delivery"]["targets"] for k in target}
    assert found == []
    assert not names & {"secret", "url_secret", "shown", "access_key_id"}
    # still a template, and its CMS call still sends the reader's own token
    back = library.read_template(out)
    cms = back.delivery.targets[1]  # type: ignore[union-attr]
    assert isinstance(cms, CmsTarget)
    assert cms.headers == {"Authorization": "Bearer {secret}", "X-Trace": "{SKU}"}
    assert cms.url == "https://cms.example/api/{SKU}?access_token={secret}&lang=en"
    assert cms.secret == "cms"
    record("a template exported with its delivery", secrets_in_the_file=len(found))
