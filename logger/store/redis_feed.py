"""Follow across replicas: every replica's followers see every app's lines.

Each append publishes its batch, with its first sequence number and the
id of the replica that wrote it, on the app's channel (`wf_append` does it
in the same function call). A replica subscribes only to apps it has
followers for, and hands what other replicas wrote to its own `TailHub`;
its own batches reach the hub straight from ingest.

Both paths go through one per-app sequencer, so the hub sees an app's
lines in sequence order, without gap or repeat. It starts as the
single-process follow does, subscribe before history: once Redis has
confirmed the app's subscription, the sequencer reads where the ring ends
and starts its cursor there; only then is the app live (`until_live`), and
a follower reads its history after that, so every line past its history
reaches it (sequence numbers drop what it got twice). A batch that arrives
before the lines just below it waits (briefly) for them; a gap that stays
(a message lost while the subscriber connection was down) is filled from
the ring, with the one gap notice (`logger.buffer.gap_notice`) saying how
many lines the ring no longer holds.
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

from logger.buffer import LossCounter, gap_notice
from logger.errors import StoreUnavailable
from logger.lines import line_time
from logger.store.base import ReadQuery
from logger.store.redis import RedisStore, app_of_channel, feed_channel, unpack_feed_message
from logger.tail import Follower, TailHub

log = logging.getLogger("logger.store")
Deliver = Callable[[str, int, list[bytes]], None]
# How long a batch may wait for the lines below it before the ring is read.
GAP_GRACE = 0.05
# How long the subscriber waits for a message before applying subscription changes.
POLL_INTERVAL = 0.02
RECONNECT_DELAY = 0.5
# Messages read from the subscription before they are handed over: a
# backlog's batches of one app go to the hub as one (see `_hand_over`).
READ_BATCH = 512


@dataclass
class _AppState:
    # The newest sequence number handed to the hub; None until the ring is
    # read once the subscription is confirmed (`_start`).
    cursor: int | None = None
    # That read found no such app: every line in the ring is new to followers.
    unknown: bool = False
    pending: dict[int, list[bytes]] = field(default_factory=dict)
    filling: bool = False
    starting: bool = False
    # Set once the sequencer has its start: followers read their history after it.
    live: asyncio.Event = field(default_factory=asyncio.Event)


class RedisFeed:
    def __init__(self, store: RedisStore, deliver: Deliver) -> None:
        self._store = store
        self._deliver = deliver
        self._own_id = store.replica_id.encode()
        self._apps: dict[str, _AppState] = {}
        self._subscribed: set[str] = set()
        # Channels Redis confirmed on the current subscriber connection.
        self._confirmed: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.gone_lines = 0
        self._closing = asyncio.Event()

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
        if app in self._apps:
            return
        state = self._apps[app] = _AppState()
        if app in self._subscribed and app in self._confirmed:
            self._schedule_start(app, state)  # still subscribed from an earlier follower

    def is_live(self, app: str) -> bool:
        state = self._apps.get(app)
        return state is not None and state.live.is_set()

    async def until_live(self, app: str, timeout: float) -> None:
        """Return once `app`'s sequencer has its start (its subscription
        confirmed, then the ring read); StoreUnavailable after `timeout`."""
        state = self._apps.get(app)
        if state is None or state.live.is_set():
            return
        try:
            async with asyncio.timeout(timeout):
                await state.live.wait()
        except TimeoutError:
            raise StoreUnavailable(
                f"Redis did not confirm the follow of {app!r} in {timeout:g} s"
            ) from None

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

    def _schedule_start(self, app: str, state: _AppState) -> None:
        if state.starting or state.live.is_set():
            return
        state.starting = True
        task = asyncio.create_task(self._start(app, state), name=f"redis-feed-start-{app}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, app: str, state: _AppState) -> None:
        """Subscribed (confirmed): where the ring ends now is where the
        sequencer starts; every later batch comes by message or ingest."""
        try:
            while self._apps.get(app) is state and not self._closing.is_set():
                try:
                    held = await self._store.held_range(app)
                except StoreUnavailable:
                    await asyncio.sleep(RECONNECT_DELAY)
                    continue
                if held is None:
                    state.unknown = True
                    if state.pending:
                        self._schedule_fill(app, state, 0)
                else:
                    state.cursor = held[0]
                    self._drain(app, state)
                state.live.set()
                return
        finally:
            state.starting = False

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
                    result = await self._store.read(app, ReadQuery(limit=-1, after_seq=cursor))
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
                gone = result.gone
                if gone:
                    self.gone_lines += gone
                    first = result.lines[0][1] if result.lines else None
                    oldest = "" if first is None else line_time(first).decode("ascii", "replace")
                    notice = gap_notice(app, gone, oldest, time.time_ns())
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
            # Subscribe confirmations are wanted: they tell when an app is live.
            pubsub = self._store.client.pubsub(ignore_subscribe_messages=False)
            self._subscribed = set()
            self._confirmed = set()
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
        while not self._closing.is_set():
            await self._update_subscriptions(pubsub)
            if not self._subscribed:
                await asyncio.sleep(POLL_INTERVAL)
                continue
            message = await pubsub.get_message(timeout=POLL_INTERVAL)
            received: list[dict[str, object]] = []
            while message is not None:
                received.append(message)
                if len(received) >= READ_BATCH:
                    break
                message = await pubsub.get_message(timeout=0)
            self._hand_over(received)

    async def _update_subscriptions(self, pubsub: PubSub) -> None:
        wanted = set(self._apps)
        added = wanted - self._subscribed
        removed = self._subscribed - wanted
        if added:
            await pubsub.subscribe(*(feed_channel(app) for app in added))
        if removed:
            await pubsub.unsubscribe(*(feed_channel(app) for app in removed))
        self._subscribed = wanted

    def _hand_over(self, messages: list[dict[str, object]]) -> None:
        """Messages in the order they came; an app's consecutive batches
        are joined into one before they reach the hub. Caught up, that is
        one batch per message; behind (a busy process), each follower gets
        one push, one render and one write for the backlog rather than one
        per message, so it catches up instead of falling further behind."""
        joined: dict[str, tuple[int, list[bytes]]] = {}
        for message in messages:
            channel = message.get("channel")
            if not isinstance(channel, bytes):
                continue
            app = app_of_channel(channel)
            kind = message.get("type")
            if kind != "message":
                if app in joined:
                    self.offer(app, *joined.pop(app))  # what came before it, first
                self._on_subscription(app, kind)
                continue
            data = message["data"]
            if not isinstance(data, bytes):
                continue
            replica, first_seq, lines = unpack_feed_message(data)
            if replica == self._own_id:
                continue  # ingest handed it over already
            held = joined.get(app)
            if held is not None and held[0] + len(held[1]) == first_seq:
                held[1].extend(lines)
                continue
            if held is not None:
                self.offer(app, *held)
            joined[app] = (first_seq, lines)
        for app, (first_seq, lines) in joined.items():
            self.offer(app, first_seq, lines)

    def _on_subscription(self, app: str, kind: object) -> None:
        if kind == "subscribe":
            self._confirmed.add(app)
            self._on_confirmed(app)
        elif kind == "unsubscribe":
            self._confirmed.discard(app)

    def _on_confirmed(self, app: str) -> None:
        """Every message of `app` published from now on reaches this replica."""
        state = self._apps.get(app)
        if state is None:
            return
        if not state.live.is_set():
            self._schedule_start(app, state)
        elif state.cursor is not None or state.pending:
            # Subscribed again after the connection dropped: what was written
            # meanwhile is only in the ring.
            self._schedule_fill(app, state, GAP_GRACE)


class ReplicatedTailHub(TailHub):
    """A `TailHub` whose apps' lines come from every replica, through the feed."""

    def __init__(
        self,
        max_queued_lines: int,
        store: RedisStore,
        on_loss: LossCounter | None = None,
        *,
        max_total_bytes: int | None = None,
    ) -> None:
        super().__init__(max_queued_lines, on_loss, max_total_bytes=max_total_bytes)
        self.feed = RedisFeed(store, super().publish)
        self._watched: dict[str, int] = {}
        settings = store.redis_settings
        # Long enough for a subscription and one read on a Redis that answers.
        self._live_timeout = settings.connect_timeout + 2 * settings.command_timeout

    def subscribe(self, app: str) -> Follower:
        follower = super().subscribe(app)
        self._watched[app] = self._watched.get(app, 0) + 1
        self.feed.watch(app)
        return follower

    async def until_live(self, follower: Follower) -> None:
        await self.feed.until_live(follower.app, self._live_timeout)

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
