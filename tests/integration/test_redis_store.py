"""The Redis store against a real redis-server: the memory store's
behaviour, plus what sharing adds (two replicas, TTL, round trips, outages)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from logger.errors import StoreUnavailable
from logger.lines import platform_line
from logger.store.base import LogStore, ReadQuery
from logger.store.memory import MemoryStore, StoreSettings
from logger.store.redis import RedisStore, lines_gone, lines_key, seq_key, start_key
from logger.store.redis_settings import AppendCalls, RedisSettings
from tests.support.redis import RedisServer

T0 = 1_795_341_600_000_000_000
StoreFactory = Callable[..., Awaitable[LogStore]]


def lines(app: str, count: int, process: str = "web", start: int = 0) -> list[bytes]:
    return [
        platform_line(app, f"{process}.a1", f"line {i}", T0 + i * 1_000_000)
        for i in range(start, start + count)
    ]


def messages(result: list[tuple[int, bytes]]) -> list[str]:
    return [line.decode().rsplit(": ", 1)[1] for _, line in result]


async def redis_store(
    url: str, lines_per_app: int = 1000, registry: CollectorRegistry | None = None, **redis: Any
) -> RedisStore:
    store = RedisStore(
        StoreSettings(lines_per_app=lines_per_app),
        RedisSettings(url=url, **redis),
        registry or CollectorRegistry(),
        replica_id=f"test-{time.monotonic_ns()}",
    )
    await store.start()
    return store


@pytest.fixture(params=["memory", "redis"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    opened: list[LogStore] = []

    async def make(lines_per_app: int = 1000) -> LogStore:
        store: LogStore
        if request.param == "memory":
            store = MemoryStore(StoreSettings(lines_per_app=lines_per_app))
        else:
            store = await redis_store(request.getfixturevalue("redis_url"), lines_per_app)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


# -- the behaviour both stores share (tests/unit/test_store.py's cases) ---------


async def test_sequence_numbers_are_contiguous_and_increasing(make_store: StoreFactory) -> None:
    store = await make_store(lines_per_app=10)
    first = await store.append("shop", lines("shop", 3))
    second = await store.append("shop", lines("shop", 2, start=3))
    assert second == first + 3
    result = await store.read("shop", ReadQuery(limit=-1))
    assert [seq for seq, _ in result.lines] == list(range(first, first + 5))
    assert result.last_seq == first + 4


async def test_ring_keeps_the_newest_lines_and_counts_displacement(
    make_store: StoreFactory,
) -> None:
    store = await make_store(lines_per_app=5)
    first = await store.append("shop", lines("shop", 8))
    result = await store.read("shop", ReadQuery(limit=-1))
    assert messages(result.lines) == [f"line {i}" for i in range(3, 8)]
    assert result.lines[0][0] == first + 3
    assert store.stats().displaced_lines == 3
    assert store.stats().lines == 5


async def test_limit_process_since_and_after_seq(make_store: StoreFactory) -> None:
    store = await make_store()
    first = await store.append("shop", lines("shop", 4, "web"))
    await store.append("shop", lines("shop", 4, "worker", start=4))
    assert messages((await store.read("shop", ReadQuery(limit=2))).lines) == ["line 6", "line 7"]
    web = await store.read("shop", ReadQuery(limit=-1, process="web"))
    assert messages(web.lines) == ["line 0", "line 1", "line 2", "line 3"]
    newest_web = await store.read("shop", ReadQuery(limit=1, process="web"))
    assert messages(newest_web.lines) == ["line 3"]
    since = await store.read("shop", ReadQuery(limit=-1, since="2026-11-22T10:00:00.005000+00:00"))
    assert messages(since.lines) == ["line 5", "line 6", "line 7"]
    after = await store.read("shop", ReadQuery(limit=-1, after_seq=first + 5))
    assert messages(after.lines) == ["line 6", "line 7"]
    after_limited = await store.read("shop", ReadQuery(limit=1, after_seq=first + 5))
    assert messages(after_limited.lines) == ["line 7"]
    worker_after = await store.read(
        "shop", ReadQuery(limit=-1, process="worker", after_seq=first + 4)
    )
    assert messages(worker_after.lines) == ["line 5", "line 6", "line 7"]
    assert (await store.read("shop", ReadQuery(limit=0))).lines == []
    assert (await store.read("shop", ReadQuery(limit=-1, after_seq=first + 7))).lines == []


async def test_unknown_app_reads_empty_and_delete(make_store: StoreFactory) -> None:
    store = await make_store()
    assert (await store.read("nope", ReadQuery())).lines == []
    await store.append("shop", lines("shop", 2))
    assert await store.apps() == ["shop"]
    assert await store.delete("shop") is True
    assert await store.delete("shop") is False
    assert await store.apps() == []
    assert (await store.read("shop", ReadQuery(limit=-1))).lines == []


async def test_sequence_numbers_keep_increasing_after_delete(make_store: StoreFactory) -> None:
    store = await make_store()
    await store.append("shop", lines("shop", 3))
    old_last = (await store.read("shop", ReadQuery())).last_seq
    await store.delete("shop")
    assert await store.append("shop", lines("shop", 1)) > old_last


@pytest.mark.parametrize("count", [1, 7, 20, 2500])
async def test_batch_larger_than_ring(make_store: StoreFactory, count: int) -> None:
    store = await make_store(lines_per_app=7)
    first = await store.append("shop", lines("shop", count))
    result = await store.read("shop", ReadQuery(limit=-1))
    kept = min(count, 7)
    assert messages(result.lines) == [f"line {i}" for i in range(count - kept, count)]
    assert result.lines[-1][0] == first + count - 1


async def test_one_frame_for_several_apps(make_store: StoreFactory) -> None:
    store = await make_store()
    firsts = await store.append_batch({"a": lines("a", 2), "b": lines("b", 3)})
    assert len(firsts) == 2
    for app, first, count in (("a", firsts[0], 2), ("b", firsts[1], 3)):
        result = await store.read(app, ReadQuery(limit=-1))
        assert [seq for seq, _ in result.lines] == list(range(first, first + count))


# -- what only the shared store does ---------------------------------------------


async def test_two_replicas_share_one_sequence(redis_url: str) -> None:
    a, b = await redis_store(redis_url), await redis_store(redis_url)
    try:
        first_a = await a.append("shop", lines("shop", 3))
        first_b = await b.append("shop", lines("shop", 2, start=3))
        assert first_b == first_a + 3
        seen_at_a = await a.read("shop", ReadQuery(limit=-1))
        seen_at_b = await b.read("shop", ReadQuery(limit=-1))
        assert seen_at_a == seen_at_b
        assert messages(seen_at_b.lines) == [f"line {i}" for i in range(5)]
        # A resume with a seq handed out by replica A means the same at B.
        resumed = await b.read("shop", ReadQuery(limit=-1, after_seq=first_a + 2))
        assert messages(resumed.lines) == ["line 3", "line 4"]
        assert await a.delete("shop") is True
        assert (await b.read("shop", ReadQuery(limit=-1))).lines == []
    finally:
        await a.close()
        await b.close()


async def test_concurrent_appends_from_two_replicas_never_share_a_seq(redis_url: str) -> None:
    a, b = await redis_store(redis_url), await redis_store(redis_url)
    try:

        async def write(store: RedisStore, tag: str) -> list[tuple[int, int]]:
            spans = []
            for i in range(50):
                first = await store.append("shop", lines("shop", 3, tag, start=i * 3))
                spans.append((first, first + 2))
            return spans

        spans = [*await write(a, "a"), *await write(b, "b")]
        at_once = await asyncio.gather(write(a, "a"), write(b, "b"))
        spans += at_once[0] + at_once[1]
        seqs = [seq for first, last in spans for seq in range(first, last + 1)]
        assert len(seqs) == len(set(seqs)) == 600
    finally:
        await a.close()
        await b.close()


def command_calls(redis_server: RedisServer) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT (a function's
    commands counted too)."""
    stats = redis_server.command("INFO", "commandstats").decode()
    return {
        row.split(":")[0]: int(row.split("calls=")[1].split(",")[0])
        for row in stats.splitlines()
        if row.startswith("cmdstat_")
    }


async def test_a_frame_of_100_apps_is_one_round_trip(
    redis_url: str, redis_server: RedisServer
) -> None:
    registry = CollectorRegistry()
    # The Cluster-safe path: one call per app, each in its own slot.
    store = await redis_store(redis_url, registry=registry, append_calls=AppendCalls.APP)
    try:
        assert not store.frame_calls
        redis_server.command("CONFIG", "RESETSTAT")
        frame = {f"app-{i}": lines(f"app-{i}", 10) for i in range(100)}
        firsts = await store.append_batch(frame)
        assert len(set(firsts)) >= 1
        calls = command_calls(redis_server)
        # One function call per app, and inside it one push for all 10 lines
        # (commandstats counts the commands a function runs too).
        assert calls["cmdstat_fcall"] == 100
        assert calls["cmdstat_rpush"] == 100
        assert calls["cmdstat_publish"] == 100
        assert "cmdstat_get" not in calls
        round_trips = registry.get_sample_value(
            "logger_store_command_seconds_count", {"operation": "append"}
        )
        assert round_trips == 1
        assert store.stats().lines == 1000
        assert store.stats().apps == 100
    finally:
        await store.close()


async def test_a_standalone_redis_takes_a_frame_in_one_function_call(
    redis_url: str, redis_server: RedisServer
) -> None:
    registry = CollectorRegistry()
    store = await redis_store(redis_url, registry=registry)  # append_calls=auto
    try:
        assert store.frame_calls, "INFO cluster says cluster_enabled:0: one call per frame"
        await store.append("app-0", lines("app-0", 990, start=0))  # app-0's ring is nearly full
        redis_server.command("CONFIG", "RESETSTAT")
        frame = {f"app-{i}": lines(f"app-{i}", 10, start=990 if i == 0 else 0) for i in range(100)}
        firsts = await store.append_batch(frame)
        calls = command_calls(redis_server)
        assert calls["cmdstat_fcall"] == 1
        assert calls["cmdstat_rpush"] == 100
        assert calls["cmdstat_publish"] == 100
        assert "cmdstat_ltrim" not in calls  # no ring is full yet
        # 99 new rings take their numbers from the clock; app-0 continues its own.
        assert calls["cmdstat_incrby"] == 100 + 99
        for app, first in zip(frame, firsts, strict=True):
            result = await store.read(app, ReadQuery(limit=-1))
            assert result.lines[-10][0] == first
            assert result.last_seq == first + 9
            assert messages(result.lines[-10:]) == messages(list(enumerate(frame[app])))
        assert store.stats().lines == 1000 + 990
        second = await store.append_batch({"app-0": lines("app-0", 20, start=1000)})
        assert second == [firsts[0] + 10]
        assert store.stats().displaced_lines == 20  # 1000 + 20 in a ring of 1000
    finally:
        await store.close()


async def test_a_resume_from_before_the_ring_counts_only_what_it_displaced(
    make_store: StoreFactory,
) -> None:
    """after_seq=0 (or any number older than the ring) is told exactly how
    many lines the ring displaced, not the distance to the clock."""
    store = await make_store(lines_per_app=5)
    first = await store.append("shop", lines("shop", 8))
    resumed = await store.read("shop", ReadQuery(limit=-1, after_seq=0))
    assert resumed.gone == 3
    assert messages(resumed.lines) == [f"line {i}" for i in range(3, 8)]
    assert (await store.read("shop", ReadQuery(limit=-1, after_seq=first - 1000))).gone == 3
    assert (await store.read("shop", ReadQuery(limit=-1, after_seq=first))).gone == 2
    assert (await store.read("shop", ReadQuery(limit=-1, after_seq=first + 2))).gone == 0
    small = await make_store(lines_per_app=10)
    await small.append("calm", lines("calm", 4))
    assert (await small.read("calm", ReadQuery(limit=-1, after_seq=0))).gone == 0


async def test_idle_rings_expire_and_appends_refresh_the_ttl(
    redis_url: str, redis_server: RedisServer
) -> None:
    store = await redis_store(redis_url, ring_ttl=1)
    try:
        await store.append("shop", lines("shop", 2))
        for key in (lines_key("shop"), seq_key("shop"), start_key("shop")):
            ttl_ms = int(redis_server.command("PTTL", key).decode().strip().lstrip(":"))
            assert 0 < ttl_ms <= 1000
        deadline = time.monotonic() + 5
        while (await store.read("shop", ReadQuery(limit=-1))).lines:
            assert time.monotonic() < deadline, "the idle ring did not expire"
            await asyncio.sleep(0.1)
        assert await store.apps() == []
    finally:
        await store.close()


async def test_functions_are_reloaded_after_redis_lost_them(
    redis_url: str, redis_server: RedisServer
) -> None:
    store = await redis_store(redis_url)
    try:
        await store.append("shop", lines("shop", 1))
        assert redis_server.command("FUNCTION", "FLUSH").startswith(b"+OK")
        await store.append("shop", lines("shop", 1, start=1))
        assert redis_server.command("FUNCTION", "FLUSH").startswith(b"+OK")
        result = await store.read("shop", ReadQuery(limit=-1))
        assert messages(result.lines) == ["line 0", "line 1"]
    finally:
        await store.close()


@pytest.mark.parametrize("append_calls", [AppendCalls.FRAME, AppendCalls.APP])
async def test_the_ttl_is_set_by_a_new_ring_then_refreshed_now_and_then(
    redis_url: str, redis_server: RedisServer, append_calls: AppendCalls
) -> None:
    store = await redis_store(redis_url, ring_ttl=1, append_calls=append_calls)
    try:
        redis_server.command("CONFIG", "RESETSTAT")
        await store.append_batch({"shop": lines("shop", 2), "cart": lines("cart", 2)})
        await store.append_batch({"shop": lines("shop", 2, start=2)})
        # Three keys per new ring; the second append, within 1/100 of the TTL, sets none.
        assert command_calls(redis_server)["cmdstat_expire"] == 6
        deadline = time.monotonic() + 5
        while (left := pttl(redis_server, lines_key("shop"))) > 700:
            assert time.monotonic() < deadline, f"the TTL does not run down: {left} ms"
            await asyncio.sleep(0.02)
        await store.append("shop", lines("shop", 1, start=4))
        for key in (lines_key("shop"), seq_key("shop"), start_key("shop")):
            assert 700 < pttl(redis_server, key) <= 1000
    finally:
        await store.close()


def pttl(redis_server: RedisServer, key: str) -> int:
    return int(redis_server.command("PTTL", key).decode().strip().lstrip(":"))


async def test_more_reads_at_once_than_connections_wait_for_one(redis_url: str) -> None:
    """A burst of follows reading their history: past the pool's bound a
    read waits for a connection; it neither fails nor makes Redis look down."""
    store = await redis_store(redis_url, max_connections=4)
    try:
        await store.append("shop", lines("shop", 3))
        results = await asyncio.gather(
            *(store.read("shop", ReadQuery(limit=-1)) for _ in range(300))
        )
        assert {len(result.lines) for result in results} == {3}
        assert store.unavailable is None
    finally:
        await store.close()


def test_lines_gone_counts_what_a_resume_missed() -> None:
    # Ring holds seqs 96..100.
    assert lines_gone(None, 100, 5) == 0
    assert lines_gone(95, 100, 5) == 0
    assert lines_gone(90, 100, 5) == 5
    assert lines_gone(100, 100, 5) == 0
    assert lines_gone(90, 100, 0) == 10  # everything after 90 is gone
    # The ring began at 93: 93..95 were displaced, nothing before 93 was in it.
    assert lines_gone(0, 100, 5, start_seq=93) == 3
    assert lines_gone(94, 100, 5, start_seq=93) == 1
    assert lines_gone(0, 100, 0, start_seq=93) == 8


async def test_a_paused_redis_fails_appends_fast_and_the_store_recovers() -> None:
    server = RedisServer()
    server.start()
    registry = CollectorRegistry()
    store = await redis_store(
        server.url, registry=registry, command_timeout=0.3, health_interval=0.1
    )
    try:
        await store.append("shop", lines("shop", 1))
        assert store.unavailable is None
        server.pause()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=f"unreachable at 127.0.0.1:{server.port}"):
            await store.append("shop", lines("shop", 1, start=1))
        assert time.monotonic() - started < 2
        assert store.unavailable is not None
        errors = registry.get_sample_value("logger_store_errors_total", {"operation": "append"})
        assert errors == 1
        server.resume()
        deadline = time.monotonic() + 10
        while store.unavailable is not None:
            assert time.monotonic() < deadline, "the store did not notice Redis is back"
            await asyncio.sleep(0.05)
        await store.append("shop", lines("shop", 1, start=2))
        # The timed-out append may or may not have run: at least once, never lost.
        got = messages((await store.read("shop", ReadQuery(limit=-1))).lines)
        assert got[0] == "line 0"
        assert got[-1] == "line 2"
    finally:
        await store.close()
        server.remove()


async def test_a_restarted_empty_redis_is_used_again(redis_url: str) -> None:
    server = RedisServer()
    server.start()
    store = await redis_store(server.url, health_interval=0.1)
    try:
        await store.append("shop", lines("shop", 1))
        server.stop()
        with pytest.raises(StoreUnavailable):
            await store.append("shop", lines("shop", 1, start=1))
        server.start()  # same port, no data, no functions
        deadline = time.monotonic() + 10
        while True:
            try:
                await store.append("shop", lines("shop", 1, start=2))
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "the store did not reconnect"
                await asyncio.sleep(0.1)
        assert messages((await store.read("shop", ReadQuery(limit=-1))).lines) == ["line 2"]
    finally:
        await store.close()
        server.remove()
