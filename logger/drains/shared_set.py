"""The drain set every replica shares, in Redis, and each replica's drain state.

With `WF_REDIS_URL` set, the drains are cluster state: one set in Redis
instead of one state file per process, so every replica holds the same
drains and a replica that starts (or restarts) loads the current set. Each
replica delivers only the lines it ingested itself (drains are fed by
ingest, never by the replicated follow feed), so every line reaches every
drain of its app exactly once across the cluster.

Keys (all in the `{drains}` hash slot, so MULTI works on Redis Cluster):

    wf:{drains}                 a hash, drain id -> its entry (JSON, as in the state file)
    wf:{drains}:version         incremented with every change
    wf:{drains}:changed         the pub/sub channel a change is announced on
    wf:{drains}:replicas        a sorted set, replica id -> when it last reported
    wf:{drains}:state:<replica> a hash, drain id -> that replica's view of it (JSON)

A change is one optimistic transaction (WATCH the set, check, MULTI/EXEC),
so two replicas adding the same URL at once cannot both succeed. Replicas
reload the set when a change is announced and, in case an announcement was
missed (Redis restarted, a subscription dropped), whenever the version
they poll every `WF_DRAINS_SYNC_INTERVAL` moved.

The entries hold the drains' whole URLs (with credentials) and tokens, as
the state file does: Redis must be as private as the logger's state
directory (a password, TLS, a network policy; see docs/operations.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from logger.drains.errors import DrainStateFileError
from logger.drains.persistence import Entries
from logger.store.redis_settings import RedisSettings

log = logging.getLogger("logger.drains")

SET_KEY = "wf:{drains}"
VERSION_KEY = "wf:{drains}:version"
CHANGED_CHANNEL = "wf:{drains}:changed"
REPLICAS_KEY = "wf:{drains}:replicas"
# A change that keeps losing the optimistic race this often gives up (503).
MAX_ATTEMPTS = 20
# A replica's reported state lives this many report intervals unrefreshed.
STATE_LIFETIMES = 3


def state_key(replica: str) -> str:
    return f"wf:{{drains}}:state:{replica}"


class DrainSetUnavailable(DrainStateFileError):
    """Redis did not confirm a change of the shared drain set (HTTP 503)."""


@contextlib.contextmanager
def _unavailable(action: str) -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as error:
        reason = type(error).__name__
        raise DrainSetUnavailable(f"Redis is unreachable, {action}: {reason}") from None


class SharedDrainSet:
    """The shared drain set and the replicas' reports, on one Redis client."""

    def __init__(self, settings: RedisSettings, replica: str, report_interval: float) -> None:
        assert settings.url is not None
        self.replica = replica
        self._report_interval = report_interval
        # Its own client, apart from the store's bounded pool: the set's few
        # commands never wait behind a burst of follows reading history.
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            settings.url,
            socket_timeout=settings.command_timeout,
            socket_connect_timeout=settings.connect_timeout,
            health_check_interval=0,
        )

    async def close(self) -> None:
        """Withdraw this replica's report and close the client."""
        with contextlib.suppress(RedisError, OSError):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zrem(REPLICAS_KEY, self.replica)
                pipe.delete(state_key(self.replica))
                await pipe.execute()
        await self._client.aclose()

    # -- the set ------------------------------------------------------------

    async def version(self) -> int:
        with _unavailable("the drain set was not read"):
            return int(await self._client.get(VERSION_KEY) or 0)

    async def entries(self) -> tuple[int, Entries]:
        """(version, every entry), read in one transaction."""
        with _unavailable("the drain set was not read"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.get(VERSION_KEY)
                pipe.hgetall(SET_KEY)
                version, raw = await pipe.execute()
        return int(version or 0), _decoded(raw)

    async def add(self, entry: dict[str, Any], check: Callable[[Entries], None]) -> None:
        """Add `entry` unless `check` (given the app's current entries)
        raises: DuplicateDrain, DrainLimitReached pass through."""
        app = entry["app"]

        def change(pipe: Any, current: Entries) -> None:
            check([other for other in current if other.get("app") == app])
            pipe.hset(SET_KEY, entry["id"], json.dumps(entry))

        await self._change(change, "the drain was not added")

    async def remove(self, app: str, drain_ids: list[str] | None = None) -> int:
        """Remove these drains of `app` (every drain of it when None); how
        many the set held."""
        removed = 0

        def change(pipe: Any, current: Entries) -> None:
            nonlocal removed
            gone = [
                str(entry.get("id"))
                for entry in current
                if entry.get("app") == app and (drain_ids is None or entry.get("id") in drain_ids)
            ]
            removed = len(gone)
            if gone:
                pipe.hdel(SET_KEY, *gone)

        await self._change(change, "the drain was not removed")
        return removed

    async def _change(self, change: Callable[[Any, Entries], None], action: str) -> None:
        with _unavailable(action):
            async with self._client.pipeline(transaction=True) as transaction:
                pipe: Any = transaction  # redis-py's pipeline methods are untyped
                for _attempt in range(MAX_ATTEMPTS):
                    try:
                        await pipe.watch(SET_KEY)
                        current = _decoded(await pipe.hgetall(SET_KEY))
                        pipe.multi()
                        change(pipe, current)
                        if len(pipe.command_stack) == 0:
                            await pipe.reset()
                            return
                        pipe.incr(VERSION_KEY)
                        pipe.publish(CHANGED_CHANNEL, self.replica)
                        await pipe.execute()
                        return
                    except WatchError:
                        continue
        raise DrainSetUnavailable(f"the drain set kept changing under this change, {action}")

    async def changes(self) -> AsyncIterator[bool]:
        """Yields True per announced change and False whenever the report
        interval passed without one (time to poll the version and report);
        ends with a RedisError or OSError when the subscription breaks (the
        caller subscribes again)."""
        pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANGED_CHANNEL)
            while True:
                message = await pubsub.get_message(timeout=self._report_interval)
                yield message is not None
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    # -- the replicas' reports ----------------------------------------------

    async def report(self, views: dict[str, dict[str, Any]]) -> None:
        """Publish this replica's view of each of its drains."""
        key = state_key(self.replica)
        lifetime = max(1, round(self._report_interval * STATE_LIFETIMES))
        with _unavailable("the drain state was not reported"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if views:
                    pipe.hset(key, mapping={k: json.dumps(v) for k, v in views.items()})
                    pipe.expire(key, lifetime)
                pipe.zadd(REPLICAS_KEY, {self.replica: time.time()})
                pipe.zremrangebyscore(REPLICAS_KEY, "-inf", time.time() - lifetime)
                await pipe.execute()

    async def reports(self, drain_ids: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """Per drain id, per other live replica, what it last reported."""
        if not drain_ids:
            return {}
        lifetime = self._report_interval * STATE_LIFETIMES
        with _unavailable("the other replicas' drain state was not read"):
            live: list[Any] = await self._client.zrangebyscore(
                REPLICAS_KEY, time.time() - lifetime, "+inf"
            )
            replicas = [raw.decode() for raw in live]
            others = [replica for replica in replicas if replica != self.replica]
            async with self._client.pipeline(transaction=False) as pipe:
                for replica in others:
                    pipe.hmget(state_key(replica), drain_ids)
                rows = await pipe.execute() if others else []
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for replica, values in zip(others, rows, strict=True):
            for drain_id, value in zip(drain_ids, values, strict=True):
                if value is not None:
                    with contextlib.suppress(ValueError):
                        found.setdefault(drain_id, {})[replica] = json.loads(value)
        return found


def _decoded(raw: Any) -> Entries:
    entries: Entries = []
    for drain_id, value in raw.items():
        try:
            entry = json.loads(value)
        except ValueError:
            log.warning("skipping drain %r in Redis: not JSON", drain_id.decode(errors="replace"))
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
