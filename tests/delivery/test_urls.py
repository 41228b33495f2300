"""Delivery addresses (issue 27): a cell cannot change the path or query of a delivery call, a
secret in a delivery URL is written down nowhere, no outbound call goes to a cloud metadata or
link-local address, and a ``public_url`` column that is empty in some rows stops the run
before anything is made or uploaded.

Refusals are shown on transports that record the requests they are handed and send none, so
no test sends traffic beyond 127.0.0.1 (on the code before the fix neither: it is the
transport that would have been asked, not the network)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from atelier.core.delivery_config import (
    CmsTarget,
    S3Target,
    ShopifyTarget,
    SlackTarget,
    WebhookTarget,
)
from atelier.core.errors import ProviderError
from atelier.delivery.base import DeliveryError, Parcel
from atelier.delivery.http_targets import CmsSender, SlackSender, WebhookSender
from atelier.delivery.s3 import S3Sender
from atelier.delivery.shopify_api import ShopifySender
from atelier.providers.base import GenerationRequest
from atelier.providers.bfl import BFLProvider
from atelier.sheet import remote
from tests.fakes.hostile_receivers import (
    PathRecorder,
    RecordingSyncTransport,
    RecordingTransport,
)
from tests.fakes.s3 import CREDS, S3Server
from tests.support.cli import run_cli
from tests.support.record import record

TOKEN = "cms-token-7c1e9a5d3b"

# SKU → whether the delivery may go (encoded as one segment and one value) or must be refused
# (it would climb the path even encoded, for a server that decodes before it routes).
HOSTILE_SKUS = {
    "SKU-1": True,
    "../../admin/users?delete=all#": False,
    "%2e%2e": False,
    ".": False,
    "..%2Fadmin": False,
    "a/b c": True,
    "x?variant=evil&delete=all": True,
    "#top": True,
    "ü/%41": True,
}


def _sheet(tmp_path: Path, header: list[str], rows: list[list[str]]) -> Path:
    sheet = tmp_path / "sheet.csv"
    lines = [",".join(header)] + [",".join(f'"{c}"' for c in row) for row in rows]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sheet


def _run(sheet: Path, out: Path, *flags: str) -> Any:
    return run_cli(
        "run", "--csv", str(sheet), "--provider", "draft", "--prompt", "photo of {Title}",
        "--filename", "{Title}", "--output-dir", str(out), "--format", "json", *flags,
    )  # fmt: skip


def test_a_cell_cannot_change_the_path_or_the_query_keys_of_a_delivery(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_CMS_TOKEN", TOKEN)
    skus = list(HOSTILE_SKUS)
    sheet = _sheet(tmp_path, ["Title", "SKU"], [[f"item{i}", s] for i, s in enumerate(skus)])
    with PathRecorder() as cms:
        r = _run(
            sheet, tmp_path / "out",
            "--cms-request", "PATCH", cms.url + "/api/products/{SKU}?variant={SKU}",
            '{"sku": "{SKU}"}',
        )  # fmt: skip
        seen = list(cms.seen)
    report = r.report()
    assert report["succeeded"] == len(skus), r.err

    changed = [
        s.target
        for s in seen
        if s.segments[:2] != ["api", "products"]
        or len(s.segments) != 3
        or s.segments[2] in ("", ".", "..")
        or [k for k, _ in s.query] != ["variant"]
        or s.query[0][1] != s.last_segment
        or s.last_segment not in HOSTILE_SKUS
    ]
    assert changed == [], changed
    assert all(s.method == "PATCH" and s.authorization == f"Bearer {TOKEN}" for s in seen)
    accepted = sorted(s for s, ok in HOSTILE_SKUS.items() if ok)
    assert sorted(s.last_segment for s in seen) == accepted  # each sent once, intact

    results = {res["prompt"]: res for res in report["results"]}
    for i, sku in enumerate(skus):
        (cms_delivery,) = results[f"photo of item{i}"]["deliveries"]
        if HOSTILE_SKUS[sku]:
            assert cms_delivery["status"] == "delivered", (sku, cms_delivery)
        else:
            assert cms_delivery["status"] == "failed", (sku, cms_delivery)
            assert f"row {i + 1}" in cms_delivery["error"], cms_delivery["error"]
            assert "{SKU}" in cms_delivery["error"] and "nothing was sent" in cms_delivery["error"]
    record(
        "a cell's value in a CMS delivery address (9 hostile SKUs)",
        runs=1,
        jobs=len(skus),
        requests_changed_by_a_cell=len(changed),
    )


def test_a_placeholder_in_the_host_stops_the_run_at_the_door(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_CMS_TOKEN", TOKEN)
    with PathRecorder() as cms:
        host = cms.url.removeprefix("http://")
        sheet = _sheet(tmp_path, ["Title", "Host"], [["cup", host]])
        r = _run(
            sheet, tmp_path / "out",
            "--cms-request", "PATCH", "http://{Host}/api/products", '{"a": "b"}',
        )  # fmt: skip
        seen = list(cms.seen)
    assert r.code == 2, r.out
    assert "{Host} is in the address's host" in r.err and "delivery cms.url" in r.err
    assert seen == [] and not (tmp_path / "out" / "cup.png").exists()
    record("a cell's value as a CMS delivery host", runs=1, requests_changed_by_a_cell=len(seen))


@pytest.mark.parametrize("token", ["Zq8/tok+en=9&x", "tk-7Qz9"], ids=["encoded", "short"])
def test_a_secret_in_a_delivery_url_is_written_down_nowhere(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("ATELIER_CMS_TOKEN", token)
    sheet = _sheet(tmp_path, ["Title", "SKU"], [["cup", "SKU-1"], ["bowl", "SKU-2"]])
    out = tmp_path / "out"
    with PathRecorder() as cms:
        r = _run(
            sheet, out,
            "--cms-request", "POST", cms.url + "/api/products/{SKU}?auth={secret}",
            '{"sku": "{SKU}"}',
        )  # fmt: skip
        seen = list(cms.seen)
    report = r.report()
    assert r.code == 0 and report["deliveries"]["delivered"] == 2, r.err
    assert sorted(s.query for s in seen) == [[("auth", token)], [("auth", token)]]  # it worked
    recorded = [d["url"] for res in report["results"] for d in res["deliveries"]]
    assert all(u and "/api/products/SKU-" in u and "auth=" in u for u in recorded), recorded

    needles = {token, quote(token, safe=""), quote_plus(token, safe="")}
    leaks = [
        str(f)
        for root in (atelier_home, out)
        for f in root.rglob("*")
        if f.is_file() and any(n.encode() in f.read_bytes() for n in needles)
    ]
    leaks += [name for name, text in (("stdout", r.out), ("stderr", r.err)) if any(n in text for n in needles)]  # fmt: skip
    assert leaks == []
    record(
        f"a secret in a CMS delivery address ({'short' if len(token) < 8 else 'encoded'} token)",
        runs=1,
        jobs=2,
        secrets_on_disk_or_stdout=len(leaks),
    )


# ---- metadata and link-local addresses, on every kind of outbound call ---------------------


def _parcel(path: Path | None = None, **values: str) -> Parcel:
    return Parcel("image.completed", f"m-{uuid.uuid4().hex[:8]}", dict(values), path)


async def _cms(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    sender = CmsSender(CmsTarget(url=url, headers={}, body='{"a": "b"}'), 5.0)
    sender._client = httpx.AsyncClient(transport=rec)
    try:
        await sender.send(_parcel(SKU="S1"))
    finally:
        await sender.aclose()


async def _webhook(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    sender = WebhookSender(WebhookTarget(url=url), 5.0)
    sender._client = httpx.AsyncClient(transport=rec)
    try:
        await sender.send(_parcel())
    finally:
        await sender.aclose()


async def _slack(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    sender = SlackSender(SlackTarget(url_secret="slack"), 5.0)
    sender._client = httpx.AsyncClient(transport=rec)
    try:
        await sender.send(Parcel("batch.started", "m-slack", {}, None, {"text": "hi"}))
    finally:
        await sender.aclose()


async def _shopify(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    sender = ShopifySender(ShopifyTarget(shop="cups", endpoint=url), 5.0)
    sender._client = httpx.AsyncClient(transport=rec)
    try:
        await sender.send(_parcel(Handle="cup"))
    finally:
        await sender.aclose()


async def _provider(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    provider = BFLProvider("k", url, poll_interval_s=0.01, transport=rec)
    req = GenerationRequest(
        model="flux-dev", prompt="a cup", size="1024x1024", quality="auto", output_format="png"
    )
    try:
        await provider.generate(req)
    finally:
        await provider.aclose()


async def _download(url: str, rec: RecordingTransport, _tmp: Path) -> None:
    sync = RecordingSyncTransport()
    try:
        with httpx.Client(transport=sync) as client:
            await asyncio.to_thread(remote.fetch, url, client)
    finally:
        rec.hosts += sync.hosts


Call = Callable[[str, RecordingTransport, Path], Coroutine[Any, Any, None]]

REFUSED: list[tuple[str, Call, str]] = [
    ("cms-aws", _cms, "http://169.254.169.254/latest/meta-data/iam/{SKU}"),
    ("cms-alibaba", _cms, "http://100.100.100.200/latest/meta-data/{SKU}"),
    ("cms-decimal", _cms, "http://2852039166/latest/{SKU}"),
    ("webhook-gcp-name", _webhook, "http://metadata.google.internal/computeMetadata/v1/"),
    ("webhook-v4-mapped", _webhook, "http://[::ffff:169.254.169.254]/hook"),
    ("slack-aws-ipv6", _slack, "http://[fd00:ec2::254]/services/T/B/x"),
    ("shopify-link-local", _shopify, "http://169.254.10.1/admin/api/graphql.json"),
    ("shopify-ipv6-link-local", _shopify, "http://[fe80::1]/admin/api/graphql.json"),
    ("provider-base-url", _provider, "http://169.254.169.254"),
    ("provider-base-name", _provider, "http://metadata.google.internal"),
    ("download", _download, "http://169.254.169.254/latest/meta-data/cup.png"),
]


@pytest.mark.parametrize(
    "call,url", [(c, u) for _, c, u in REFUSED], ids=[n for n, _, _ in REFUSED]
)
def test_metadata_and_link_local_addresses_are_never_called(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch, call: Call, url: str
) -> None:
    monkeypatch.setenv("ATELIER_SLACK_WEBHOOK", url)
    monkeypatch.setenv("ATELIER_SHOPIFY_TOKEN", "shpat_test_token_123")
    rec = RecordingTransport()
    with pytest.raises((DeliveryError, ProviderError, remote.RemoteImageError)) as info:
        asyncio.run(call(url, rec, tmp_path))
    assert rec.hosts == [], rec.hosts  # refused before any request was made
    assert "metadata or link-local" in str(info.value), info.value
    record(f"a cloud metadata address as an outbound call ({call.__name__.strip('_')})", runs=1, internal_addresses_fetched=len(rec.hosts))  # fmt: skip


def test_an_s3_endpoint_on_a_metadata_address_is_never_called(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3.session

    attempts: list[str | None] = []

    def client(self: Any, service: str, endpoint_url: str | None = None, **kw: Any) -> Any:
        attempts.append(endpoint_url)  # recorded; nothing is sent anywhere
        raise OSError("no network in this test")

    monkeypatch.setattr(boto3.session.Session, "client", client)
    image = tmp_path / "cup.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    sender = S3Sender(S3Target(bucket="cups", endpoint_url="http://169.254.169.254:9000"), 5.0)
    with pytest.raises(DeliveryError) as info:
        asyncio.run(sender.send(_parcel(image, file="cup.png")))
    assert attempts == [] and "metadata or link-local" in str(info.value), (attempts, info.value)


def test_a_private_host_is_called_only_when_the_user_set_it(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook the user set on 127.0.0.1 is called; a staged-upload address Shopify hands
    back on a private network (another host) is not."""
    monkeypatch.setenv("ATELIER_SHOPIFY_TOKEN", "shpat_test_token_123")

    class Staged(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.hosts: list[str] = []

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.hosts.append(request.url.host)
            if request.url.host != "127.0.0.1":
                return httpx.Response(201, request=request)  # an upload (not sent anywhere)
            query = json.loads(request.content)["query"]
            if "productByIdentifier" in query:
                data: dict[str, Any] = {"productByIdentifier": {"id": "gid://p/1"}}
            else:
                target = {"url": "http://10.1.2.3/upload", "resourceUrl": "https://x/r", "parameters": []}  # fmt: skip
                data = {"stagedUploadsCreate": {"stagedTargets": [target], "userErrors": []}}
            return httpx.Response(200, json={"data": data}, request=request)

    rec = Staged()
    image = tmp_path / "cup.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    sender = ShopifySender(ShopifyTarget(shop="cups", endpoint="http://127.0.0.1:9/gql"), 5.0)
    sender._client = httpx.AsyncClient(transport=rec)

    async def go() -> None:
        try:
            await sender.send(_parcel(image, Handle="cup"))
        finally:
            await sender.aclose()

    with pytest.raises(DeliveryError) as info:
        asyncio.run(go())
    assert rec.hosts == ["127.0.0.1", "127.0.0.1"], rec.hosts  # the endpoint, never 10.1.2.3
    assert "10.1.2.3" in str(info.value)


# ---- the S3 public_url at the door ---------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS["aws_secret_access_key"])
    with S3Server() as server:
        yield server


def test_an_empty_public_url_column_is_found_before_anything_runs(
    tmp_path: Path, atelier_home: Path, s3: S3Server
) -> None:
    bucket = f"cups-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    rows = [["cup", "Kinto"], ["bowl", ""], ["plate", "Hasami"], ["jug", ""]]
    sheet = _sheet(tmp_path, ["Title", "Vendor"], rows)
    r = _run(
        sheet, tmp_path / "out",
        "--deliver", f"s3://{bucket}/p", "--s3-endpoint", s3.url, "--s3-region", "us-east-1",
        "--s3-public-url", "https://cdn.example.com/{Vendor}/{key}",
    )  # fmt: skip
    assert r.code == 2, (r.code, r.out, r.err)
    assert "delivery s3.public_url" in r.err and "'Vendor'" in r.err and "rows 2, 4" in r.err
    assert "Traceback" not in r.err
    assert s3.objects(bucket) == {} and not list((tmp_path / "out").glob("*.png"))


@pytest.mark.parametrize(
    "host,addresses,user_set,refused",
    [
        ("cms.example", ["169.254.169.254"], True, "metadata"),
        ("x", ["::ffff:169.254.169.254"], True, "metadata"),
        ("x", ["2002:a9fe:a9fe::1"], True, "metadata"),  # 6to4 of 169.254.169.254
        ("x", ["64:ff9b::a9fe:a9fe"], True, "metadata"),  # NAT64 of 169.254.169.254
        ("x", ["fd00:ec2::254"], True, "metadata"),
        ("x", ["100.100.100.200"], True, "metadata"),
        ("Metadata.Google.Internal.", ["10.0.0.1"], True, "metadata"),
        ("x", ["93.184.216.34", "169.254.1.1"], True, "metadata"),  # any one address counts
        ("x", ["127.0.0.1"], False, "private"),
        ("x", ["10.1.2.3"], False, "private"),
        ("x", ["100.64.0.1"], False, "private"),  # shared address space is not public
        ("x", ["127.0.0.1"], True, None),  # the host the user set: a local receiver
        ("x", ["192.168.1.10"], True, None),
        ("x", ["93.184.216.34"], False, None),
    ],
)
def test_the_address_rules(
    host: str, addresses: list[str], user_set: bool, refused: str | None
) -> None:
    import ipaddress

    from atelier.core.addresses import judge  # the one guard every outbound call goes through

    ips = [ipaddress.ip_address(a) for a in addresses]
    assert judge(host, ips, user_set=user_set) == refused


def test_a_download_redirected_to_a_private_host_is_not_followed(
    atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference image on a host the sheet names (127.0.0.1 here) may be fetched; its
    redirect to another, private host is refused before that request is made."""
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)  # recorded; nothing is sent anywhere
        if request.url.host == "127.0.0.1":
            return httpx.Response(302, headers={"location": "http://10.1.2.3/cup.png"})
        return httpx.Response(200, content=b"", headers={"content-type": "image/png"})

    real = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(handler), **kw)
    )
    with pytest.raises(remote.RemoteImageError) as info:
        remote.fetch("http://127.0.0.1:9/cup.png")
    assert hosts == ["127.0.0.1"] and "10.1.2.3" in str(info.value), (hosts, info.value)


def test_rows_joined_into_one_image_cannot_deliver_per_row_values(
    tmp_path: Path, atelier_home: Path, data_dir: Path
) -> None:
    """Rows that render the same prompt and file name are one job, delivered with its first
    row's values: a CMS address per ``{Variant SKU}`` would PATCH only each product's first
    variant and call the batch delivered. Refused at the door, naming the rows and the column;
    nothing is made. With the SKU in the file name (one image per row) it is fine."""
    sheet = data_dir / "shopify-home-goods.csv"
    cms = [
        "--cms-request",
        "PATCH",
        "http://127.0.0.1:9/api/variants/{Variant SKU}",
        '{"u": "{file}"}',
    ]
    r = run_cli(
        "run", "--csv", str(sheet), "--provider", "draft", "--prompt", "Photo of {Title}",
        "--filename", "{Handle}", "--output-dir", str(tmp_path / "out"), *cms, "--estimate-only",
    )  # fmt: skip
    assert r.code == 2, r.out + r.err
    assert "{Variant SKU}" in r.err and "rows 1, 2" in r.err, r.err
    assert "Traceback" not in r.err
    ok = run_cli(
        "run", "--csv", str(sheet), "--provider", "draft", "--prompt", "Photo of {Title}",
        "--filename", "{Variant SKU}", "--output-dir", str(tmp_path / "out2"), *cms,
        "--estimate-only",
    )  # fmt: skip
    assert ok.code == 0, ok.err
