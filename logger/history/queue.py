"""The indexer's bounded queue: lines waiting to be indexed.

The logger's one bounded buffer (`logger.buffer.BoundedBuffer`) under
`OverflowPolicy.DROP_OLDEST`, as for followers and drains: ingest is never
made to wait for the index, and every line shed is counted
(`logger_discarded_events_total{component="history",reason="queue_full"}`)
and told to its app. Its chunks are `QueuedLines`: one app's lines from one
store call, with their sequence numbers (the seam with the ring needs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from logger.buffer import BoundedBuffer, LossCounter, OverflowPolicy

SHED_QUEUE_FULL = "queue_full"


@dataclass(slots=True)
class QueuedLines:
    """One app's lines from one store call, with the first one's sequence number."""

    app: str
    first_seq: int
    lines: list[bytes]
    queued_at: float
    nbytes: int = 0

    def pairs(self) -> list[tuple[int, bytes]]:
        return list(enumerate(self.lines, self.first_seq))

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, part: slice, /) -> QueuedLines:
        """The same app's lines `part` (a slice from the front or to the end),
        with the first one's sequence number."""
        start, _, _ = part.indices(len(self.lines))
        lines = self.lines[part]
        return QueuedLines(
            self.app, self.first_seq + start, lines, self.queued_at, sum(map(len, lines))
        )


@dataclass(slots=True)
class TakenBatch:
    entries: list[QueuedLines] = field(default_factory=list)
    lines: int = 0
    nbytes: int = 0

    @property
    def oldest_queued_at(self) -> float:
        return min((entry.queued_at for entry in self.entries), default=time.monotonic())


class IndexQueue:
    def __init__(
        self,
        max_lines: int,
        on_shed: Callable[[str, int], None],
        on_loss: LossCounter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_shed(app, count)` is told of every app's lines dropped;
        `on_loss(component, reason, count)` counts them."""
        self._clock = clock
        self._buffer: BoundedBuffer[QueuedLines] = BoundedBuffer(
            max_lines,
            OverflowPolicy.DROP_OLDEST,
            component="history",
            reason=SHED_QUEUE_FULL,
            on_loss=on_loss,
            weigh=_weigh,
            on_drop=lambda part: on_shed(part.app, len(part)),
        )
        self._arrived = asyncio.Event()

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def nbytes(self) -> int:
        return self._buffer.bytes

    def offer(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None:
        """Queue lines; never waits. Past the bound the oldest lines go."""
        if not lines:
            return
        # Kept by reference: the store and the other subscribers share the
        # list and none of them changes it.
        kept = lines if isinstance(lines, list) else list(lines)
        self._buffer.offer(QueuedLines(app, first_seq, kept, self._clock(), sum(map(len, kept))))
        self._arrived.set()

    def ready(self, batch_lines: int, batch_bytes: int, interval: float) -> bool:
        """A batch is due: full by size, or its oldest line waited long enough."""
        oldest = self._buffer.oldest()
        if oldest is None:
            return False
        if len(self._buffer) >= batch_lines or self._buffer.bytes >= batch_bytes:
            return True
        return self._clock() - oldest.queued_at >= interval

    async def wait(self, timeout: float) -> None:
        """Until lines arrive or `timeout` seconds pass."""
        self._arrived.clear()
        oldest = self._buffer.oldest()
        if oldest is not None:
            # Something is queued: sleep only until its batch may be due.
            timeout = max(0.0, min(timeout, timeout - (self._clock() - oldest.queued_at)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)

    def take(self, max_lines: int, max_bytes: int) -> TakenBatch:
        """The oldest lines, at most `max_lines` and (past the first chunk) `max_bytes`."""
        batch = TakenBatch()
        for index, entry in enumerate(chunks := self._buffer.take(max_lines)):
            if batch.entries and batch.nbytes + entry.nbytes > max_bytes:
                for rest in reversed(chunks[index:]):
                    self._buffer.give_back(rest)
                break
            batch.entries.append(entry)
            batch.lines += len(entry)
            batch.nbytes += entry.nbytes
        return batch

    def pending(self, app: str) -> list[tuple[int, bytes]]:
        """The app's queued lines as (sequence number, stored line)."""
        return [pair for entry in self._buffer if entry.app == app for pair in entry.pairs()]


def _weigh(entry: QueuedLines) -> int:
    return entry.nbytes
