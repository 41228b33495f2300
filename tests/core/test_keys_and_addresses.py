"""Keys and addresses: a key echoed back by a provider reaches no file, report or stdout; no
credential crosses to another origin on a redirect; an address a provider hands back is fetched
only over http(s) and never on a private network (unless it is the configured server's own
host); a result download that breaks is tried again before the job is paid for again."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.core.redact import redact
from atelier.engine.engine import Engine
from atelier.providers.base import GenerationRequest
from atelier.providers.bfl import BFLProvider
from atelier.providers.fal import FalProvider
from atelier.providers.gemini import GeminiProvider
from atelier.store import Store
from tests.conftest import FAKE_KEY
from tests.fakes.bfl import BFLDialect
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.hostile import EchoDialect
from tests.fakes.openai_server import FakeOpenAI
from tests.support.batches import store_batch
from tests.support.cli import run_cli
from tests.support.record import record

LIVE_KEY = "sk-live-Zq8tQ2mVx7RkP4wY9aB3cD5eF6gH"


def _files_with(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_key_echoed_back_is_redacted_everywhere(
    tmp_path: Path, atelier_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeServer(EchoDialect, api_key=None) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", LIVE_KEY)
        sheet = tmp_path / "s.csv"
        sheet.write_text("Title\nCup\nBowl\n", encoding="utf-8")
        r = run_cli(
            "run",
            "--csv",
            str(sheet),
            "--prompt",
            "photo of {Title}",
            "--provider",
            "openai",
            "--quality",
            "low",
            "--base-url",
            f"{fake.url}/v1",
            "--output-dir",
            str(tmp_path / "out"),
            "--format",
            "json",
        )
        assert fake.requests() and LIVE_KEY in json.dumps(fake.requests()[0].headers)
    assert r.code == 1
    report = r.report()
    assert all(r["status"] == "failed" for r in report["results"])
    assert "[REDACTED]" in report["results"][0]["error"]
    leaks = _files_with(atelier_home, LIVE_KEY.encode()) + _files_with(
        tmp_path / "out", LIVE_KEY.encode()
    )
    leaks += ["stdout"] * (LIVE_KEY in r.out) + ["stderr"] * (LIVE_KEY in r.err)
    assert leaks == []
    record(
        "a provider that echoes the key into its error body", runs=1, jobs=2, keys_leaked=len(leaks)
    )


def test_credential_shapes_are_redacted_even_for_an_unknown_key() -> None:
    for text in (
        "Authorization: Bearer abcdefghijklmnopqrstuv",
        "headers={'x-key': 'bfl-1234567890abcdef'}",
        '"x-goog-api-key": "AIzaSyD-1234567890abcdefg"',
        "Authorization: Key fal-abcdef123456:99887766",
        "api_key=sk-proj-QWERTYUIOP1234",
    ):
        cleaned = redact(text)
        assert "[REDACTED]" in cleaned
        for secret in (
            "abcdefghijklmnopqrstuv",
            "bfl-1234567890abcdef",
            "AIzaSyD",
            "fal-abcdef",
            "QWERTYUIOP",
        ):
            assert secret not in cleaned, cleaned


@pytest.mark.parametrize(
    "dialect,make,header",
    [
        (
            BFLDialect,
            lambda url: BFLProvider("bfl-secret-key-123", url, poll_interval_s=0.01),
            "x-key",
        ),
        (
            FalDialect,
            lambda url: FalProvider("fal-secret:key-123", url, poll_interval_s=0.01),
            "authorization",
        ),
        (
            GeminiDialect,
            lambda url: GeminiProvider("AIza-secret-key-123", f"{url}/v1beta"),
            "x-goog-api-key",
        ),
    ],
    ids=["bfl-x-key", "fal-authorization-key", "gemini-x-goog-api-key"],
)
def test_no_credential_crosses_to_another_origin(
    dialect: type[Any], make: Any, header: str
) -> None:
    with FakeServer(BFLDialect, api_key=None) as other, FakeServer(dialect, api_key=None) as fake:
        fake.redirect_to = other.url  # another port: another origin, same host
        fake.script(["redirect_away"])
        provider = make(fake.url)
        req = GenerationRequest(
            model=_model(dialect),
            prompt="a cup",
            size="1024x1024",
            quality="auto",
            output_format="png",
        )

        async def go() -> None:
            try:
                await provider.generate(req)
            except ProviderError:
                pass  # the other origin is not the provider: it may well refuse
            finally:
                await provider.aclose()

        asyncio.run(go())
        arrived = other.all_requests()
        assert arrived, "the redirect was followed"
        hop = arrived[0]  # the redirected request (what it is told to fetch next is its own)
        assert hop.method == "POST" and header not in hop.headers, hop.headers
        assert not hop.headers.get("authorization")
    record(f"a redirect to another origin ({header})", runs=1, keys_leaked=0)


def _model(dialect: type[Any]) -> str:
    return {
        BFLDialect: "flux-dev",
        FalDialect: "fal-ai/flux/dev",
        GeminiDialect: "gemini-2.5-flash-image",
    }[dialect]


class _Recording(httpx.AsyncBaseTransport):
    """The real transport, with every address it was asked to connect to written down."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _refused_bfl(fake: FakeServer) -> tuple[ProviderError, _Recording]:
    """One BFL request against ``fake`` that must fail; the error and every host contacted."""
    transport = _Recording()
    provider = BFLProvider("k", fake.url, poll_interval_s=0.01, transport=transport)
    req = GenerationRequest(
        model="flux-dev", prompt="a cup", size="1024x1024", quality="auto", output_format="png"
    )

    async def go() -> ProviderError:
        try:
            with pytest.raises(ProviderError) as info:
                await provider.generate(req)
            return info.value
        finally:
            await provider.aclose()

    return asyncio.run(go()), transport


@pytest.mark.parametrize(
    "behaviour,refused",
    [
        ("sample_at:http://169.254.169.254/latest/meta-data/iam", "169.254.169.254"),
        ("sample_at:http://10.20.30.40/sample.jpg", "10.20.30.40"),
        ("sample_at:http://[::1]:{port}/sample.jpg", "::1"),
        ("sample_at:http://localhost:{port}/sample.jpg", "localhost"),
        ("sample_at:file:///etc/passwd", "file"),
        ("poll_at:http://192.168.1.1/v1/get_result?id=1", "192.168.1.1"),
    ],
    ids=[
        "cloud-metadata",
        "private-10",
        "ipv6-loopback",
        "localhost-alias",
        "file-scheme",
        "private-poll",
    ],
)
def test_internal_addresses_handed_back_are_never_fetched(behaviour: str, refused: str) -> None:
    with FakeServer(BFLDialect, api_key="k") as fake:
        fake.script([behaviour])
        err, transport = _refused_bfl(fake)
    assert err.error_class is ErrorClass.SERVER_ERROR
    assert refused in err.message
    assert set(transport.hosts) == {"127.0.0.1"}, transport.hosts  # only the configured server
    record(f"an internal address handed back ({refused})", runs=1, internal_addresses_fetched=0)


def _fal_batch(
    tmp_path: Path, fake: FakeServer, prompts: list[str], retries: int = 3
) -> tuple[Any, Store]:
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="fal",
        model="fal-ai/flux/dev",
        retry_policy=RetryPolicy(max_retries=retries, retry_delay_ms=1),
    )
    specs = [JobSpec(prompt=p, output_path=f"{i}.png") for i, p in enumerate(prompts)]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    provider = FalProvider("k", fake.url, poll_interval_s=0.01)
    return asyncio.run(Engine(store, lambda _rs: provider).run(bid)), store


def test_a_broken_download_is_retried_before_paying_again(tmp_path: Path) -> None:
    with FakeServer(FalDialect, api_key="k") as fake:
        fake.failing_downloads = 2  # the image is made; its download breaks twice
        report, store = _fal_batch(tmp_path, fake, ["a cup"])
        assert report.succeeded == 1
        assert len(fake.requests("a cup", path_part="fal-ai")) == 1  # submitted (paid) once
        assert report.paid_twice == 0
        store.close()


def test_an_expired_result_is_paid_again_once_and_counted(tmp_path: Path) -> None:
    with FakeServer(FalDialect, api_key="k") as fake:
        fake.script_for("lost once", ["expired"])
        fake.script_for("always lost", ["expired"] * 10)
        report, store = _fal_batch(tmp_path, fake, ["lost once", "always lost", "fine"])
        by = {r.prompt: r for r in report.results}
        assert by["lost once"].status == by["fine"].status == "completed"
        assert by["always lost"].status == "failed"
        # One resubmission at most for a job whose billed image was lost, whatever the policy.
        assert len(fake.requests("always lost", path_part="fal-ai")) == 2
        assert report.paid_twice == 3  # lost once: 1; always lost: 2 billed without an image
        assert by["lost once"].cost == pytest.approx(2 * by["fine"].cost)
        store.close()
    record("result URLs that expire before their download", runs=1, jobs=3, paid_twice=3)


def test_a_redirect_to_a_private_address_is_not_followed() -> None:
    with FakeServer(BFLDialect, api_key="k") as fake:
        fake.redirect_to = "http://10.9.8.7:8080"
        fake.script(["redirect_away"])
        err, transport = _refused_bfl(fake)
    assert "10.9.8.7" in err.message and set(transport.hosts) == {"127.0.0.1"}
    record("a redirect hop to a private address", runs=1, internal_addresses_fetched=0)


def test_a_decompression_bomb_fails_its_job_not_the_batch(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.core.settings import Settings
    from atelier.engine.service import make_provider_factory

    fake_openai.script_for("bomb", ["bomb"] * 5)
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider="openai",
        model="gpt-image-1.5",
        base_url=fake_openai.base_url,
        retry_policy=RetryPolicy(max_retries=1, retry_delay_ms=1),
    )
    specs = [JobSpec(prompt=p, output_path=f"{p}.png", quality="low") for p in ("bomb", "fine")]
    bid = store_batch(store, rs, specs, tmp_path / "out")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    report = asyncio.run(Engine(store, make_provider_factory(Settings())).run(bid))
    by = {r.prompt: r for r in report.results}
    assert by["fine"].status == "completed"
    assert by["bomb"].status == "failed" and by["bomb"].error_type == "server_error"
    assert not (tmp_path / "out" / "bomb.png").exists()
    store.close()


def test_ssrf_guard_allows_the_configured_private_host(tmp_path: Path) -> None:
    """Self-hosted servers and the tests' fakes live on 127.0.0.1: that host is allowed."""
    with FakeServer(BFLDialect, api_key="k") as fake:
        provider = BFLProvider("k", fake.url, poll_interval_s=0.01)
        req = GenerationRequest(
            model="flux-dev", prompt="a cup", size="1024x1024", quality="auto", output_format="png"
        )

        async def go() -> int:
            try:
                return len((await provider.generate(req)).images)
            finally:
                await provider.aclose()

        assert asyncio.run(go()) == 1
    assert os.environ.get("ATELIER_HOME")
