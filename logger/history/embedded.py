"""The embedded history backend: a tantivy index on disk.

The writer runs in a child process (`writer_process.py`) so that turning
lines into documents never holds this process's GIL; each batch is sent
over a pipe from a thread, so neither ingest nor follows wait for it.
Searches open the same directory read-only, here. Two bounds, each a
setting: a retention period and a size on disk; past either the oldest
lines are deleted and counted
(`logger_discarded_events_total{component="history",reason="retention"|"size_limit"}`).
A writer process whose anonymous memory passes
`WF_HISTORY_WRITER_MAX_MEMORY_BYTES` is stopped after a commit and started
again, like one that died (`logger_history_writer_restarts_total{reason}`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import tantivy

from logger.history.backend import HistoryError, HistorySearch, RetryableError, Run
from logger.history.handoff import pack_runs
from logger.history.process_memory import anonymous_bytes
from logger.history.schema import build_query, build_schema
from logger.history.settings import HistorySettings
from logger.history.writer_process import disk_bytes, writer_main
from logger.lines import line_process

log = logging.getLogger("logger.history")
# How long the writer process may take to open the index, or to stop.
START_SECONDS = 30.0
STOP_SECONDS = 10.0


class EmbeddedIndex:
    name = "embedded"

    def __init__(
        self,
        settings: HistorySettings,
        on_discard: Callable[[str, int], None],
        clock: Callable[[], float] = time.time,
        on_restart: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._settings = settings
        self._on_discard = on_discard
        self._on_restart = on_restart
        self._clock = clock
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        # Why the next request finds no writer process, if it does.
        self._restart_reason = "stopped"
        # One thread talks to the writer process: one request at a time.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-index")

    async def start(self) -> None:
        await self._run(self._spawn)
        self._index = tantivy.Index.open(str(self._settings.index_dir))

    def _spawn(self) -> None:
        # spawn, not fork: the logger's process has threads and an event loop.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        settings = self._settings
        process = context.Process(
            target=writer_main,
            args=(
                child,
                str(settings.index_dir),
                settings.writer_heap_bytes,
                settings.max_bytes,
                settings.retention_seconds,
                settings.writer_nice,
            ),
            name="wf-history-writer",
            daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(START_SECONDS):
            process.kill()
            raise HistoryError("the history writer process did not start")
        state, detail = parent.recv()
        if state != "ready":
            process.join(STOP_SECONDS)
            raise HistoryError(f"the embedded index cannot open: {detail}")
        self._process, self._conn = process, parent

    async def write(self, runs: Sequence[Run]) -> None:
        # Packed in the pipe's thread, like any message is pickled there.
        await self._answered(await self._run(self._exchange_write, runs, self._clock()))

    async def delete_app(self, app: str) -> None:
        await self._request("delete_app", app)

    async def enforce_bounds(self) -> None:
        """Check the retention and size bounds now (they are also checked
        after a commit every 30 s)."""
        await self._request("bounds", self._clock())

    async def _request(self, *message: Any) -> None:
        await self._answered(await self._run(self._exchange, message))

    async def _answered(self, answer: tuple[str, Any]) -> None:
        state, detail = answer
        if state == "retry":
            raise RetryableError(str(detail))
        for reason, count in detail:
            log.info("history: deleted %d lines past the %s bound", count, reason)
            self._on_discard(reason, count)
        index = self._index
        if index is not None:
            await asyncio.to_thread(index.reload)

    def _exchange_write(self, runs: Sequence[Run], now: float) -> tuple[str, Any]:
        answer = self._exchange(("write", *pack_runs(runs), now))
        if answer[0] == "ok":
            self._recycle_if_too_large()
        return answer

    def _recycle_if_too_large(self) -> None:
        """Stop a writer past its memory bound; the next request starts
        another. A write's answer comes after its commit, so nothing
        indexed is lost, and the stop waits for the merges under way."""
        process = self._process
        held = anonymous_bytes(process.pid) if process is not None and process.pid else None
        bound = self._settings.writer_max_memory_bytes
        if held is None or held <= bound:
            return
        log.info(
            "history: the writer process holds %d MiB, past its bound of %d MiB: restarting it",
            held >> 20,
            bound >> 20,
        )
        self._stop()
        self._restart_reason = "memory"

    def _exchange(self, message: tuple[Any, ...]) -> tuple[str, Any]:
        process, conn = self._process, self._conn
        if process is None or conn is None or not process.is_alive():
            # Stopped past its memory bound, or died (multiprocessing logs
            # that): start another.
            reason, self._restart_reason = self._restart_reason, "stopped"
            self._close_pipe()
            self._spawn()
            self._on_restart(reason)
            conn = self._conn
            assert conn is not None
        try:
            conn.send(message)
            answer: tuple[str, Any] = conn.recv()
        except (EOFError, OSError) as error:
            self._close_pipe()
            return "retry", f"the history writer process stopped: {type(error).__name__}"
        return answer

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

    def disk_bytes(self) -> int:
        return disk_bytes(self._settings.index_dir)

    def count(self) -> int:
        index = self._index
        assert index is not None
        index.reload()
        return int(index.searcher().num_docs)

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._stop)
        self._thread.shutdown(wait=True)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        if conn is not None and process is not None and process.is_alive():
            try:
                conn.send(("close",))
                if conn.poll(STOP_SECONDS):
                    conn.recv()
            except (EOFError, OSError):
                pass
        if process is not None:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._process = None

    async def _run(self, function: Callable[..., Any], *args: object) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)
