"""OpenAI's Batch API for image generations.

Wire (``shared/docs/providers.md`` "Batch API", checked against the ``openai`` package's
``files.create``/``batches.create``/``batches.retrieve``/``batches.cancel``/``files.content``):
``POST {base}/files`` (multipart, ``purpose=batch``, a JSONL of ``{"custom_id","method",
"url","body"}``) → ``{"id": "file-…"}``; ``POST {base}/batches {"input_file_id","endpoint":
"/v1/images/generations","completion_window":"24h"}``; ``GET {base}/batches/{id}`` (``status``,
``request_counts``, ``output_file_id``, ``error_file_id``, ``errors``); ``POST
{base}/batches/{id}/cancel``; ``GET {base}/files/{id}/content``. Output lines: ``{"id",
"custom_id","response":{"status_code","request_id","body"},"error"}``; lines that were never
run (``batch_expired``, ``batch_cancelled``) carry only ``error``. Limits: 50,000 lines, 200 MB.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from atelier.core.errors import ErrorClass, ProviderError
from atelier.core.i18n import tr
from atelier.providers.base import GenerationRequest, remote_gone
from atelier.providers.economy import BatchApi, BatchState, Outcome, unreadable_line
from atelier.providers.openai import OpenAIProvider, classify_http_error

ENDPOINT = "/v1/images/generations"
_FINISHED = {"completed", "failed", "expired", "cancelled"}
_NOT_RUN = {"batch_expired", "batch_cancelled"}


class OpenAIBatchApi(BatchApi):
    """The Batch API around an ``OpenAIProvider`` (its key, base URL and body)."""

    max_lines = 50_000
    max_bytes = 200_000_000

    def __init__(self, provider: OpenAIProvider) -> None:
        super().__init__(provider)
        self.openai = provider

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.openai.need_key()}"}

    def line(self, request: GenerationRequest, line_id: str) -> dict[str, Any]:
        """One JSONL line: the body ``POST /images/generations`` would get."""
        return {
            "custom_id": line_id,
            "method": "POST",
            "url": ENDPOINT,
            "body": self.openai.body(request),
        }

    def line_size(self, line: dict[str, Any]) -> int:
        return len(json.dumps(line, ensure_ascii=False).encode()) + 1

    async def submit(self, model: str, lines: list[dict[str, Any]]) -> str:
        """Upload the JSONL, then create the batch; returns the batch id (``batch_…``).

        Raises:
            ProviderError: the upload or the create was refused (classified as OpenAI errors).
        """
        jsonl = "".join(json.dumps(ln, ensure_ascii=False) + "\n" for ln in lines).encode()
        base = self.openai.base_url
        upload = await self.openai.request(
            "POST",
            f"{base}/files",
            data={"purpose": "batch"},
            files={"file": ("atelier-batch.jsonl", jsonl, "application/jsonl")},
            headers=self._auth(),
        )
        file_id = str(self.openai.json_of(upload)["id"])
        created = await self.openai.request(
            "POST",
            f"{base}/batches",
            json={
                "input_file_id": file_id,
                "endpoint": ENDPOINT,
                "completion_window": "24h",
                "metadata": {"made_by": "atelier"},
            },
            headers=self._auth(),
        )
        return str(self.openai.json_of(created)["id"])

    async def status(self, batch_id: str) -> BatchState:
        resp = await self.openai.request(
            "GET", f"{self.openai.base_url}/batches/{batch_id}", headers=self._auth(), ok=(404,)
        )
        if resp.status_code == 404:
            raise remote_gone(self.openai.label, tr("batch {id}").format(id=batch_id))
        body = self.openai.json_of(resp)
        status = str(body.get("status") or "")
        counts = body.get("request_counts") or {}
        done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        total = int(counts.get("total") or 0) or None
        reason = status
        errors = (body.get("errors") or {}).get("data") or []
        if status == "failed" and errors:
            first = errors[0]
            reason = tr("failed: {reason}").format(reason=first.get("message") or first.get("code"))
        return BatchState(
            status,
            done if total else None,
            total,
            status in _FINISHED,
            lost=status in ("expired", "cancelled"),
            refused=status == "failed",
            reason=reason,
            raw=body,
        )

    async def results(
        self, state: BatchState, requests: dict[str, GenerationRequest]
    ) -> AsyncIterator[tuple[str | None, Outcome]]:
        """Each output and error line: images decoded as the synchronous answer is, errors
        classified from their status and body as the synchronous error would be; a malformed
        line is that job's ``unreadable_line`` (or, without a readable id, ``None``'s)."""
        for key in ("output_file_id", "error_file_id"):
            file_id = state.raw.get(key)
            if not file_id:
                continue
            url = f"{self.openai.base_url}/files/{file_id}/content"
            async for text in self.openai.stream_lines(url, self._auth()):
                parsed = self._line(text, requests)
                if parsed is not None:
                    yield parsed

    def _line(
        self, text: str, requests: dict[str, GenerationRequest]
    ) -> tuple[str | None, Outcome] | None:
        """One output line as ``(its job's line id, outcome)``; ``None`` for a line of no
        waiting job, or one never run (put back with the batch's unfinished lines)."""
        label = self.openai.label
        try:
            item = json.loads(text)
        except ValueError:
            return None, unreadable_line(label, tr("not JSON"))
        if not isinstance(item, dict):
            return None, unreadable_line(label, tr("not a JSON object"))
        line_id = str(item.get("custom_id") or "")
        request = requests.get(line_id)
        if request is None:
            return (None, unreadable_line(label, tr("no custom_id"))) if not line_id else None
        resp = item.get("response") or {}
        error = item.get("error") or {}
        if not isinstance(resp, dict):
            return line_id, unreadable_line(label, tr('"response" is not an object'))
        if not isinstance(error, dict):
            error = {"message": str(error)}
        if not resp:
            if error.get("code") in _NOT_RUN:
                return None  # never run: put back with the batch's unfinished lines
            message = str(error.get("message") or error.get("code") or tr("no answer"))
            return line_id, ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} batch line failed: {message}").format(
                    provider=label, message=message
                ),
            )
        try:
            status = int(resp.get("status_code") or 0)
        except (TypeError, ValueError):
            return line_id, unreadable_line(label, tr('"status_code" is not a number'))
        body = resp.get("body")
        request_id = resp.get("request_id")
        if status >= 400:
            raw = json.dumps(body).encode()
            return line_id, classify_http_error(status, raw, httpx.Headers(), label)
        try:
            return line_id, self.openai.decode(body, request, status, request_id)
        except ProviderError as e:
            # A 200 answer was billed: an image it lacks was paid for all the same.
            e.paid = e.paid or e.error_class is ErrorClass.SERVER_ERROR
            return line_id, e
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
            return line_id, unreadable_line(label, type(e).__name__)

    async def cancel(self, batch_id: str) -> None:
        await self.openai.request(
            "POST", f"{self.openai.base_url}/batches/{batch_id}/cancel", headers=self._auth()
        )
