"""Follow across replicas: every replica's followers see every app's lines.

Each append publishes its batch, with its first sequence number and the
id of the replica that wrote it, on the app's channel (`wf_append` does it
in the same function call). A replica subscribes only to apps it has
followers for, and hands what other replicas wrote to its own `TailHub`;
its own batches reach the hub straight from ingest.

Both paths go through one per-app sequencer, so the hub sees an app's
lines in sequence order, without gap or repeat: a batch that arrives
before the lines just below it waits (briefly) for them; a gap that stays
(a message lost while the subscriber connection was down, or lines
written while the subscription was being set up) is filled from the ring,
with a notice saying how many lines the ring no longer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from logger.errors import StoreUnavailable
from logger.lines import platform_line
from logger.store.base import ReadQuery
from logger.store.redis import RedisStore, app_of_channel, feed_channel, unpack_feed_message
from logger.tail import DROP_SOURCE, Follower, TailHub

log = logging.getLogger("logger.store")
Deliver = Callable[[str, int, list[bytes]], None]
# How long a batch may wait for the lines below it before the ring is read.
GAP_GRACE = 0.05
# How long the subscriber waits for a message before applying subscription changes.
POLL_INTERVAL = 0.02
RECONNECT_DELAY = 0.5


@dataclass
class _AppState:
    # The newest sequence number handed to the hub; None until the first
    # follower's history read tells where its history ends.
    cursor: int | None = None
    # That read found no such app: every line in the ring is new to followers.
    unknown: bool = False
    pending: dict[int, list[bytes]] = field(default_factory=dict)
    filling: bool = False


class RedisFeed:
    def __init__(self, store: RedisStore, deliver: Deliver) -> None:
        self._store = store
        self._deliver = deliver
        self._own_id = store.replica_id.encode()
        self._apps: dict[str, _AppState] = {}
        self._subscribed: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.gone_lines = 0
        self._closing = asyncio.Event()
        store.on_read = self._note_read

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever(), name="redis-feed")

    async def close(self) -> None:
        # Told, not cancelled: a command cancelled mid-reply can wedge its connection.
        self._closing.set()
        self._apps.clear()
        await asyncio.gather(
            *(t for t in [self._reader, *self._tasks] if t is not None), return_exceptions=True
        )

    # -- what the hub calls --------------------------------------------------

    def watch(self, app: str) -> None:
        self._apps.setdefault(app, _AppState())

    def unwatch(self, app: str) -> None:
        self._apps.pop(app, None)

    def offer(self, app: str, first_seq: int, lines: list[bytes]) -> None:
        """A stored batch, from this replica's ingest or another's message."""
        state = self._apps.get(app)
        if state is None or not lines:
            return
        if state.cursor is None:
            state.pending[first_seq] = lines
            if state.unknown:
                self._schedule_fill(app, state, 0)
            return
        self._advance(app, state, first_seq, lines)

    # -- sequencing ----------------------------------------------------------

    def _note_read(self, app: str, last_seq: int | None) -> None:
        """A follower reads its history before its first live line: the
        sequencer starts right after the first such read."""
        state = self._apps.get(app)
        if state is None or state.cursor is not None:
            return
        if last_seq is None:
            state.unknown = True
            if state.pending:
                self._schedule_fill(app, state, 0)
        else:
            state.cursor = last_seq
            self._drain(app, state)

    def _advance(self, app: str, state: _AppState, first_seq: int, lines: list[bytes]) -> None:
        assert state.cursor is not None
        last_seq = first_seq + len(lines) - 1
        if last_seq <= state.cursor:
            return  # already handed over
        if first_seq > state.cursor + 1:
            state.pending[first_seq] = lines
            self._schedule_fill(app, state, GAP_GRACE)
            return
        start = state.cursor + 1
        self._deliver(app, start, lines[start - first_seq :] if start > first_seq else lines)
        state.cursor = last_seq
        if state.pending:
            self._drain(app, state)

    def _drain(self, app: str, state: _AppState) -> None:
        while state.pending and state.cursor is not None:
            first_seq = min(state.pending)
            if first_seq > state.cursor + 1:
                self._schedule_fill(app, state, GAP_GRACE)
                return
            self._advance(app, state, first_seq, state.pending.pop(first_seq))

    def _schedule_fill(self, app: str, state: _AppState, delay: float) -> None:
        if state.filling:
            return
        state.filling = True
        task = asyncio.create_task(self._fill(app, state, delay), name=f"redis-feed-fill-{app}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill(self, app: str, state: _AppState, delay: float) -> None:
        """Hand over what the ring holds past the cursor (all of it for an
        app that was unknown), and say how much it no longer holds."""
        try:
            await asyncio.sleep(delay)
            while self._apps.get(app) is state:
                cursor = state.cursor
                if cursor is None and not state.unknown:
                    break
                try:
                    result, gone = await self._store.read_counting_gone(
                        app, ReadQuery(limit=-1, after_seq=cursor)
                    )
                except StoreUnavailable:
                    await asyncio.sleep(RECONNECT_DELAY)
                    continue
                if state.cursor != cursor or self._apps.get(app) is not state:
                    continue  # the gap closed meanwhile; look again
                if cursor is None:
                    if not result.lines:
                        await asyncio.sleep(GAP_GRACE)  # deleted meanwhile; look again
                        continue
                    cursor = state.cursor = result.lines[0][0] - 1
                if gone:
                    self.gone_lines += gone
                    notice = platform_line(
                        app,
                        DROP_SOURCE,
                        f"{gone} lines dropped since seq {cursor} (no longer in the ring)",
                        time.time_ns(),
                    )
                    # The notice stands in for the last missing line: resuming after it is exact.
                    self._deliver(app, cursor + gone, [notice])
                    state.cursor = cursor + gone
                if result.lines:
                    held = [line for _, line in result.lines]
                    self._advance(app, state, result.lines[0][0], held)
                state.cursor = max(cursor, state.cursor or cursor, result.last_seq)
                break
        finally:
            state.filling = False
        if state.cursor is not None:
            self._drain(app, state)

    # -- the subscriber connection -------------------------------------------

    async def _read_forever(self) -> None:
        while not self._closing.is_set():
            pubsub = self._store.client.pubsub(ignore_subscribe_messages=True)
            self._subscribed = set()
            try:
                await self._read(pubsub)
            except (RedisError, OSError) as error:
                log.warning("Redis feed subscriber lost (%s); resubscribing", type(error).__name__)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if not self._closing.is_set():
                await asyncio.sleep(RECONNECT_DELAY)

    async def _read(self, pubsub: PubSub) -> None:
        first_pass = True
        while not self._closing.is_set():
            await self._update_subscriptions(pubsub, resync=first_pass)
            first_pass = False
            if not self._subscribed:
                await asyncio.sleep(POLL_INTERVAL)
                continue
            message = await pubsub.get_message(timeout=POLL_INTERVAL)
            while message is not None:
                self._on_message(message)
                message = await pubsub.get_message(timeout=0)

    async def _update_subscriptions(self, pubsub: PubSub, resync: bool) -> None:
        wanted = set(self._apps)
        added = wanted - self._subscribed
        removed = self._subscribed - wanted
        if added:
            await pubsub.subscribe(*(feed_channel(app) for app in added))
        if removed:
            await pubsub.unsubscribe(*(feed_channel(app) for app in removed))
        self._subscribed = wanted
        # Lines written before a subscription took effect (or while the
        # connection was down) are only in the ring: look there once.
        for app in wanted if resync else added:
            state = self._apps[app]
            if state.cursor is not None:
                self._schedule_fill(app, state, GAP_GRACE)

    def _on_message(self, message: dict[str, object]) -> None:
        if message.get("type") != "message":
            return
        data = message["data"]
        channel = message["channel"]
        if not isinstance(data, bytes) or not isinstance(channel, bytes):
            return
        replica, first_seq, lines = unpack_feed_message(data)
        if replica == self._own_id:
            return  # ingest handed it over already
        self.offer(app_of_channel(channel), first_seq, lines)


class ReplicatedTailHub(TailHub):
    """A `TailHub` whose apps' lines come from every replica, through the feed."""

    def __init__(self, max_queued_lines: int, store: RedisStore) -> None:
        super().__init__(max_queued_lines)
        self.feed = RedisFeed(store, super().publish)
        self._watched: dict[str, int] = {}

    def subscribe(self, app: str) -> Follower:
        follower = super().subscribe(app)
        self._watched[app] = self._watched.get(app, 0) + 1
        self.feed.watch(app)
        return follower

    def unsubscribe(self, follower: Follower) -> None:
        super().unsubscribe(follower)
        count = self._watched.get(follower.app, 0) - 1
        if count > 0:
            self._watched[follower.app] = count
        else:
            self._watched.pop(follower.app, None)
            self.feed.unwatch(follower.app)

    def publish(self, app: str, first_seq: int, lines: list[bytes]) -> None:
        self.feed.offer(app, first_seq, lines)
