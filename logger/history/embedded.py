"""The embedded history backend: a tantivy index on disk.

Every write runs on one thread of its own (tantivy releases the GIL while
it indexes and commits), so neither ingest nor follows wait for it. Two
bounds, each a setting: a retention period and a size on disk; past
either, the oldest lines are deleted and counted
(`logger_discarded_events_total{component="history",reason="retention"|"size_limit"}`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tantivy

from logger.history.backend import HistorySearch, RetryableError
from logger.history.document import HistoryDoc
from logger.history.schema import add_documents, build_query, build_schema
from logger.history.settings import HistorySettings
from logger.lines import line_process

log = logging.getLogger("logger.history")
# How often the size and retention bounds are checked, in seconds.
BOUNDS_INTERVAL = 30.0
# Past the size bound, this share of the time span held is deleted at once.
SIZE_TRIM_SHARE = 0.1


class EmbeddedIndex:
    name = "embedded"

    def __init__(
        self,
        settings: HistorySettings,
        on_discard: Callable[[str, int], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._on_discard = on_discard
        self._clock = clock
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-index")
        self._bounds_checked = 0.0

    @property
    def directory(self) -> Path:
        return self._settings.index_dir

    async def start(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        path = self._settings.index_dir
        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema, path=str(path), reuse=True)
        self._writer = index.writer(heap_size=self._settings.writer_heap_bytes, num_threads=1)
        self._index = index

    async def write(self, docs: Sequence[HistoryDoc]) -> None:
        await self._run(self._write, docs)

    def _write(self, docs: Sequence[HistoryDoc]) -> None:
        writer, index = self._writer, self._index
        assert writer is not None, "start() first"
        assert index is not None
        try:
            add_documents(writer, docs)
            writer.commit()
        except (OSError, ValueError, RuntimeError) as error:
            writer.rollback()
            raise RetryableError(f"the embedded index could not commit: {error}") from None
        index.reload()
        now = self._clock()
        if now - self._bounds_checked >= BOUNDS_INTERVAL:
            self._bounds_checked = now
            self._enforce_bounds(now)

    async def search(self, search: HistorySearch) -> list[tuple[int, bytes]]:
        if search.limit < 1:  # tantivy panics on a limit of 0
            return []
        index = self._index
        assert index is not None, "start() first"
        query = build_query(index, self._schema, search)
        return await asyncio.to_thread(self._search, index, query, search)

    def _search(
        self, index: tantivy.Index, query: tantivy.Query, search: HistorySearch
    ) -> list[tuple[int, bytes]]:
        searcher = index.searcher()
        result = searcher.search(
            query, search.limit, count=False, order_by_field="seq", order=tantivy.Order.Desc
        )
        hits: list[tuple[int, bytes]] = []
        for _, address in result.hits:
            stored = searcher.doc(address)
            # Checked again, whatever the query was: never another app's line.
            if stored.get_first("app") != search.app:
                continue
            line = bytes(stored.get_first("line") or b"")
            if search.proc and not line_process(line).startswith(search.proc.encode()):
                continue
            hits.append((int(stored.get_first("seq") or 0), line))
        return hits

    async def delete_app(self, app: str) -> None:
        await self._run(self._delete_app, app)

    def _delete_app(self, app: str) -> None:
        writer, index = self._writer, self._index
        assert writer is not None
        assert index is not None
        writer.delete_documents_by_term("app", app)
        writer.commit()
        index.reload()

    async def enforce_bounds(self) -> None:
        """Check the retention and size bounds now (tests, and every BOUNDS_INTERVAL)."""
        await self._run(self._enforce_bounds, self._clock())

    def _enforce_bounds(self, now: float) -> None:
        cutoff = int((now - self._settings.retention_seconds) * 1_000_000)
        self._delete_before(cutoff, "retention")
        if self.disk_bytes() > self._settings.max_bytes:
            oldest, newest = self._time_span()
            if oldest is not None and newest is not None:
                cut = oldest + max(1, int((newest - oldest) * SIZE_TRIM_SHARE))
                self._delete_before(cut, "size_limit")
            writer = self._writer
            assert writer is not None
            writer.garbage_collect_files()

    def disk_bytes(self) -> int:
        return sum(
            entry.stat().st_size for entry in self._settings.index_dir.iterdir() if entry.is_file()
        )

    def count(self) -> int:
        index = self._index
        assert index is not None
        return int(index.searcher().num_docs)

    def _time_span(self) -> tuple[int | None, int | None]:
        index = self._index
        assert index is not None
        searcher = index.searcher()
        ends: list[int | None] = []
        for order in (tantivy.Order.Asc, tantivy.Order.Desc):
            result = searcher.search(
                tantivy.Query.all_query(), 1, count=False, order_by_field="time_us", order=order
            )
            ends.append(int(result.hits[0][0]) if result.hits else None)
        return ends[0], ends[1]

    def _delete_before(self, cutoff_us: int, reason: str) -> None:
        writer, index = self._writer, self._index
        assert writer is not None
        assert index is not None
        old = tantivy.Query.range_query(
            self._schema, "time_us", tantivy.FieldType.Integer, None, cutoff_us, include_upper=False
        )
        # `count` is in the bindings but not in their type stubs.
        count = int(getattr(index.searcher().search(old, 1, count=True), "count", 0) or 0)
        if not count:
            return
        writer.delete_documents_by_query(old)
        writer.commit()
        index.reload()
        log.info("history: deleted %d lines older than the %s bound", count, reason)
        self._on_discard(reason, count)

    async def close(self) -> None:
        if self._writer is not None:
            await self._run(self._close_writer)
        self._thread.shutdown(wait=True)

    def _close_writer(self) -> None:
        writer = self._writer
        if writer is not None:
            writer.wait_merging_threads()
        self._writer = None

    async def _run(self, function: Callable[..., None], *args: object) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)
