"""The Redis store: every replica shares each app's ring and sequence number.

Key design (one hash slot per app, so Redis Cluster and Valkey safe):

    wf:{app}:lines   a list, oldest first, at most `lines_per_app` long
    wf:{app}:seq     the sequence number of the newest line ever appended
    wf:{app}:feed    the pub/sub channel every appended batch is published on

A line's sequence number is implicit, as in the memory store: the newest
line has `seq`, the one before it `seq - 1`, and so on. One function call
per app per frame (`redis_functions.py`) assigns the numbers, pushes,
trims and publishes; a frame's apps are pipelined in one round trip (not a
transaction: the apps live in different slots).

`append_batch` returns only once Redis confirmed every app's lines, and
raises `StoreUnavailable` otherwise, so the forward input acks nothing
Redis does not hold. Commands are never retried by the client: a retried
append that had in fact run would store its lines twice.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from logger.store.redis_functions import FUNCTIONS, LIBRARY
from logger.store.redis_settings import RedisSettings

log = logging.getLogger("logger.store")
Result = TypeVar("Result")


def lines_key(app: str) -> str:
    return f"wf:{{{app}}}:lines"


def seq_key(app: str) -> str:
    return f"wf:{{{app}}}:seq"


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


def lines_gone(after_seq: int | None, last_seq: int, held: int) -> int:
    """How many lines after `after_seq` the ring no longer holds (displaced
    or expired): what a resume missed. Zero without `after_seq`."""
    if after_seq is None:
        return 0
    first_held = last_seq - held + 1
    return max(0, min(first_held, last_seq + 1) - after_seq - 1)


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
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            redis_settings.url,
            socket_timeout=redis_settings.command_timeout,
            socket_connect_timeout=redis_settings.connect_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
            **options,
        )
        self._metrics = RedisMetrics(registry)
        # Raw (str-typed) strings: the cmsgpack of Redis 7.0 cannot read the bin type.
        self._pack = msgpack.Packer(use_bin_type=False).pack
        self._packed_id = msgpack.packb(replica_id.encode(), use_bin_type=False)
        # Per app as of this replica's last append to it: lines held.
        self._held: dict[str, int] = {}
        self._displaced_lines = 0
        self._used_memory = 0
        self.unavailable: str | None = "not connected to Redis yet"
        self._health_task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @property
    def redis_settings(self) -> RedisSettings:
        return self._redis_settings

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
        last_seq, held = int(reply[0]), int(reply[1])
        lines: list[bytes] = reply[2:]
        picked = list(enumerate(lines, last_seq - len(lines) + 1))
        if query.filtered:
            picked = [(seq, line) for seq, line in picked if query.matches(line)]
            if query.limit >= 0:
                picked = picked[len(picked) - query.limit :] if query.limit else []
        return ReadResult(picked, last_seq, lines_gone(query.after_seq, last_seq, held))

    async def _read_reply(self, app: str, limit: int, after_seq: int | None) -> list[Any]:
        after = "" if after_seq is None else str(after_seq)

        async def fcall() -> list[Any]:
            # Typed Awaitable | value by some redis-py versions: Any awaits on all.
            reply: Any = self.client.fcall_ro(
                "wf_read", 2, lines_key(app), seq_key(app), limit, after
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
            "delete", lambda: self.client.delete(lines_key(app), seq_key(app))
        )
        self._held.pop(app, None)
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
        settings = self._settings
        ttl = int(self._redis_settings.ring_ttl)
        pipe = self.client.pipeline(transaction=False)
        before_first = initial_seq() - 1
        packed_id = self._packed_id
        pack = self._pack
        for app, lines in pending:
            # The lines travel as one msgpack argument: packing one bytes
            # argument costs the client far less than one per line.
            pipe.fcall(
                "wf_append",
                3,
                lines_key(app),
                seq_key(app),
                feed_channel(app),
                settings.lines_per_app,
                ttl,
                before_first,
                packed_id,
                pack(lines),
            )
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

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
            except StoreUnavailable:
                pass  # counted and logged once per outage by _fail
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), interval)


def _function_missing(reply: object) -> bool:
    return isinstance(reply, ResponseError) and "function not found" in str(reply).lower()
