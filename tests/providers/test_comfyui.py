"""ComfyUI adapter against the ComfyUI dialect (HTTP + websocket) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from atelier.core.errors import ErrorClass, InputError, ProviderError
from atelier.providers.comfyui import ComfyUIProvider, find_targets, load_workflow
from tests.fakes.comfyui import ComfyUIDialect
from tests.fakes.framework import FakeServer
from tests.providers.contract import expect_class, request_maker

WORKFLOW = Path(__file__).resolve().parent.parent / "data" / "comfy-sdxl-api.json"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(ComfyUIDialect, api_key=None) as f:
        yield f


@pytest.fixture
async def provider(fake: FakeServer) -> AsyncIterator[ComfyUIProvider]:
    p = ComfyUIProvider(None, fake.url, timeout_s=2.0, poll_interval_s=0.05, workflow=WORKFLOW)
    yield p
    await p.aclose()


req = request_maker("workflow", "768x512", "png", "a ceramic teapot")


def test_inputs_are_found_in_the_graph() -> None:
    t = {k: str(v) for k, v in find_targets(load_workflow(WORKFLOW)).items()}
    assert t == {
        "prompt": "6.text",
        "negative_prompt": "7.text",
        "seed": "3.seed",
        "steps": "3.steps",
        "cfg": "3.cfg",
        "sampler_name": "3.sampler_name",
        "width": "5.width",
        "height": "5.height",
        "batch_size": "5.batch_size",
    }


def test_mapping_overrides_and_bad_mappings_are_named() -> None:
    graph = load_workflow(WORKFLOW)
    assert str(find_targets(graph, {"prompt": "7.text"})["prompt"]) == "7.text"
    with pytest.raises(InputError, match="no node '42'"):
        find_targets(graph, {"prompt": "42.text"})
    del graph["3"]
    with pytest.raises(InputError, match="found no prompt input"):
        find_targets(graph)


def test_ui_format_is_refused_with_a_hint(tmp_path: Path) -> None:
    p = tmp_path / "ui.json"
    p.write_text(json.dumps({"nodes": [], "links": []}))
    with pytest.raises(InputError, match="Save \\(API Format\\)"):
        load_workflow(p)


async def test_websocket_progress_history_and_view(
    provider: ComfyUIProvider, fake: FakeServer
) -> None:
    progress: list[float] = []
    res = await provider.generate(
        req(n=2, seed=11, negative_prompt="blurry", on_progress=progress.append)
    )
    assert len(res.images) == 2
    assert Image.open(io.BytesIO(res.images[0].data)).size == (768, 512)
    graph = fake.requests()[0].body["prompt"]
    assert (
        graph["6"]["inputs"]["text"] == "a ceramic teapot"
        and graph["7"]["inputs"]["text"] == "blurry"
    )
    assert graph["3"]["inputs"]["seed"] == 11
    assert graph["5"]["inputs"] == {"width": 768, "height": 512, "batch_size": 2}
    assert progress[:4] == [0.25, 0.5, 0.75, 1.0]
    assert len(fake.all_requests("/history/")) == 1  # the websocket said done; one history read


async def test_falls_back_to_polling_without_websocket(
    provider: ComfyUIProvider, fake: FakeServer
) -> None:
    fake.dialect.refuse_ws = True  # type: ignore[attr-defined]
    res = await provider.generate(req())
    assert len(res.images) == 1
    assert len(fake.all_requests("/history/")) > 1  # polled until done


async def test_node_errors_are_readable(provider: ComfyUIProvider, fake: FakeServer) -> None:
    err = await expect_class(provider, fake, "node_error", req(), ErrorClass.INVALID_REQUEST)
    assert "node 3 (KSampler): Value not in list: sampler_name: 'bogus' not in" in err.message


async def test_execution_error(provider: ComfyUIProvider, fake: FakeServer) -> None:
    await expect_class(
        provider, fake, "exec_error", req(), ErrorClass.SERVER_ERROR, "CUDA out of memory"
    )
    fake.dialect.refuse_ws = True  # type: ignore[attr-defined]
    await expect_class(
        provider, fake, "exec_error", req(), ErrorClass.SERVER_ERROR, "CUDA out of memory"
    )


async def _started(fake: FakeServer, count: int) -> None:
    while len(fake.requests()) < count:
        await asyncio.sleep(0.02)


async def test_cancel_interrupts_only_our_running_prompt(
    provider: ComfyUIProvider, fake: FakeServer
) -> None:
    fake.script(["long"])
    task = asyncio.create_task(provider.generate(req()))
    await _started(fake, 1)
    await asyncio.sleep(0.3)
    dialect: Any = fake.dialect
    running = dialect.running
    assert running is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if dialect.interrupts:
            break
        await asyncio.sleep(0.02)
    # Running, so nothing to delete: one interrupt, naming our prompt.
    assert dialect.deleted == [] and dialect.interrupt_bodies == [{"prompt_id": running}]


async def test_cancelling_a_queued_prompt_leaves_the_running_one_alone(
    provider: ComfyUIProvider, fake: FakeServer
) -> None:
    """Two prompts on one server (two jobs, or a colleague's): a timeout of the queued one
    deletes it from the queue and never interrupts the prompt that is running."""
    fake.script(["long", "long"])
    dialect: Any = fake.dialect
    dialect.steps, dialect.step_s = 8, 0.05
    first = asyncio.create_task(provider.generate(req()))
    await _started(fake, 1)
    await asyncio.sleep(0.2)
    second = asyncio.create_task(provider.generate(req()))
    await _started(fake, 2)
    await asyncio.sleep(0.2)
    queued = list(dialect.pending)
    assert len(queued) == 1 and dialect.running not in queued
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    for _ in range(100):
        if dialect.deleted:
            break
        await asyncio.sleep(0.02)
    assert dialect.deleted == queued
    assert dialect.interrupts == 0 and dialect.interrupted == []
    result = await asyncio.wait_for(first, 30)  # the running prompt finishes undisturbed
    assert len(result.images) == 1


async def test_connection_and_missing_workflow(fake: FakeServer) -> None:
    p = ComfyUIProvider(None, fake.url)
    try:
        assert "ComfyUI 0.3.60" in await p.test_connection()
        with pytest.raises(ProviderError, match="needs a workflow"):
            await p.generate(req())
    finally:
        await p.aclose()
    down = ComfyUIProvider(None, "http://127.0.0.1:9")
    try:
        with pytest.raises(ProviderError, match="Is ComfyUI running"):
            await down.test_connection()
    finally:
        await down.aclose()
