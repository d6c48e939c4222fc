"""The Redis store: every replica shares each app's ring and sequence number.

Key design (one hash slot per app, so Redis Cluster and Valkey safe):

    wf:{app}:lines   a list, oldest first, at most `lines_per_app` long
    wf:{app}:seq     the sequence number of the newest line ever appended
    wf:{app}:start   the ring's first sequence number (what came before it
                     was never in this ring: a resume from there is told
                     exactly how many lines the ring displaced)
    wf:{app}:feed    the pub/sub channel every appended batch is published on

A line's sequence number is implicit, as in the memory store: the newest
line has `seq`, the one before it `seq - 1`, and so on. A function call
(`redis_functions.py`) assigns the numbers, pushes, trims and publishes.
On a standalone Redis a frame is one call for all its apps; on a Cluster
(keys of one call must share a slot) it is one call per app, pipelined in
one round trip (not a transaction: the apps live in different slots).

`append_batch` returns only once Redis confirmed every app's lines, and
raises `StoreUnavailable` otherwise, so the forward input acks nothing
Redis does not hold. Commands are never retried by the client: a retried
append that had in fact run would store its lines twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import hiredis
import msgpack
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Counter, Histogram
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from logger.errors import StoreUnavailable
from logger.store.base import ReadQuery, ReadResult, StoreStats
from logger.store.memory import StoreSettings, initial_seq
from logger.store.redis_functions import (
    APPEND,
    APPEND_FRAME,
    FUNCTIONS,
    KEYS_PER_APP,
    LIBRARY,
    READ,
)
from logger.store.redis_settings import AppendCalls, RedisSettings

log = logging.getLogger("logger.store")
Result = TypeVar("Result")


def lines_key(app: str) -> str:
    return f"wf:{{{app}}}:lines"


def seq_key(app: str) -> str:
    return f"wf:{{{app}}}:seq"


def start_key(app: str) -> str:
    return f"wf:{{{app}}}:start"


def feed_channel(app: str) -> str:
    return f"wf:{{{app}}}:feed"


def app_of_channel(channel: bytes) -> str:
    return channel.decode()[4:-6]  # "wf:{" app "}:feed"


def unpack_feed_message(data: bytes) -> tuple[bytes, int, list[bytes]]:
    """(replica id, first seq, lines) of a message `wf_append` published."""
    unpacker = msgpack.Unpacker(raw=True)
    unpacker.feed(data)
    replica, first_seq, lines = unpacker
    return replica, int(first_seq), lines


def lines_gone(
    after_seq: int | None, last_seq: int, held: int, start_seq: int | None = None
) -> int:
    """How many lines after `after_seq` the ring no longer holds (displaced
    or expired): what a resume missed. Zero without `after_seq`. Numbers
    below `start_seq` (the ring's first) were never in it, as in the memory
    ring; a ring that does not know its start (written by an earlier
    version) counts from `after_seq`."""
    if after_seq is None:
        return 0
    first_held = last_seq - held + 1
    start = after_seq + 1 if start_seq is None else max(after_seq + 1, start_seq)
    return max(0, first_held - start)


class HiredisPackingConnection(aioredis.Connection):
    """Commands packed by hiredis (C) rather than redis-py's asyncio packer
    (Python, per argument): a frame of 100 apps is 100 commands to pack."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])  # "FUNCTION LOAD" is two words
        return [hiredis.pack_command(args)]


class RedisMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "logger_store_errors",
            "Redis commands that failed or timed out, by store operation.",
            ["operation"],
            registry=registry,
        )
        self.latency = Histogram(
            "logger_store_command_seconds",
            "Redis round trips of the store, by operation (a frame's append is one).",
            ["operation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5),
            registry=registry,
        )


class RedisStore:
    """A `LogStore` on Redis; `stats()` reports what this replica last saw."""

    def __init__(
        self,
        settings: StoreSettings,
        redis_settings: RedisSettings,
        registry: CollectorRegistry,
        replica_id: str,
    ) -> None:
        assert redis_settings.url is not None
        self._settings = settings
        self._redis_settings = redis_settings
        self.replica_id = replica_id
        options: dict[str, Any] = {}
        if redis_settings.url.startswith("redis://"):
            options["connection_class"] = HiredisPackingConnection
        # A bounded pool that makes a command wait for a free connection (up
        # to the command timeout): a burst of follows reading their history
        # at once queues, where redis-py's default pool (100, then
        # MaxConnectionsError) failed them and took the replica unready.
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_settings.url,
            max_connections=redis_settings.max_connections,
            timeout=redis_settings.command_timeout,
            socket_timeout=redis_settings.command_timeout,
            socket_connect_timeout=redis_settings.connect_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
            **options,
        )
        self.client: aioredis.Redis = aioredis.Redis.from_pool(pool)
        self._metrics = RedisMetrics(registry)
        # Raw (str-typed) strings: the cmsgpack of Redis 7.0 cannot read the bin type.
        self._pack = msgpack.Packer(use_bin_type=False).pack
        self._packed_id = msgpack.packb(replica_id.encode(), use_bin_type=False)
        # Per app as of this replica's last append to it: lines held.
        self._held: dict[str, int] = {}
        # Per app: when this replica last had Redis set its TTL (monotonic).
        self._ttl_set_at: dict[str, float] = {}
        self._displaced_lines = 0
        self._used_memory = 0
        # One call per frame: set once Redis said it is standalone (or the setting says so).
        self._frame_calls = redis_settings.append_calls is AppendCalls.FRAME
        self._topology_known = redis_settings.append_calls is not AppendCalls.AUTO
        self.unavailable: str | None = "not connected to Redis yet"
        self._health_task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @property
    def redis_settings(self) -> RedisSettings:
        return self._redis_settings

    @property
    def frame_calls(self) -> bool:
        """True when a frame is one function call for all its apps."""
        return self._frame_calls

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Load the functions and watch Redis; a Redis that is down now is
        not fatal: the replica is unready until it answers."""
        try:
            await self._load_functions()
        except StoreUnavailable as error:
            log.warning("%s; retrying every %.1f s", error, self._redis_settings.health_interval)
        self._health_task = asyncio.create_task(self._watch_health(), name="redis-health")

    async def close(self) -> None:
        # Told, not cancelled: a command cancelled mid-reply can wedge its connection.
        self._closing.set()
        if self._health_task is not None:
            await asyncio.gather(self._health_task, return_exceptions=True)
        await self.client.aclose()

    # -- LogStore ----------------------------------------------------------

    async def append(self, app: str, lines: list[bytes]) -> int:
        return (await self.append_batch({app: lines}))[0]

    async def append_batch(self, lines_by_app: Mapping[str, list[bytes]]) -> list[int]:
        pending = [(app, lines) for app, lines in lines_by_app.items() if lines]
        replies = await self._call("append", lambda: self._append_round_trip(pending))
        missing = [i for i, reply in enumerate(replies) if _function_missing(reply)]
        if missing:
            # Redis restarted without its functions: load them, redo only those apps.
            await self._load_functions()
            retried = await self._call(
                "append", lambda: self._append_round_trip([pending[i] for i in missing])
            )
            for i, reply in zip(missing, retried, strict=True):
                replies[i] = reply
        first_seqs: dict[str, int] = {}
        for (app, _), reply in zip(pending, replies, strict=True):
            if isinstance(reply, Exception):
                self._fail("append", reply)
            first, displaced, held = reply
            first_seqs[app] = int(first)
            self._displaced_lines += int(displaced)
            self._held[app] = int(held)
        # An app with no lines gets the seq it would have had (nothing is stored).
        return [first_seqs.get(app, 0) for app in lines_by_app]

    async def read(self, app: str, query: ReadQuery) -> ReadResult:
        """The read; `gone` counts the lines after `query.after_seq` the ring
        no longer holds (displaced or expired: what a resume missed)."""
        # A filtered read needs the whole ring after after_seq, filtered here.
        reply = await self._read_reply(app, -1 if query.filtered else query.limit, query.after_seq)
        if not reply:
            # No such app: any line it gets will be past 0. (Not the clock, as
            # the memory store says: another replica's clock may lag this one's.)
            return ReadResult([], 0 if query.after_seq is None else query.after_seq)
        last_seq, held, start_seq = int(reply[0]), int(reply[1]), int(reply[2])
        lines: list[bytes] = reply[3:]
        picked = list(enumerate(lines, last_seq - len(lines) + 1))
        if query.filtered:
            picked = [(seq, line) for seq, line in picked if query.matches(line)]
            if query.limit >= 0:
                picked = picked[len(picked) - query.limit :] if query.limit else []
        gone = lines_gone(query.after_seq, last_seq, held, start_seq or None)
        return ReadResult(picked, last_seq, gone)

    async def _read_reply(self, app: str, limit: int, after_seq: int | None) -> list[Any]:
        after = "" if after_seq is None else str(after_seq)

        async def fcall() -> list[Any]:
            # Typed Awaitable | value by some redis-py versions: Any awaits on all.
            reply: Any = self.client.fcall_ro(
                READ, 3, lines_key(app), seq_key(app), start_key(app), limit, after
            )
            return cast(list[Any], await reply)

        return await self._call("read", lambda: self._with_functions(fcall))

    async def held_range(self, app: str) -> tuple[int, int] | None:
        """(newest seq, lines held) of an app, None when Redis has nothing."""
        reply = await self._read_reply(app, 0, None)
        return (int(reply[0]), int(reply[1])) if reply else None

    async def delete(self, app: str) -> bool:
        """Forget an app's lines on every replica (they share the keys). Its
        sequence number goes too: a new ring restarts from the clock, which
        is past every number handed out (see `initial_seq`)."""
        removed = await self._call(
            "delete",
            lambda: self.client.delete(lines_key(app), seq_key(app), start_key(app)),
        )
        self._held.pop(app, None)
        self._ttl_set_at.pop(app, None)
        return bool(removed)

    async def apps(self) -> list[str]:
        async def scan() -> list[str]:
            found = []
            async for key in self.client.scan_iter(match="wf:{*}:seq", count=1000):
                found.append(key.decode()[4:-5])
            return found

        return sorted(await self._call("apps", scan))

    def stats(self) -> StoreStats:
        """Lines as of this replica's last append to each app; bytes are
        Redis's `used_memory` (refreshed by the health check)."""
        return StoreStats(
            apps=len(self._held),
            lines=sum(self._held.values()),
            payload_bytes=self._used_memory,
            accounted_bytes=self._used_memory,
            max_bytes=self._settings.max_bytes,
            displaced_lines=self._displaced_lines,
            evicted_apps=0,
            evicted_lines=0,
        )

    # -- internals ---------------------------------------------------------

    async def _append_round_trip(self, pending: list[tuple[str, list[bytes]]]) -> list[Any]:
        """One reply per app: (first, displaced, held), or the error."""
        before_first = initial_seq() - 1
        # Each app's lines travel as one msgpack argument: packing one bytes
        # argument costs the client far less than one per line.
        fixed = (
            self._settings.lines_per_app,
            int(self._redis_settings.ring_ttl),
            before_first,
            before_first + 1,
            self._packed_id,
        )
        refresh = self._ttl_refreshes([app for app, _ in pending])
        pack = self._pack
        replies: list[Any]
        if self._frame_calls:
            replies = await self._append_frame(pending, fixed, refresh)
        else:
            pipe = self.client.pipeline(transaction=False)
            for (app, lines), again in zip(pending, refresh, strict=True):
                pipe.fcall(APPEND, KEYS_PER_APP, *_append_keys(app), *fixed, again, pack(lines))
            replies = await pipe.execute(raise_on_error=False)
        now = time.monotonic()
        for (app, _), again, reply in zip(pending, refresh, replies, strict=True):
            if again == "1" and not isinstance(reply, Exception):
                self._ttl_set_at[app] = now
        return replies

    def _ttl_refreshes(self, apps: list[str]) -> str:
        """'1' for each app whose TTL this replica has not had Redis set in
        the last hundredth of the TTL, else '0' (a new ring sets it anyway):
        an idle ring goes between 99% and 100% of the TTL after its last line.
        Only a confirmed append counts as set (`_append_round_trip`)."""
        ttl = self._redis_settings.ring_ttl
        if ttl <= 0:
            return "0" * len(apps)
        due = time.monotonic() - ttl / 100
        set_at = self._ttl_set_at
        return "".join("1" if set_at.get(app, due) <= due else "0" for app in apps)

    async def _append_frame(
        self,
        pending: list[tuple[str, list[bytes]]],
        fixed: tuple[int | bytes, ...],
        refresh: str,
    ) -> list[Any]:
        """Every app in one call (standalone Redis): one command for Redis
        to parse and one Lua entry, where a pipeline had one per app."""
        keys = [key for app, _ in pending for key in _append_keys(app)]
        packs = [self._pack(lines) for _, lines in pending]
        try:
            reply: Any = await self.client.fcall(
                APPEND_FRAME, len(keys), *keys, *fixed, refresh, *packs
            )
        except ResponseError as error:
            return [error] * len(pending)  # nothing or all of the frame: the same answer
        flat = cast(list[int], reply)
        return [flat[i : i + 3] for i in range(0, len(flat), 3)]

    async def _with_functions(self, command: Callable[[], Awaitable[Result]]) -> Result:
        try:
            return await command()
        except ResponseError as error:
            if not _function_missing(error):
                raise
        await self._load_functions()
        return await command()

    async def _load_functions(self) -> None:
        async def load() -> None:
            await cast(Awaitable[Any], self.client.function_load(FUNCTIONS, replace=True))

        await self._call("load", load)
        log.info("Redis functions %r loaded at %s", LIBRARY, self._redis_settings.location)
        await self._learn_topology()

    async def _learn_topology(self) -> None:
        """With `append_calls=auto`: one call per frame unless Redis is a
        Cluster; a Redis (or proxy) that does not say gets one per app."""
        if self._topology_known:
            return
        try:
            info = await self._call("health", lambda: self.client.info("cluster"))
        except StoreUnavailable as error:
            if not isinstance(error.__cause__, ResponseError):
                return  # unreachable: ask again at the next health check
            info = {}
        self._frame_calls = info.get("cluster_enabled") == 0
        self._topology_known = True
        log.info(
            "Redis at %s: %s",
            self._redis_settings.location,
            "standalone, one function call per frame"
            if self._frame_calls
            else "a Cluster (or it did not say), one function call per app",
        )

    async def _call(self, operation: str, command: Callable[[], Awaitable[Result]]) -> Result:
        started = time.perf_counter()
        try:
            result = await command()
        except (RedisError, OSError, TimeoutError) as error:
            self._fail(operation, error)
        self._metrics.latency.labels(operation=operation).observe(time.perf_counter() - started)
        if self.unavailable is not None:
            log.info("Redis at %s answers again", self._redis_settings.location)
            self.unavailable = None
        return result

    def _fail(self, operation: str, error: BaseException) -> Any:
        self._metrics.errors.labels(operation=operation).inc()
        if isinstance(error, ResponseError):
            # Redis answered: it is up, the command was wrong (a bug, or OOM).
            raise StoreUnavailable(f"Redis refused the {operation}: {error}") from error
        message = (
            f"Redis is unreachable at {self._redis_settings.location} ({type(error).__name__})"
        )
        if self.unavailable is None:
            log.warning("%s", message)
        self.unavailable = message
        raise StoreUnavailable(message) from error

    async def _watch_health(self) -> None:
        interval = self._redis_settings.health_interval
        while not self._closing.is_set():
            try:
                memory = await self._call("health", lambda: self.client.info("memory"))
                self._used_memory = int(memory.get("used_memory", 0))
                await self._learn_topology()
            except StoreUnavailable:
                pass  # counted and logged once per outage by _fail
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), interval)


@functools.lru_cache(maxsize=1 << 16)
def _append_keys(app: str) -> tuple[str, str, str, str]:
    """An app's keys in the order the append functions take them (made once
    per app, not four strings per app per frame)."""
    return lines_key(app), seq_key(app), start_key(app), feed_channel(app)


def _function_missing(reply: object) -> bool:
    return isinstance(reply, ResponseError) and "function not found" in str(reply).lower()
