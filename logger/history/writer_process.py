"""The embedded index's writer, in a child process of its own.

Turning lines into documents and feeding tantivy is Python work per line;
in the logger's process it would hold the GIL the event loop needs, so it
runs here, on the other core, and ingest keeps its rate. The logger sends
batches of (app, first seq, stored lines) over a pipe and waits for the commit's
answer; it searches the same directory itself, read-only.

Messages (each answered once):
    ("write", heads, lengths, joined, now)
                            -> ("ok", discards) | ("retry", message)
    ("delete_app", app)     -> ("ok", [])
    ("bounds", now)         -> ("ok", discards)
    ("close",)              -> ("ok", [])
`discards` lists (reason, count) of lines the size or retention bound deleted;
a write's lines travel packed (`handoff.py`).
"""

from __future__ import annotations

import contextlib
import os
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import tantivy

from logger.history.backend import Run
from logger.history.handoff import unpack_runs
from logger.history.process_memory import release_freed_heap
from logger.history.schema import add_runs, build_schema

# How often the size and retention bounds are checked, in seconds.
BOUNDS_INTERVAL = 30.0
# Past the size bound, this share of the time span held is deleted at once.
SIZE_TRIM_SHARE = 0.1


class IndexWriterLoop:
    def __init__(
        self, path: Path, heap_bytes: int, max_bytes: int, retention_seconds: float
    ) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._retention = retention_seconds
        self._schema = build_schema()
        path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        self._writer = self._index.writer(heap_size=heap_bytes, num_threads=1)
        self._bounds_checked = 0.0

    def handle(self, message: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            return self._handle(message)
        finally:
            # What a commit's merges freed goes back to the kernel, or the
            # process keeps the high-water mark of its largest merge.
            release_freed_heap()

    def _handle(self, message: tuple[Any, ...]) -> tuple[str, Any]:
        kind = message[0]
        if kind == "write":
            return self.write(unpack_runs(message[1], message[2], message[3]), message[4])
        if kind == "delete_app":
            self._writer.delete_documents_by_term("app", message[1])
            self._writer.commit()
            return "ok", []
        if kind == "bounds":
            return "ok", self.enforce_bounds(message[1])
        if kind == "close":
            self._writer.wait_merging_threads()
            return "ok", []
        return "retry", f"unknown message {kind!r}"

    def write(self, runs: list[Run], now: float) -> tuple[str, Any]:
        try:
            add_runs(self._writer, self._schema, runs)
            self._writer.commit()
        except (OSError, ValueError, RuntimeError) as error:
            self._writer.rollback()
            return "retry", f"the embedded index could not commit: {error}"
        discards: list[tuple[str, int]] = []
        if now - self._bounds_checked >= BOUNDS_INTERVAL:
            discards = self.enforce_bounds(now)
        return "ok", discards

    def enforce_bounds(self, now: float) -> list[tuple[str, int]]:
        self._bounds_checked = now
        discards = []
        cutoff = int((now - self._retention) * 1_000_000)
        if count := self._delete_before(cutoff):
            discards.append(("retention", count))
        if disk_bytes(self._path) > self._max_bytes:
            oldest, newest = self._time_span()
            if oldest is not None and newest is not None:
                cut = oldest + max(1, int((newest - oldest) * SIZE_TRIM_SHARE))
                if count := self._delete_before(cut):
                    discards.append(("size_limit", count))
            self._writer.garbage_collect_files()
        return discards

    def _searcher(self) -> tantivy.Searcher:
        self._index.reload()
        return self._index.searcher()

    def _time_span(self) -> tuple[int | None, int | None]:
        searcher = self._searcher()
        ends: list[int | None] = []
        for order in (tantivy.Order.Asc, tantivy.Order.Desc):
            result = searcher.search(
                tantivy.Query.all_query(), 1, count=False, order_by_field="time_us", order=order
            )
            ends.append(int(result.hits[0][0]) if result.hits else None)
        return ends[0], ends[1]

    def _delete_before(self, cutoff_us: int) -> int:
        old = tantivy.Query.range_query(
            self._schema, "time_us", tantivy.FieldType.Integer, None, cutoff_us, include_upper=False
        )
        # `count` is in the bindings but not in their type stubs.
        count = int(getattr(self._searcher().search(old, 1, count=True), "count", 0) or 0)
        if count:
            self._writer.delete_documents_by_query(old)
            self._writer.commit()
        return count


def disk_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.iterdir() if entry.is_file())


def writer_main(
    conn: Connection,
    path: str,
    heap_bytes: int,
    max_bytes: int,
    retention_seconds: float,
    nice: int = 0,
) -> None:
    """The child process: lower its priority, open the index, say so, then
    answer each message."""
    if nice:
        # Before tantivy starts its threads, which inherit it: where the
        # writer and ingest compete for a core, ingest gets it and the queue
        # sheds (counted) rather than ingest slowing down.
        with contextlib.suppress(OSError):
            os.nice(nice)
    try:
        loop = IndexWriterLoop(Path(path), heap_bytes, max_bytes, retention_seconds)
    except (OSError, ValueError, RuntimeError) as error:
        conn.send(("failed", str(error)))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the logger is gone
        conn.send(loop.handle(message))
        if message[0] == "close":
            return
