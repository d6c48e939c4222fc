"""Live tails: every follower of an app gets each new batch of its lines.

A follower's queue is a `logger.buffer.BoundedBuffer` of batches, bounded by
lines (`max_queued_lines`), under `OverflowPolicy.DROP_OLDEST`: a follower
that falls behind is not disconnected; its oldest lines are displaced, the
loss is counted (`component="follower"`, `reason="reader_too_slow"`), and
the next time it reads it first gets the one loss notice,
`shop[logger]: N lines dropped since T (reader_too_slow)`. Publishing costs
one append per follower; the batch's list of lines is shared, never copied.

All followers' queues are bounded together too, by bytes (`max_total_bytes`,
a `ByteBudget`): each follower is charged for every batch it still holds
(a batch no reader has taken stays alive), and past the total the follower
holding the most loses its oldest lines, counted with `component="follower"`,
`reason="followers_over_budget"` and told in its loss notice the same way.

A follower whose client keeps up skips the queue: its follow attaches a
sink (`Follower.attach`, `logger.follow_writer.LiveWriter.push`) that writes
each batch to the client from `publish` itself; when the sink cannot (the
client is behind), the follower detaches it and queues as above.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from logger.buffer import BoundedBuffer, ByteBudget, LossCounter, OverflowPolicy

Sink = Callable[["Batch"], bool]
"""Delivers a batch straight to a follower's reader; False when it cannot
(nothing delivered: the batch is queued instead)."""

COMPONENT = "follower"
TOO_SLOW = "reader_too_slow"
OVER_BUDGET = "followers_over_budget"


class Batch:
    """One stored batch of an app's lines, shared by all its followers."""

    __slots__ = ("_bytes", "_rendered", "first_seq", "lines")

    def __init__(self, first_seq: int, lines: list[bytes]) -> None:
        self.first_seq = first_seq
        self.lines = lines
        self._rendered: dict[str, bytes] = {}
        self._bytes = -1

    @property
    def byte_count(self) -> int:
        """The bytes of its lines, summed once."""
        if self._bytes < 0:
            self._bytes = sum(map(len, self.lines))
        return self._bytes

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: slice, /) -> Batch:
        """The lines of a slice, with their sequence numbers (a step is not supported)."""
        start, _, _ = index.indices(len(self.lines))
        return Batch(self.first_seq + start, self.lines[index])

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.lines) - 1

    def rendered(self, form: str, render: Callable[[Batch], bytes]) -> bytes:
        """The whole batch in one output form, rendered once for every
        follower that wants it that way."""
        text = self._rendered.get(form)
        if text is None:
            text = self._rendered[form] = render(self)
        return text


class Follower:
    """One reader of one app's live lines."""

    def __init__(
        self,
        app: str,
        max_queued_lines: int,
        on_loss: LossCounter,
        budget: ByteBudget | None = None,
    ) -> None:
        self.app = app
        self._queue: BoundedBuffer[Batch] = BoundedBuffer(
            max_queued_lines,
            OverflowPolicy.DROP_OLDEST,
            component=COMPONENT,
            reason=TOO_SLOW,
            on_loss=on_loss,
            weigh=_batch_bytes,
            budget=budget,
        )
        self._budget = budget
        self._wakeup = asyncio.Event()
        self._sink: Sink | None = None

    def push(self, batch: Batch) -> None:
        sink = self._sink
        if sink is not None:
            if sink(batch):
                return
            self._sink = None  # behind: queue from now on, until the reader attaches again
        self._queue.offer(batch)
        self._wakeup.set()

    def attach(self, sink: Sink) -> bool:
        """Deliver through `sink` from now on, while it accepts; only with
        nothing queued (False then, and nothing changes), so order holds."""
        if len(self._queue) or self._queue.lost:
            return False
        self._sink = sink
        return True

    def detach(self) -> None:
        self._sink = None

    @property
    def attached(self) -> bool:
        return self._sink is not None

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for lines; True when some are queued."""
        if not len(self._queue) and not self._queue.lost:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for
                    await self._wakeup.wait()
            except TimeoutError:
                return False
        return True

    def take(self) -> tuple[bytes | None, list[Batch]]:
        """The loss notice (if lines were displaced) and every queued batch."""
        return self._queue.take_notice(self.app), self._queue.take_all()

    def close(self) -> None:
        """Stop delivering; release what it still holds from the shared budget."""
        self._sink = None
        if self._budget is not None:
            self._queue.take_all()  # gives its bytes back to the budget
            self._budget.leave(self._queue)


def _batch_bytes(batch: Batch) -> int:
    return batch.byte_count


class TailHub:
    """Who follows which app; ingest publishes every stored batch here."""

    def __init__(
        self,
        max_queued_lines: int,
        on_loss: LossCounter | None = None,
        *,
        max_total_bytes: int | None = None,
    ) -> None:
        self._max_queued_lines = max_queued_lines
        self._budget = (
            ByteBudget(max_total_bytes, reason=OVER_BUDGET) if max_total_bytes is not None else None
        )
        self._followers: dict[str, set[Follower]] = {}
        self._on_loss = on_loss
        self.dropped_lines = 0

    def subscribe(self, app: str) -> Follower:
        follower = Follower(app, self._max_queued_lines, self._count_loss, self._budget)
        self._followers.setdefault(app, set()).add(follower)
        return follower

    async def until_live(self, follower: Follower) -> None:
        """Return once every line stored from now on reaches `follower`: at
        once here (ingest publishes in this process); a hub fed from other
        processes waits for its feed. A follow reads its history after this."""

    def unsubscribe(self, follower: Follower) -> None:
        follower.close()
        followers = self._followers.get(follower.app)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del self._followers[follower.app]

    def publish(self, app: str, first_seq: int, lines: list[bytes]) -> None:
        followers = self._followers.get(app)
        if followers:
            batch = Batch(first_seq, lines)
            for follower in followers:
                follower.push(batch)

    @property
    def queued_bytes(self) -> int:
        """Bytes queued for all followers together (0 without a total bound)."""
        return self._budget.used if self._budget is not None else 0

    @property
    def follower_count(self) -> int:
        return sum(len(followers) for followers in self._followers.values())

    def _count_loss(self, component: str, reason: str, lines: int) -> None:
        self.dropped_lines += lines
        if self._on_loss is not None:
            self._on_loss(component, reason, lines)
