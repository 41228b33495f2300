"""The batch endpoints of the OpenAI and Gemini fakes, driven by the official clients (``openai``
``files``/``batches``; ``google-genai`` ``batches``): what Atelier's economy mode is tested
against is what those SDKs send and read."""

from __future__ import annotations

import io
import json
import time

import openai
from google import genai
from google.genai import types

from tests.conftest import FAKE_KEY
from tests.fakes.framework import FakeServer
from tests.fakes.gemini import GeminiDialect
from tests.fakes.openai_server import FakeOpenAI


def _wait(done: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.1)


def test_openai_files_and_batches_through_the_official_client(fake_openai: FakeOpenAI) -> None:
    client = openai.OpenAI(api_key=FAKE_KEY, base_url=fake_openai.base_url, max_retries=0)
    fake_openai.script_for("cat 2", ["moderation_blocked"])
    lines = "".join(
        json.dumps(
            {
                "custom_id": f"line-{i}",
                "method": "POST",
                "url": "/v1/images/generations",
                "body": {"model": "gpt-image-1.5", "prompt": f"cat {i}", "quality": "low"},
            }
        )
        + "\n"
        for i in range(4)
    )
    upload = client.files.create(file=("in.jsonl", lines.encode()), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes == len(lines.encode())
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/images/generations", completion_window="24h"
    )
    assert batch.status == "in_progress" and batch.request_counts.total == 4
    _wait(lambda: client.batches.retrieve(batch.id).status == "completed")
    done = client.batches.retrieve(batch.id)
    assert (done.request_counts.completed, done.request_counts.failed) == (3, 1)
    assert done.output_file_id and done.error_file_id
    out = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert sorted(x["custom_id"] for x in out) == ["line-0", "line-1", "line-3"]
    body = out[0]["response"]["body"]
    assert out[0]["response"]["status_code"] == 200 and body["data"][0]["b64_json"]
    assert body["usage"]["output_tokens"] == 272
    (bad,) = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert bad["custom_id"] == "line-2"
    assert bad["response"]["body"]["error"]["code"] == "moderation_blocked"
    # Cancel: cancelling, then cancelled, with the lines never run marked batch_cancelled.
    fake_openai.batches.hold = True
    second = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/images/generations", completion_window="24h"
    )
    assert client.batches.cancel(second.id).status == "cancelling"
    gone = client.batches.retrieve(second.id)
    assert gone.status == "cancelled" and gone.error_file_id
    never = [json.loads(x) for x in client.files.content(gone.error_file_id).text.splitlines()]
    assert {x["error"]["code"] for x in never} == {"batch_cancelled"}


def test_gemini_batch_mode_through_google_genai() -> None:
    with FakeServer(GeminiDialect, api_key="gk") as fake:
        client = genai.Client(
            api_key="gk", http_options=types.HttpOptions(base_url=fake.url, api_version="v1beta")
        )
        fake.script_for("a dog", ["500"])
        src: list[types.InlinedRequestDict] = [
            {"contents": [{"role": "user", "parts": [{"text": t}]}], "metadata": {"key": k}}
            for k, t in (("r1", "a cat"), ("r2", "a dog"))
        ]
        job = client.batches.create(model="gemini-2.5-flash-image", src=src)
        assert job.name and job.name.startswith("batches/")
        assert job.state == types.JobState.JOB_STATE_RUNNING
        _wait(lambda: client.batches.get(name=job.name).done)
        done = client.batches.get(name=job.name)
        assert done.state == types.JobState.JOB_STATE_SUCCEEDED
        assert done.dest is not None and done.dest.inlined_responses is not None
        ok, bad = done.dest.inlined_responses
        assert ok.metadata == {"key": "r1"} and ok.response is not None
        part = ok.response.candidates[0].content.parts[1]  # type: ignore[index, union-attr]
        assert part.inline_data is not None and part.inline_data.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert bad.metadata == {"key": "r2"} and bad.error is not None
        assert bad.error.code == 13  # google.rpc.Code INTERNAL
        fake.batches.hold = True
        other = client.batches.create(model="gemini-2.5-flash-image", src=src[:1])
        client.batches.cancel(name=other.name)  # type: ignore[arg-type]
        assert client.batches.get(name=other.name).state == types.JobState.JOB_STATE_CANCELLED  # type: ignore[arg-type]
        # A request file through the Files API (resumable upload), results as a file.
        fake.batches.hold = False
        jsonl = json.dumps({"key": "f1", "request": {"contents": [{"role": "user", "parts": [{"text": "a fox"}]}]}})  # fmt: skip
        uploaded = client.files.upload(
            file=io.BytesIO(jsonl.encode() + b"\n"),
            config=types.UploadFileConfig(mime_type="application/jsonl"),
        )
        assert uploaded.name and uploaded.name.startswith("files/")
        from_file = client.batches.create(model="gemini-2.5-flash-image", src=uploaded.name)
        _wait(lambda: client.batches.get(name=from_file.name).done)  # type: ignore[arg-type]
        finished = client.batches.get(name=from_file.name)  # type: ignore[arg-type]
        assert finished.dest is not None and finished.dest.file_name
        (line,) = client.files.download(file=finished.dest.file_name).decode().splitlines()
        item = json.loads(line)
        assert item["key"] == "f1" and item["response"]["candidates"]
