"""History faults: Quickwit (the stand-in) away for 30 s, 429 and 5xx
answers, a 400 for one batch, the 10 MB ingest limit; the embedded index's
retention and size bounds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from logger.app import create_app
from logger.config import LoggerSettings
from logger.history.embedded import EmbeddedIndex
from logger.history.keys import HISTORY
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.store.memory import StoreSettings
from tests.integration.test_history import BEFORE, RING, History, messages, start_standin

OUTAGE_SECONDS = 30.0


def quickwit_settings(port: int, **changes: object) -> HistorySettings:
    settings = HistorySettings(
        backend=HistoryBackendKind.QUICKWIT,
        quickwit_url=f"http://127.0.0.1:{port}",
        request_timeout=1.0,
        commit_interval=0.05,
        batch_lines=200,
        retry_initial=0.05,
        retry_max=1.0,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


def logger_app(history: HistorySettings) -> TestClient:  # type: ignore[type-arg]
    app = create_app(
        LoggerSettings(store=StoreSettings(lines_per_app=RING), history=history), forward=False
    )
    return TestClient(TestServer(app))


async def test_quickwit_away_for_30_seconds_loses_nothing_within_the_queue_bound() -> None:
    standin = await start_standin()
    async with logger_app(
        quickwit_settings(standin.port, queue_lines=20_000, max_read_lines=50_000)
    ) as client:
        history = History(client.app, client, standin)
        await history.write("shop", [f"n{i}" for i in range(100)])
        await history.indexed()
        await standin.down()
        sent = 100
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:  # lines keep flowing meanwhile
            await history.write("shop", [f"n{i}" for i in range(sent, sent + 50)])
            sent += 50
            await asyncio.sleep(0.1)
        assert client.app[HISTORY].queued > 0
        await standin.up()  # no restart of the logger: indexing resumes by itself
        await history.indexed(timeout=30.0)
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        assert messages(lines) == [f"n{i}" for i in range(sent)]
        assert (
            history.metric(
                "logger_discarded_events_total", component="history", reason="queue_full"
            )
            == 0
        )
        assert history.metric("logger_history_batches_total", outcome="retried") >= 1
        assert history.metric("logger_history_lag_seconds_bucket", le="+Inf") >= 2
    await standin.down()


async def test_429_and_503_back_off_and_then_index() -> None:
    standin = await start_standin()
    async with logger_app(quickwit_settings(standin.port)) as client:
        history = History(client.app, client, standin)
        await history.write("shop", [f"warm{i}" for i in range(10)])
        await history.indexed()
        standin.quickwit.fail_next(429, times=3, retry_after="0.2")
        standin.quickwit.fail_next(503, times=2)
        started = time.monotonic()
        await history.write("shop", [f"n{i}" for i in range(300)])
        await history.indexed()
        # Three Retry-After waits of 0.2 s at least, then two backoffs.
        assert time.monotonic() - started >= 0.6
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        assert messages(lines)[-300:] == [f"n{i}" for i in range(300)]
        assert history.metric("logger_history_batches_total", outcome="retried") == 5
        assert (
            history.metric("logger_errors_total", error_type="backend_unavailable", stage="history")
            == 5
        )
    await standin.down()


async def test_a_400_drops_that_batch_with_a_reason_not_the_indexer() -> None:
    standin = await start_standin()
    async with logger_app(quickwit_settings(standin.port, commit_interval=0.2)) as client:
        history = History(client.app, client, standin)
        await history.write("shop", [f"warm{i}" for i in range(10)])
        await history.indexed()
        standin.quickwit.fail_next(400)
        await history.write("shop", [f"bad{i}" for i in range(150)])
        await history.indexed()
        assert (
            history.metric(
                "logger_discarded_events_total", component="history", reason="rejected_400"
            )
            == 150
        )
        await history.write("shop", [f"good{i}" for i in range(150)])
        await history.indexed()
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        got = messages(lines)
        # The index has every batch but the refused one, whose lines the ring
        # (the newest 100: good50..good149) no longer holds: lost, and counted above.
        assert [m for m in got if m.startswith("good")] == [f"good{i}" for i in range(150)]
        assert [m for m in got if m.startswith("warm")] == [f"warm{i}" for i in range(10)]
        assert [m for m in got if m.startswith("bad")] == []
    await standin.down()


async def test_ingest_requests_stay_under_quickwit_10_mb_limit() -> None:
    standin = await start_standin()
    settings = quickwit_settings(standin.port, batch_bytes=64 << 20, batch_lines=100_000)
    async with logger_app(settings) as client:
        history = History(client.app, client, standin)
        wide = "x" * 8000
        await history.write("shop", [f"n{i} {wide}" for i in range(1500)])  # ~24 MB as JSON
        await history.indexed()
        ingests = [path for method, path in standin.quickwit.requests if path.endswith("/ingest")]
        assert len(ingests) >= 3  # a 413 would have dropped a batch instead
        assert (
            history.metric(
                "logger_discarded_events_total", component="history", reason="rejected_413"
            )
            == 0
        )
        assert standin.quickwit.ingested_docs == 1500
    await standin.down()


async def test_embedded_retention_and_size_bounds_delete_the_oldest_counted(
    tmp_path: Path,
) -> None:
    settings = HistorySettings(
        backend=HistoryBackendKind.EMBEDDED,
        index_dir=tmp_path / "history",
        retention_seconds=3600.0,
        commit_interval=0.05,
    )
    async with logger_app(settings) as client:
        history = History(client.app, client, None)
        old = time.time_ns() - 2 * 3600 * 10**9
        await history.write("shop", [f"old{i}" for i in range(200)], old)
        await history.write("shop", [f"new{i}" for i in range(300)])
        await history.indexed()
        index = client.app[HISTORY].backend
        assert isinstance(index, EmbeddedIndex)
        await index.enforce_bounds()
        assert (
            history.metric("logger_discarded_events_total", component="history", reason="retention")
            == 200
        )
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        assert messages(lines) == [f"new{i}" for i in range(300)]


async def test_embedded_size_bound_deletes_the_oldest_tenth_counted(tmp_path: Path) -> None:
    settings = HistorySettings(
        backend=HistoryBackendKind.EMBEDDED,
        index_dir=tmp_path / "history",
        max_bytes=1,  # always past it: every check trims
        commit_interval=0.05,
    )
    async with logger_app(settings) as client:
        history = History(client.app, client, None)
        await history.write("shop", [f"n{i}" for i in range(300)])  # 1 µs apart
        await history.indexed()
        index = client.app[HISTORY].backend
        assert isinstance(index, EmbeddedIndex)
        await index.enforce_bounds()
        trimmed = history.metric(
            "logger_discarded_events_total", component="history", reason="size_limit"
        )
        assert 0 < trimmed < 300
        assert index.count() == 300 - trimmed
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        # The oldest went: what is left is the newest, without a hole.
        kept = messages(lines)
        assert kept == [f"n{i}" for i in range(300 - len(kept), 300)]
