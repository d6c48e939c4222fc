"""The Quickwit history backend: Quickwit 0.8's REST API over httpx.

    GET  /api/v1/indexes/{index}            does the index exist (404 if not)
    POST /api/v1/indexes                    create it (JSON index config)
    POST /api/v1/{index}/ingest?commit=...  NDJSON documents, at most 10 MB a request
    GET  /api/v1/{index}/search             query, max_hits, sort_by, start/end_timestamp
    POST /api/v1/{index}/delete-tasks       delete an app's documents

One index shared by every app, `app` a raw tag field: an index per app
(Drycc's layout) costs Quickwit an indexing pipeline and metadata per app,
which does not scale to thousands of apps. Failed requests carry
`{"message": ...}`; 429 and 5xx are retried by the indexer, other 4xx drop
the batch (counted).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from logger.history.backend import (
    BadQuery,
    HistorySearch,
    HistoryUnavailable,
    RejectedBatch,
    RetryableError,
    Run,
)
from logger.history.document import HistoryDoc
from logger.history.query import quickwit_query
from logger.history.settings import HistorySettings
from logger.lines import line_process

# Quickwit refuses ingest bodies past 10 MB; stay under it with room to spare.
MAX_INGEST_BYTES = 10_000_000 - 64 * 1024
_RAW = {"type": "text", "tokenizer": "raw", "fast": True}


def index_config(settings: HistorySettings) -> dict[str, Any]:
    """The shared index's config: the same fields as the embedded index."""
    return {
        "version": "0.8",
        "index_id": settings.quickwit_index,
        "doc_mapping": {
            "mode": "strict",
            "field_mappings": [
                {"name": "app", **_RAW},
                {"name": "proc", **_RAW},
                {"name": "instance", **_RAW},
                {"name": "stream", **_RAW},
                {"name": "level", **_RAW},
                {
                    "name": "timestamp",
                    "type": "datetime",
                    "input_formats": ["unix_timestamp"],
                    "output_format": "unix_timestamp_secs",
                    "fast": True,
                    "fast_precision": "seconds",
                },
                {"name": "time_us", "type": "i64", "fast": True, "indexed": True},
                {"name": "seq", "type": "u64", "fast": True, "indexed": True},
                {"name": "message", "type": "text", "tokenizer": "default", "record": "position"},
                {"name": "line", "type": "text", "indexed": False, "stored": True},
            ],
            "timestamp_field": "timestamp",
            "tag_fields": ["app"],
        },
        "search_settings": {"default_search_fields": ["message"]},
        "indexing_settings": {"commit_timeout_secs": 5},
        "retention": {
            "period": f"{settings.quickwit_retention_days} days",
            "schedule": "hourly",
        },
    }


class QuickwitIndex:
    name = "quickwit"

    def __init__(
        self, settings: HistorySettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._index = settings.quickwit_index
        self._client = httpx.AsyncClient(
            base_url=settings.quickwit_url,
            timeout=settings.request_timeout,
            transport=transport,
        )
        self._index_ready = False

    async def start(self) -> None:
        """Nothing to wait for: the index is made on the first write, so a
        Quickwit that is down at start only delays history."""

    async def write(self, runs: Sequence[Run]) -> None:
        await self._ensure_index()
        bodies = await asyncio.to_thread(_ndjson_bodies, runs)
        sent = 0
        for body, count in bodies:
            try:
                reply = await self._client.post(
                    f"/api/v1/{self._index}/ingest",
                    params={"commit": self._settings.quickwit_commit},
                    content=body,
                    headers={"Content-Type": "application/x-ndjson"},
                )
            except httpx.TransportError as error:
                raise _partial(
                    RetryableError(f"Quickwit unreachable: {_kind(error)}"), sent
                ) from None
            if reply.status_code == 404:
                self._index_ready = False
                raise _partial(RetryableError("Quickwit has no such index (yet)"), sent)
            if reply.status_code == 429 or reply.status_code >= 500:
                busy = RetryableError(
                    f"Quickwit answered {reply.status_code}: {_message(reply)}",
                    retry_after=_retry_after(reply),
                )
                raise _partial(busy, sent)
            if reply.status_code >= 400:
                raise _partial(
                    RejectedBatch(
                        f"Quickwit refused a batch ({reply.status_code}): {_message(reply)}",
                        reason=f"rejected_{reply.status_code}",
                    ),
                    sent,
                )
            sent += count

    async def search(self, search: HistorySearch) -> list[tuple[int, bytes]]:
        if search.limit < 1:
            return []
        params: dict[str, str | int] = {
            "query": quickwit_query(search),
            "max_hits": search.limit,
            "sort_by": "-seq",
        }
        if search.since_us is not None:
            params["start_timestamp"] = search.since_us // 1_000_000
        if search.until_us is not None:
            params["end_timestamp"] = search.until_us // 1_000_000 + 1  # end is exclusive
        try:
            reply = await self._client.get(f"/api/v1/{self._index}/search", params=params)
        except httpx.TransportError as error:
            raise HistoryUnavailable(f"Quickwit unreachable: {_kind(error)}") from None
        if reply.status_code == 404:
            return []  # nothing indexed yet
        if reply.status_code == 400:
            raise BadQuery(f"query: {_message(reply)}")
        if reply.status_code != 200:
            raise HistoryUnavailable(f"Quickwit answered {reply.status_code}: {_message(reply)}")
        try:
            hits = reply.json()["hits"]
        except (ValueError, KeyError, TypeError):
            raise HistoryUnavailable("Quickwit answered a search without hits") from None
        out: list[tuple[int, bytes]] = []
        for hit in hits:
            if not isinstance(hit, dict) or hit.get("app") != search.app:
                continue  # checked again, whatever the query was
            line = str(hit.get("line", "")).encode()
            if search.proc and not line_process(line).startswith(search.proc.encode()):
                continue
            out.append((int(hit["seq"]), line))
        return out

    async def delete_app(self, app: str) -> None:
        try:
            reply = await self._client.post(
                f"/api/v1/{self._index}/delete-tasks", json={"query": f'app:"{app}"'}
            )
        except httpx.TransportError as error:
            raise HistoryUnavailable(f"Quickwit unreachable: {_kind(error)}") from None
        if reply.status_code not in (200, 404):
            raise HistoryUnavailable(f"Quickwit answered {reply.status_code}: {_message(reply)}")

    async def close(self) -> None:
        await self._client.aclose()

    async def _ensure_index(self) -> None:
        if self._index_ready:
            return
        try:
            reply = await self._client.get(f"/api/v1/indexes/{self._index}")
            if reply.status_code == 404:
                reply = await self._client.post(
                    "/api/v1/indexes", json=index_config(self._settings)
                )
        except httpx.TransportError as error:
            raise RetryableError(f"Quickwit unreachable: {_kind(error)}") from None
        # 400 "already exists" from a racing replica is as good as created.
        if reply.status_code >= 500 or reply.status_code == 429:
            raise RetryableError(f"Quickwit answered {reply.status_code}: {_message(reply)}")
        if reply.status_code >= 400 and "exist" not in _message(reply):
            raise RetryableError(
                f"Quickwit refused the index config ({reply.status_code}): {_message(reply)}"
            )
        self._index_ready = True


def _ndjson_bodies(runs: Sequence[Run]) -> list[tuple[bytes, int]]:
    from_stored = HistoryDoc.from_stored
    docs = [
        from_stored(app, seq, line)
        for app, first_seq, lines in runs
        for seq, line in enumerate(lines, first_seq)
    ]
    return list(_ndjson_chunks(docs, MAX_INGEST_BYTES))


def _ndjson_chunks(docs: Sequence[HistoryDoc], limit: int) -> Iterator[tuple[bytes, int]]:
    """NDJSON bodies of at most `limit` bytes (a single larger document goes alone)."""
    chunk: list[bytes] = []
    size = 0
    for doc in docs:
        encoded = json.dumps(doc.to_json(), ensure_ascii=False).encode() + b"\n"
        if chunk and size + len(encoded) > limit:
            yield b"".join(chunk), len(chunk)
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        yield b"".join(chunk), len(chunk)


def _partial(error: RetryableError | RejectedBatch, sent: int) -> RetryableError | RejectedBatch:
    """Say how many documents of the batch Quickwit already took."""
    error.done = sent
    return error


def _message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return reply.text[:200]


def _retry_after(reply: httpx.Response) -> float | None:
    raw = reply.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _kind(error: Exception) -> str:
    return type(error).__name__
