"""``EconomyProvider``'s own rules on a scripted batch API (no HTTP): polling backs off from
the first interval, requests arriving together share one provider batch, and the estimate says
both prices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from atelier.pricing.estimate import Estimate
from atelier.providers.base import GeneratedImage, GenerationRequest, GenerationResult
from atelier.providers.economy import BatchApi, BatchState, EconomyProvider, Outcome, Waiting
from atelier.providers.openai import OpenAIProvider


class ScriptedApi(BatchApi):
    """Finishes each batch after ``polls`` status calls; records when each call came."""

    def __init__(self, polls: int) -> None:
        super().__init__(OpenAIProvider("sk-x", "http://127.0.0.1:9/v1"))
        self.polls = polls
        self.calls: list[float] = []
        self.submitted: list[list[dict[str, Any]]] = []
        self.models: list[str] = []

    def line(self, request: GenerationRequest, line_id: str) -> dict[str, Any]:
        return {"id": line_id, "prompt": request.prompt}

    def line_size(self, line: dict[str, Any]) -> int:
        return 10

    async def submit(self, model: str, lines: list[dict[str, Any]]) -> str:
        self.models.append(model)
        self.submitted.append(lines)
        return f"b{len(self.submitted)}"

    async def status(self, batch_id: str) -> BatchState:
        self.calls.append(asyncio.get_running_loop().time())
        finished = len(self.calls) >= self.polls
        return BatchState("done" if finished else "running", None, None, finished)

    async def results(
        self, state: BatchState, requests: dict[str, GenerationRequest]
    ) -> AsyncIterator[tuple[str, Outcome]]:
        for key, req in requests.items():
            yield key, GenerationResult([GeneratedImage(req.prompt.encode())])

    async def cancel(self, batch_id: str) -> None:
        raise AssertionError("not cancelled in these tests")


def _req(prompt: str, model: str = "gpt-image-1.5") -> GenerationRequest:
    return GenerationRequest(model, prompt, "1024x1024", "low", "png")


def test_polling_backs_off_from_the_first_interval() -> None:
    async def go() -> list[float]:
        api = ScriptedApi(polls=5)
        seen: list[Waiting] = []
        eco = EconomyProvider(api, seen.append, poll_first_s=0.05, gather_s=0.01)
        result = await eco.generate(_req("a cup"))
        assert result.images[0].data == b"a cup"
        assert [w.state for w in seen] == ["submitted", "running", "running", "running", "running", "done"]  # fmt: skip
        return [b - a for a, b in zip(api.calls, api.calls[1:], strict=False)]

    gaps = asyncio.run(go())
    expected = [0.05, 0.075, 0.1125, 0.16875]
    assert gaps == pytest.approx(expected, rel=0.35, abs=0.02)
    assert gaps[-1] > 2.5 * gaps[0]  # it grows towards minutes, not a fixed beat


def test_requests_arriving_together_share_one_provider_batch_split_at_the_limit() -> None:
    async def go() -> list[int]:
        api = ScriptedApi(polls=1)
        api.max_lines = 4
        eco = EconomyProvider(api, lambda w: None, poll_first_s=0.01, gather_s=0.05)
        got = await asyncio.gather(*(eco.generate(_req(f"p{i}")) for i in range(10)))
        assert [r.images[0].data for r in got] == [f"p{i}".encode() for i in range(10)]
        assert eco.price_factor(_req("x")) == 0.5
        return [len(b) for b in api.submitted]

    assert asyncio.run(go()) == [4, 4, 2]


def test_each_model_gets_its_own_provider_batch() -> None:
    """A Gemini batch names one model: jobs of two models go into two batches."""

    async def go() -> ScriptedApi:
        api = ScriptedApi(polls=1)
        eco = EconomyProvider(api, lambda w: None, poll_first_s=0.01, gather_s=0.05)
        reqs = [_req(f"p{i}", ("model-a", "model-b")[i % 2]) for i in range(6)]
        await asyncio.gather(*(eco.generate(r) for r in reqs))
        return api

    api = asyncio.run(go())
    assert sorted(api.models) == ["model-a", "model-b"]
    assert sorted(len(b) for b in api.submitted) == [3, 3]


def test_the_estimate_says_both_prices() -> None:
    est = Estimate(300, 13.2, 0, (), priced_by_provider=(("openai", 13.2),))
    assert est.with_economy({"openai": 0.5}, False).describe() == (
        "300 images · $13.200 now · $6.600 economy, within 24 h"
    )
    chosen = est.with_economy({"openai": 0.5}, True)
    assert chosen.describe() == "300 images · $6.600 economy, within 24 h ($13.200 now)"
    assert chosen.to_pay_usd == pytest.approx(6.6)
    assert est.with_economy({}, False).describe() == "300 images · $13.200"
