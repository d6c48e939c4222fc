"""The history indexer: fed by ingest after the store, like a drain.

`deliver` only queues (it never waits, so acks never wait for the index);
one task takes batches by size or age and writes them to the backend:
retried with backoff on RetryableError (429, 5xx, connection errors),
dropped and counted on RejectedBatch (400), so nothing short of the queue
bound is lost while the backend is away. Lines shed at the bound are
counted and announced in the app's own log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from logger.buffer import loss_text
from logger.history.backend import (
    HistoryBackend,
    RejectedBatch,
    RetryableError,
    Run,
    run_count,
    without_first,
)
from logger.history.queue import IndexQueue, TakenBatch
from logger.history.settings import HistorySettings
from logger.history.telemetry import HistoryTelemetry
from logger.telemetry import RateLimitedLog

log = logging.getLogger("logger.history")
# On close, how long the queue may take to be written out.
CLOSE_FLUSH_SECONDS = 5.0

Announce = Callable[[str, str], Awaitable[None]]


class HistoryIndexer:
    def __init__(
        self,
        settings: HistorySettings,
        backend: HistoryBackend,
        telemetry: HistoryTelemetry,
        announce: Announce | None = None,
    ) -> None:
        """`announce(app, message)` writes a platform line into the app's log."""
        self._settings = settings
        self.backend = backend
        self._telemetry = telemetry
        self._announce = announce
        self._queue = IndexQueue(settings.queue_lines, self._shed, telemetry.loss_counter)
        self._in_flight: TakenBatch | None = None
        self._shed_since: dict[str, tuple[int, int]] = {}  # app -> (lines, first shed at ns)
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._warnings = RateLimitedLog()

    # -- the ingest side: never waits ---------------------------------------------

    def deliver(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None:
        self._queue.offer(app, first_seq, lines)

    def pending(self, app: str) -> list[tuple[int, bytes]]:
        """The app's lines stored but not yet searchable (queued or being written)."""
        pairs = []
        if self._in_flight is not None:
            for entry in self._in_flight.entries:
                if entry.app == app:
                    pairs.extend(entry.pairs())
        pairs.extend(self._queue.pending(app))
        return pairs

    @property
    def idle(self) -> bool:
        """Every line delivered so far is searchable (or was shed)."""
        return not len(self._queue) and self._in_flight is None

    @property
    def queued(self) -> int:
        return len(self._queue)

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        await self.backend.start()
        self._task = asyncio.create_task(self._run(), name="history-indexer")

    async def close(self) -> None:
        self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, CLOSE_FLUSH_SECONDS)
            except TimeoutError:
                left = len(self._queue) + (self._in_flight.lines if self._in_flight else 0)
                log.warning("history: %d lines not indexed at shutdown", left)
                self._telemetry.discarded("shutdown", left)
        await self.backend.close()

    # -- the writer task ------------------------------------------------------------

    async def _run(self) -> None:
        settings = self._settings
        queue = self._queue
        while True:
            self._telemetry.queued_lines.set(len(queue))
            closing = self._closing.is_set()
            if closing and not len(queue):
                return
            if not closing and not queue.ready(
                settings.batch_lines, settings.batch_bytes, settings.commit_interval
            ):
                await queue.wait(settings.commit_interval)
                continue
            batch = queue.take(settings.batch_lines, settings.batch_bytes)
            self._in_flight = batch
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not stop history: log it with its traceback, drop the batch.
                log.exception("history: writing a batch failed unexpectedly")
                self._telemetry.error("unexpected")
                self._telemetry.discarded("write_failed", batch.lines)
                self._telemetry.batches.labels(outcome="dropped").inc()
            finally:
                self._in_flight = None
            await self._announce_shed()

    async def _write(self, batch: TakenBatch) -> None:
        runs: list[Run] = [(entry.app, entry.first_seq, entry.lines) for entry in batch.entries]
        delay = self._settings.retry_initial
        while runs:
            try:
                await self.backend.write(runs)
            except RetryableError as error:
                runs = without_first(runs, error.done)
                self._telemetry.batches.labels(outcome="retried").inc()
                self._telemetry.error("backend_unavailable")
                self._warnings.warning("history-retry", "history: %s; retrying with backoff", error)
                if self._closing.is_set():
                    self._telemetry.discarded("shutdown", run_count(runs))
                    return
                await self._sleep(error.retry_after if error.retry_after is not None else delay)
                delay = min(delay * 2, self._settings.retry_max)
                continue
            except RejectedBatch as error:
                dropped = run_count(runs) - error.done
                self._warnings.warning("history-rejected", "history: %s; lines dropped", error)
                self._telemetry.discarded(error.reason, dropped)
                self._telemetry.batches.labels(outcome="dropped").inc()
                return
            break
        lag = time.monotonic() - batch.oldest_queued_at
        self._telemetry.lag.observe(lag)
        self._telemetry.last_lag.set(lag)
        self._telemetry.indexed_lines.inc(batch.lines)
        self._telemetry.indexed_bytes.inc(batch.nbytes)
        self._telemetry.batches.labels(outcome="ok").inc()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # -- shedding ---------------------------------------------------------------------

    def _shed(self, app: str, count: int) -> None:
        """The queue dropped `count` of `app`'s lines (counted by the queue's buffer)."""
        lines, since = self._shed_since.get(app, (0, time.time_ns()))
        self._shed_since[app] = (lines + count, since)

    async def _announce_shed(self) -> None:
        if not self._shed_since:
            return
        shed, self._shed_since = self._shed_since, {}
        for app, (lines, since) in shed.items():
            self._warnings.warning(
                f"history-shed-{app}", "history: lines of %s not indexed (queue full)", app
            )
            if self._announce is not None:
                await self._announce(
                    app,
                    loss_text(
                        lines, since, "history index queue full: in the ring, not searchable"
                    ),
                )
