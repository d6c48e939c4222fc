"""One bounded buffer, one overflow policy, one way of telling a loss.

Followers (`logger.tail`) and drains (`logger.drains.base`) queue stored
lines for a reader that may fall behind; both hold a `BoundedBuffer` of
chunks (the lists of lines ingest hands over, or a follower's shared
batches), bounded in lines, and both use `OverflowPolicy.DROP_OLDEST`.
Whatever a buffer drops is recorded three ways (DESIGN.md, after Logplex's
`logplex_msg_buffer.erl`):

- a counter, `logger_discarded_events_total{component,reason}` (Vector's
  instrumentation spec), through the `on_loss` callback;
- an in-band line, the next thing the reader gets, in one format for every
  component: `shop[logger]: N lines dropped since T (reason)`, with
  Logplex's code in front where a drain sends it (`Error L10 (output buffer
  overflow): ...`), marked stderr so that syslog sends it as an error;
- the loss is per reader: other readers of the app lose nothing.

A reader that resumes past what a store ring still holds gets the same
notice (`gap_notice`), with the count of lines that are gone.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Generic, Protocol, Self, TypeVar

from logger.lines import NO_STREAM, STDERR, format_timestamp, platform_line

# The source of every in-band notice: `shop[logger]: ...`.
NOTICE_SOURCE = "logger"
# Logplex's error codes, kept in the text a drain's reader sees.
L10_BUFFER_OVERFLOW = "Error L10 (output buffer overflow)"
L11_TOO_SLOW = "Error L11 (tail buffer overflow)"


class OverflowPolicy(Enum):
    """What a full buffer does with new lines (Vector's `WhenFull`)."""

    DROP_OLDEST = "drop_oldest"
    """Make room by dropping the oldest lines; the loss is counted, and the
    reader's next read starts with one notice saying how many since when.
    The producer never waits: for ingest's followers and drains."""

    BLOCK = "block"
    """The producer waits (`put`) until the reader has taken enough to make
    room; nothing is lost. `offer` refuses to block and raises."""

    REFUSE_NEWEST = "refuse_newest"
    """Keep what is buffered and refuse the new lines whole, counted as
    lost (and told in-band like DROP_OLDEST); `offer` returns False."""


LossCounter = Callable[[str, str, int], None]
"""Called with (component, reason, lines) for every loss."""


def loss_text(count: int, since_ns: int, reason: str, code: str = "") -> str:
    """`N lines dropped since T (reason)`, after `code: ` when there is one."""
    text = f"{count} lines dropped since {format_timestamp(since_ns)} ({reason})"
    return f"{code}: {text}" if code else text


def loss_notice(
    app: str, count: int, since_ns: int, reason: str, now_ns: int, code: str = ""
) -> bytes:
    """The in-band notice as a stored line: `shop[logger]: N lines dropped
    since T (reason)`, marked stderr when it carries a Logplex error code."""
    stream = STDERR if code else NO_STREAM
    return platform_line(
        app, NOTICE_SOURCE, loss_text(count, since_ns, reason, code), now_ns, stream
    )


GAP_REASON = "no_longer_buffered"


def gap_notice(app: str, gone: int, oldest: str, now_ns: int) -> bytes:
    """The notice for a resume that asks for lines the store no longer holds:
    `shop[logger]: N lines dropped before T (no_longer_buffered)`, T the time
    of the oldest line returned (`oldest`, "" when none is: then now)."""
    before = oldest or format_timestamp(now_ns)
    return platform_line(
        app, NOTICE_SOURCE, f"{gone} lines dropped before {before} ({GAP_REASON})", now_ns
    )


class Chunk(Protocol):
    """A run of lines: its length is its line count, and a slice of it is a
    chunk of those lines (a list of stored lines, a follower's batch)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> Self: ...


C = TypeVar("C", bound=Chunk)


class BoundedBuffer(Generic[C]):
    """Chunks of lines, at most `capacity` lines, under one overflow policy.

    Adding a chunk is one append (under DROP_OLDEST, plus popping whole
    chunks off the front, and slicing one when only part of it must go).
    `weigh(chunk)`, when given, keeps a byte total too (drains batch by
    bytes). Every loss is recorded with `component` and `reason`, reported
    to `on_loss`, and told once by `take_notice`; `on_drop`, when given, is
    handed each dropped piece itself (a reader that must know which lines
    went, e.g. whose app they were)."""

    __slots__ = (
        "_chunks",
        "_code",
        "_lines",
        "_lost",
        "_lost_since",
        "_on_drop",
        "_on_loss",
        "_room",
        "_weigh",
        "bytes",
        "capacity",
        "clock",
        "component",
        "policy",
        "reason",
    )

    def __init__(
        self,
        capacity: int,
        policy: OverflowPolicy,
        *,
        component: str,
        reason: str,
        on_loss: LossCounter | None = None,
        weigh: Callable[[C], int] | None = None,
        on_drop: Callable[[C], None] | None = None,
        code: str = "",
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"a buffer holds at least one line, got {capacity}")
        self.capacity = capacity
        self.policy = policy
        self.component = component
        self.reason = reason
        self.clock = clock
        self.bytes = 0
        self._weigh = weigh
        self._on_loss = on_loss
        self._on_drop = on_drop
        self._code = code
        self._chunks: deque[C] = deque()
        self._lines = 0
        self._lost = 0
        self._lost_since = 0
        self._room: asyncio.Event | None = None

    def __len__(self) -> int:
        """Lines held."""
        return self._lines

    @property
    def lost(self) -> int:
        """Lines lost since the last notice was taken."""
        return self._lost

    def offer(self, chunk: C) -> bool:
        """Add a chunk without waiting; False when REFUSE_NEWEST refused it.
        Under BLOCK a chunk that does not fit raises BufferError (use `put`)."""
        count = len(chunk)
        if not count:
            return True
        if self._lines + count > self.capacity:
            if self.policy is OverflowPolicy.REFUSE_NEWEST:
                self._dropped(chunk)
                self._record_loss(count)
                return False
            if self.policy is OverflowPolicy.BLOCK:
                raise BufferError("the buffer is full: under BLOCK, put() waits for room")
        self._append(chunk)
        if self._lines > self.capacity:
            self._drop_oldest(self._lines - self.capacity)
        return True

    async def put(self, chunk: C) -> None:
        """Add a chunk, waiting until there is room for it (BLOCK); a chunk
        larger than the whole buffer waits for the buffer to be empty."""
        while self._lines and self._lines + len(chunk) > self.capacity:
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()
        self._append(chunk)

    def __iter__(self) -> Iterator[C]:
        """The chunks held, oldest first (a read-only look)."""
        return iter(self._chunks)

    def oldest(self) -> C | None:
        """The oldest chunk held, or None when empty."""
        return self._chunks[0] if self._chunks else None

    def take_all(self) -> list[C]:
        """Every chunk held, oldest first; the buffer is then empty."""
        chunks = list(self._chunks)
        self._chunks.clear()
        self._lines = self.bytes = 0
        self._made_room()
        return chunks

    def take(self, max_lines: int) -> list[C]:
        """The oldest chunks, up to `max_lines` lines (the last one sliced)."""
        taken: list[C] = []
        lines = 0
        chunks = self._chunks
        while chunks and lines < max_lines:
            chunk = chunks.popleft()
            room = max_lines - lines
            if len(chunk) > room:
                chunks.appendleft(chunk[room:])
                chunk = chunk[:room]
            taken.append(chunk)
            lines += len(chunk)
        self._lines -= lines
        if self._weigh is not None:
            self.bytes -= sum(map(self._weigh, taken))
        self._made_room()
        return taken

    def give_back(self, chunk: C) -> None:
        """Put lines taken but not used back at the front (a batch cut short)."""
        if len(chunk):
            self._chunks.appendleft(chunk)
            self._lines += len(chunk)
            if self._weigh is not None:
                self.bytes += self._weigh(chunk)

    def take_notice(self, app: str) -> bytes | None:
        """The in-band loss notice, once per loss; None when nothing was lost."""
        if not self._lost:
            return None
        notice = loss_notice(
            app, self._lost, self._lost_since, self.reason, self.clock(), self._code
        )
        self._lost = 0
        return notice

    def clear(self) -> int:
        """Forget every line held (not a loss: the caller counts it); returns how many."""
        held = self._lines
        self.take_all()
        return held

    def _append(self, chunk: C) -> None:
        self._chunks.append(chunk)
        self._lines += len(chunk)
        if self._weigh is not None:
            self.bytes += self._weigh(chunk)

    def _drop_oldest(self, excess: int) -> None:
        chunks = self._chunks
        weigh = self._weigh
        dropped = 0
        while len(chunks) > 1 and excess - dropped >= len(chunks[0]):
            chunk = chunks.popleft()
            dropped += len(chunk)
            if weigh is not None:
                self.bytes -= weigh(chunk)
            self._dropped(chunk)
        if dropped < excess:  # the oldest lines of one chunk go, its newest stay
            part = excess - dropped
            head = chunks[0]
            if weigh is not None:
                self.bytes -= weigh(head[:part])
            if self._on_drop is not None:
                self._on_drop(head[:part])
            chunks[0] = head[part:]
            dropped = excess
        self._lines -= dropped
        self._record_loss(dropped)

    def _dropped(self, chunk: C) -> None:
        if self._on_drop is not None:
            self._on_drop(chunk)

    def _record_loss(self, count: int) -> None:
        if not self._lost:
            self._lost_since = self.clock()
        self._lost += count
        if self._on_loss is not None:
            self._on_loss(self.component, self.reason, count)

    def _made_room(self) -> None:
        if self._room is not None:
            self._room.set()
