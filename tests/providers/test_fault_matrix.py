"""Fault matrix: every provider adapter × the faults it can meet, through the engine.

For each cell a 3-job batch runs against the provider's fake: one job meets the fault once
(then the fake behaves). The cell checks the error class, whether the job was retried as the
policy says (``quota``, ``content_policy``, ``invalid_request`` and ``auth`` never are), that the
two other jobs completed, and that the message a designer sees is a readable sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atelier.core.errors import NEVER_RETRIED, ErrorClass, ProviderError
from atelier.core.models import JobSpec, RetryPolicy, RunSettings
from atelier.engine.engine import Engine
from atelier.providers.base import GenerationRequest
from atelier.providers.openai import OpenAIProvider
from atelier.providers.registry import create_provider
from atelier.store import Store
from tests.fakes.a1111 import A1111Dialect
from tests.fakes.bfl import BFLDialect
from tests.fakes.comfyui import ComfyUIDialect
from tests.fakes.fal import FalDialect
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.openai_server import OpenAIDialect
from tests.fakes.replicate import ReplicateDialect
from tests.fakes.stability import StabilityDialect
from tests.support.batches import store_batch
from tests.support.record import record

WORKFLOW = Path(__file__).resolve().parent.parent / "data" / "comfy-sdxl-api.json"
T, N, S, R, C, Q, INV, A, P = (
    ErrorClass.TIMEOUT,
    ErrorClass.NETWORK,
    ErrorClass.SERVER_ERROR,
    ErrorClass.RATE_LIMIT,
    ErrorClass.CONTENT_POLICY,
    ErrorClass.QUOTA,
    ErrorClass.INVALID_REQUEST,
    ErrorClass.AUTH,
    ErrorClass.PAYMENT_REQUIRED,
)
COMMON = {"drop": N, "malformed": S, "wrong_content_type": S, "oversized": S, "slow": T}
# provider → (dialect, base URL suffix, model, {behaviour: class})
MATRIX: dict[str, tuple[type[Any], str, str, dict[str, ErrorClass]]] = {
    "openai": (
        OpenAIDialect,
        "/v1",
        "gpt-image-1.5",
        {
            **COMMON,
            "429": R,
            "500": S,
            "502": S,
            "503": S,
            "insufficient_quota": Q,
            "moderation_blocked": C,
            "invalid_api_key": A,
            "403": A,
            "bad_base64": S,
            "truncated": S,
        },
    ),
    "gemini": (
        GeminiDialect,
        "/v1beta",
        "gemini-2.5-flash-image",
        {
            **COMMON,
            "429": R,
            "quota": Q,
            "blocked": C,
            "image_safety": C,
            "no_image": S,
            "invalid": INV,
            "auth": A,
            "403": A,
            "404": INV,
            "500": S,
            "503": S,
            "bad_base64": S,
            "truncated": S,
        },
    ),
    "stability": (
        StabilityDialect,
        "",
        "core",
        {
            **COMMON,
            "filtered": C,
            "content_policy": C,
            "invalid": INV,
            "422": INV,
            "413": INV,
            "auth": A,
            "payment": P,
            "500": S,
            "truncated": S,
        },
    ),
    "fal": (
        FalDialect,
        "",
        "fal-ai/flux/schnell",
        {
            **COMMON,
            "nsfw": C,
            "content_policy": C,
            "invalid": INV,
            "auth": A,
            "429": R,
            "500": S,
            "failed": S,
            "expired": S,
        },
    ),
    "replicate": (
        ReplicateDialect,
        "",
        "black-forest-labs/flux-schnell",
        {
            **COMMON,
            "sensitive": C,
            "failed": S,
            "invalid": INV,
            "auth": A,
            "payment": P,
            "429": R,
            "500": S,
            "expired": S,
        },
    ),
    "bfl": (
        BFLDialect,
        "",
        "flux-dev",
        {
            **COMMON,
            "request_moderated": C,
            "content_moderated": C,
            "error": S,
            "not_found": S,
            "invalid": INV,
            "auth": A,
            "payment": P,
            "429": R,
            "500": S,
            "expired": S,
        },
    ),
    "a1111": (
        A1111Dialect,
        "",
        "current",
        {**COMMON, "oom": S, "invalid": INV, "no_api": INV, "auth": A},
    ),
    "comfyui": (
        ComfyUIDialect,
        "",
        "workflow",
        {"drop": N, "malformed": S, "oversized": S, "node_error": INV, "exec_error": S},
    ),
}
CELLS = [(p, b, c) for p, (_, _, _, faults) in MATRIX.items() for b, c in faults.items()]
JOB_TIMEOUT_MS = 2000
POLICY = RetryPolicy(max_retries=2, retry_delay_ms=10, max_delay_ms=50)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FakeServer]]:
    started = {p: FakeServer(d, api_key=None).start() for p, (d, *_rest) in MATRIX.items()}
    for fake in started.values():
        # The slow answer comes well after the job timeout, and the timeout leaves room for a
        # 120 MB oversized body to be refused on a loaded 2-core machine.
        fake.slow_s = 4.0
        fake.retry_after_s = 0.05
        for attr in ("polls_needed",):
            if hasattr(fake.dialect, attr):
                setattr(fake.dialect, attr, 1)
    yield started
    for fake in started.values():
        fake.stop()


@pytest.mark.parametrize(
    ("provider", "behaviour", "cls"), CELLS, ids=[f"{p}-{b}" for p, b, _ in CELLS]
)
async def test_fault(
    tmp_path: Path, servers: dict[str, FakeServer], provider: str, behaviour: str, cls: ErrorClass
) -> None:
    fake = servers[provider]
    _, suffix, model, _ = MATRIX[provider]
    tag = f"{provider}-{behaviour}-{tmp_path.name}"
    fake.script_for(f"fault {tag}", [behaviour])
    store = Store(tmp_path / "s.db")
    rs = RunSettings(
        provider=provider,
        model=model,
        concurrency=3,
        job_timeout_ms=JOB_TIMEOUT_MS,
        retry_policy=POLICY,
        base_url=fake.url + suffix,
        provider_options={"comfyui": {"workflow": str(WORKFLOW)}} if provider == "comfyui" else {},
    )
    specs = [
        JobSpec(
            prompt=f"{kind} {tag}", output_path=f"{kind}.png", size="1024x1024", output_format="png"
        )
        for kind in ("fault", "fine-a", "fine-b")
    ]
    bid = store_batch(store, rs, specs, tmp_path / "o", name=tag)

    def factory(s: RunSettings):  # type: ignore[no-untyped-def]
        return create_provider(
            s.provider,
            api_key="k",
            base_url=s.base_url,
            poll_interval_s=0.02,
            **s.provider_options.get(s.provider, {}),
        )

    report = await Engine(store, factory, thumb_dir=None).run(bid)
    by = {r.prompt.split()[0]: r for r in report.results}
    fault = by["fault"]
    attempts = store.attempts(int(fault.job_id))
    first = attempts[0]
    assert first["error_type"] == cls.value, (
        f"{provider}/{behaviour}: {first['error_type']} ({first['error']})"
    )
    message = str(first["error"])
    assert (
        len(message) > 15
        and (message[0].isupper() or message.startswith("fal.ai"))
        and "Traceback" not in message
    )
    retried = cls not in NEVER_RETRIED and cls in POLICY.retry_on_errors
    if not retried:
        assert fault.status == "failed" and fault.attempts == 1
    else:
        assert fault.status == "completed" and fault.attempts == 2, (fault.status, fault.error)
    assert by["fine-a"].status == by["fine-b"].status == "completed"
    assert not list((tmp_path / "o").glob("*tmp"))
    # A broken *answer* (cut off, malformed, too slow, expired before download) may have been
    # billed by the provider: when it is retried, that image is paid twice.
    billed = behaviour in (
        "drop",
        "malformed",
        "wrong_content_type",
        "oversized",
        "slow",
        "truncated",
        "bad_base64",
        "expired",
    )
    record(
        f"fault matrix: {provider} × {behaviour}",
        runs=1,
        jobs=3,
        error_class=cls.value,
        retried=retried,
        images_lost=0,
        paid_twice=int(retried and billed),
    )


async def test_connect_timeout_and_refused_are_network_class() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out connecting", request=request)

    req = GenerationRequest(
        model="gpt-image-1.5", prompt="x", size="1024x1024", quality="low", output_format="png"
    )
    p = OpenAIProvider("k", "http://127.0.0.1:9/v1", transport=httpx.MockTransport(boom))
    with pytest.raises(ProviderError) as e:
        await p.generate(req)
    assert e.value.error_class is ErrorClass.TIMEOUT and "did not answer in time" in e.value.message
    await p.aclose()
    refused = OpenAIProvider("k", "http://127.0.0.1:9/v1")
    with pytest.raises(ProviderError) as e2:
        await refused.generate(req)
    assert e2.value.error_class is ErrorClass.NETWORK and "ConnectError" in e2.value.message
    await refused.aclose()
