"""Gemini's Batch Mode with inline requests.

Wire (``shared/docs/providers.md`` "Batch Mode", checked against ``google-genai``'s
``batches.py``: ``_CreateBatchJobParameters_to_mldev``, ``_InlinedRequest_to_mldev``,
``_BatchJob_from_mldev``): ``POST {base}/models/{m}:batchGenerateContent {"batch":
{"displayName","inputConfig":{"requests":{"requests":[{"request":{generateContent body},
"metadata":{"key"}}]}}}}`` → an Operation ``{"name":"batches/…","metadata":{the batch}}``;
``GET {base}/batches/{id}`` → the same Operation, the batch in ``metadata`` (``state``
BATCH_STATE_PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | EXPIRED, ``batchStats``,
``output.inlinedResponses.inlinedResponses[]`` of ``{"response"|"error","metadata"}``);
``POST {base}/batches/{id}:cancel``. Inline requests are limited to 20 MB: a larger batch
goes as a JSONL file of ``{"key","request"}`` lines, uploaded with the Files API's resumable
protocol (as ``google-genai``'s ``files.upload``: ``POST {root}/upload/v1beta/files`` with
``X-Goog-Upload-Protocol: resumable`` / ``Command: start`` → ``x-goog-upload-url``, then one
``upload, finalize`` of the bytes → ``{"file":{"name":"files/…"}}``) and named by
``inputConfig.fileName``; its results come back as ``output.responsesFile``, a JSONL of
``{"key","response"|"error"}`` lines fetched from ``{base}/files/{id}:download?alt=media``.
A key answered twice is taken once (providers.md: each repeat is billed).
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
from atelier.providers.gemini import GeminiProvider

_FINISHED = {
    "BATCH_STATE_SUCCEEDED",
    "BATCH_STATE_FAILED",
    "BATCH_STATE_CANCELLED",
    "BATCH_STATE_EXPIRED",
}


async def _each(inlined: Any) -> AsyncIterator[Any]:
    """The inline responses, malformed entries included (``results`` tells them)."""
    items = inlined.get("inlinedResponses") if isinstance(inlined, dict) else None
    for item in items if isinstance(items, list) else []:
        yield item


#: gRPC codes (``google.rpc.Code``) → their HTTP status and name.
_HTTP_OF_GRPC = {3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 9: 400, 13: 500, 14: 503, 16: 401}
_STATUS_OF_GRPC = {
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}
#: A finished batch's status carries every image inline: far above one synchronous answer.
STATUS_LIMIT_BYTES = 2_000_000_000


class GeminiBatchApi(BatchApi):
    """Batch Mode around a ``GeminiProvider`` (its key, base URL, body and answer parsing)."""

    max_lines = 50_000
    max_bytes = 2_000_000_000  # a request file (the Files API's limit per file)
    inline_max_bytes = 20_000_000
    """Above this, the requests go as an uploaded file instead of inline."""

    def __init__(self, provider: GeminiProvider) -> None:
        super().__init__(provider)
        self.gemini = provider

    def _auth(self) -> dict[str, str]:
        return {"x-goog-api-key": self.gemini.need_key()}

    def line(self, request: GenerationRequest, line_id: str) -> dict[str, Any]:
        """One inline request: the ``generateContent`` body, keyed by ``metadata.key``."""
        return {"request": self.gemini.body(request), "metadata": {"key": line_id}}

    def line_size(self, line: dict[str, Any]) -> int:
        return len(json.dumps(line).encode())

    async def submit(self, model: str, lines: list[dict[str, Any]]) -> str:
        """Create the batch with the lines inline, or (over ``inline_max_bytes``) as an
        uploaded file; returns its id (``batches/…``)."""
        if sum(self.line_size(ln) for ln in lines) <= self.inline_max_bytes:
            source: dict[str, Any] = {"requests": {"requests": lines}}
        else:
            jsonl = "".join(
                json.dumps({"key": ln["metadata"]["key"], "request": ln["request"]}) + "\n"
                for ln in lines
            )
            source = {"fileName": await self._upload(jsonl.encode())}
        resp = await self.gemini.request(
            "POST",
            f"{self.gemini.base_url}/models/{model}:batchGenerateContent",
            json={"batch": {"displayName": f"atelier-{len(lines)}", "inputConfig": source}},
            headers=self._auth(),
        )
        return str(self.gemini.json_of(resp)["name"])

    async def _upload(self, data: bytes) -> str:
        """Upload a request file (resumable protocol, one chunk); returns ``files/…``."""
        base = httpx.URL(self.gemini.base_url)
        start = await self.gemini.request(
            "POST",
            str(base.copy_with(path=f"/upload{base.path.rstrip('/')}/files")),
            json={"file": {"displayName": "atelier-batch.jsonl", "mimeType": "application/jsonl"}},
            headers={
                **self._auth(),
                "X-Goog-Upload-Protocol": "resumable",
                "X-Goog-Upload-Command": "start",
                "X-Goog-Upload-Header-Content-Length": str(len(data)),
                "X-Goog-Upload-Header-Content-Type": "application/jsonl",
            },
        )
        url = start.headers.get("x-goog-upload-url")
        if not url:
            raise ProviderError(
                ErrorClass.SERVER_ERROR,
                tr("{provider} gave no upload address for the file.").format(
                    provider=self.gemini.label
                ),
            )
        done = await self.gemini.request(
            "POST",
            url,
            content=data,
            headers={
                **self._auth(),
                "X-Goog-Upload-Command": "upload, finalize",
                "X-Goog-Upload-Offset": "0",
            },
        )
        return str(self.gemini.json_of(done)["file"]["name"])

    async def status(self, batch_id: str) -> BatchState:
        resp = await self.gemini.request(
            "GET",
            f"{self.gemini.base_url}/{batch_id}",
            headers=self._auth(),
            ok=(404,),
            limit=STATUS_LIMIT_BYTES,
        )
        if resp.status_code == 404:
            raise remote_gone(self.gemini.label, tr("batch {id}").format(id=batch_id))
        body = self.gemini.json_of(resp)
        meta = body.get("metadata") or {}
        state = str(meta.get("state") or "")
        stats = meta.get("batchStats") or {}
        total = int(stats.get("requestCount") or 0) or None
        done = int(stats.get("successfulRequestCount") or 0) + int(
            stats.get("failedRequestCount") or 0
        )
        reason = state.removeprefix("BATCH_STATE_").lower()
        return BatchState(
            state,
            done if total else None,
            total,
            state in _FINISHED,
            lost=state in ("BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"),
            refused=state == "BATCH_STATE_FAILED",
            reason=reason,
            raw=meta,
        )

    async def results(
        self, state: BatchState, requests: dict[str, GenerationRequest]
    ) -> AsyncIterator[tuple[str | None, Outcome]]:
        """Each inline response, decoded as a ``generateContent`` answer; an ``error`` entry
        classified as the synchronous error of that status would be; a malformed entry is
        that job's ``unreadable_line`` (or, without a readable key, ``None``'s)."""
        output = state.raw.get("output") or {}
        if not isinstance(output, dict):
            output = {}
        if output.get("responsesFile"):
            items: AsyncIterator[Any] = self._file_lines(str(output["responsesFile"]))
        else:
            items = _each(output.get("inlinedResponses") or {})
        label = self.gemini.label
        async for item in items:  # a malformed entry fails its own job; the rest is read
            if not isinstance(item, dict):
                yield None, unreadable_line(label, tr("not a JSON object"))
                continue
            meta = item.get("metadata")
            key = str(item.get("key") or (meta.get("key") if isinstance(meta, dict) else "") or "")
            if key not in requests:
                if not key:
                    yield None, unreadable_line(label, tr("no key"))
                continue
            yield key, self._outcome(item)

    def _outcome(self, item: dict[str, Any]) -> Outcome:
        """The outcome of one entry of a waiting job; never raises (a malformed entry is an
        ``unreadable_line``)."""
        label = self.gemini.label
        error = item.get("error")
        response = item.get("response") or {}
        try:
            if error:
                if not isinstance(error, dict):
                    return unreadable_line(label, tr('"error" is not an object'))
                return self._error(error)
            if not isinstance(response, dict):
                return unreadable_line(label, tr('"response" is not an object'))
            return self.gemini.decode(response)
        except ProviderError as e:
            # An answer was billed: an image it lacks was paid for all the same.
            e.paid = e.paid or (not error and e.error_class is ErrorClass.SERVER_ERROR)
            return e
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
            return unreadable_line(label, type(e).__name__)

    async def _file_lines(self, name: str) -> AsyncIterator[Any]:
        """The lines of a responses file, parsed (a line that is not JSON as ``None``)."""
        url = f"{self.gemini.base_url}/{name}:download?alt=media"
        async for text in self.gemini.stream_lines(url, self._auth()):
            try:
                item = json.loads(text)
            except ValueError:
                yield None
                continue
            if isinstance(item, dict) and "status" in item and "error" not in item:
                item["error"] = item["status"]  # a google.rpc.Status line
            yield item

    def _error(self, error: dict[str, Any]) -> ProviderError:
        """A line's ``google.rpc.Status`` (a gRPC code) classified like the synchronous error
        body of the same status."""
        code = int(error.get("code") or 13)
        status = _HTTP_OF_GRPC.get(code, code if 400 <= code < 600 else 500)
        name = error.get("status") or _STATUS_OF_GRPC.get(code, "")
        body = json.dumps({"error": {**error, "code": status, "status": name}}).encode()
        return self.gemini.classify(httpx.Response(status, content=body))

    async def cancel(self, batch_id: str) -> None:
        await self.gemini.request(
            "POST", f"{self.gemini.base_url}/{batch_id}:cancel", headers=self._auth()
        )
