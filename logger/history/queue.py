"""The indexer's bounded queue: lines waiting to be indexed.

A small class of its own behind a narrow interface (offer without waiting,
take a batch, count what is shed with a reason), so that the logger's one
bounded-buffer type can replace it. Its overflow policy is drop-oldest and
record the loss: ingest is never made to wait for the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
        on_shed: Callable[[str, str, int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_shed(app, reason, count)` is told of every line dropped."""
        self._max_lines = max_lines
        self._on_shed = on_shed
        self._clock = clock
        self._entries: deque[QueuedLines] = deque()
        self._lines = 0
        self._nbytes = 0
        self._arrived = asyncio.Event()

    def __len__(self) -> int:
        return self._lines

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def offer(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None:
        """Queue lines; never waits. Past the bound the oldest lines go."""
        if not lines:
            return
        # Kept by reference: the store and the other subscribers share the
        # list and none of them changes it.
        kept = lines if isinstance(lines, list) else list(lines)
        if len(kept) > self._max_lines:  # one call larger than the whole queue
            cut = len(kept) - self._max_lines
            self._on_shed(app, SHED_QUEUE_FULL, cut)
            kept = kept[cut:]
            first_seq += cut
        entry = QueuedLines(app, first_seq, kept, self._clock(), sum(map(len, kept)))
        self._entries.append(entry)
        self._lines += len(kept)
        self._nbytes += entry.nbytes
        if self._lines > self._max_lines:
            self._shed_oldest(self._lines - self._max_lines)
        self._arrived.set()

    def ready(self, batch_lines: int, batch_bytes: int, interval: float) -> bool:
        """A batch is due: full by size, or its oldest line waited long enough."""
        if not self._entries:
            return False
        if self._lines >= batch_lines or self._nbytes >= batch_bytes:
            return True
        return self._clock() - self._entries[0].queued_at >= interval

    async def wait(self, timeout: float) -> None:
        """Until lines arrive or `timeout` seconds pass."""
        self._arrived.clear()
        if self._entries:
            # Something is queued: sleep only until its batch may be due.
            timeout = max(0.0, min(timeout, timeout - (self._clock() - self._entries[0].queued_at)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)

    def take(self, max_lines: int, max_bytes: int) -> TakenBatch:
        """The oldest lines, at most `max_lines` and (past the first) `max_bytes`."""
        batch = TakenBatch()
        entries = self._entries
        while entries and batch.lines < max_lines and batch.nbytes < max_bytes:
            entry = entries[0]
            room = max_lines - batch.lines
            if len(entry.lines) > room:
                part = QueuedLines(entry.app, entry.first_seq, entry.lines[:room], entry.queued_at)
                part.nbytes = sum(map(len, part.lines))
                entry.lines = entry.lines[room:]
                entry.first_seq += room
                entry.nbytes -= part.nbytes
                entry = part
            else:
                entries.popleft()
            batch.entries.append(entry)
            batch.lines += len(entry.lines)
            batch.nbytes += entry.nbytes
        self._lines -= batch.lines
        self._nbytes -= batch.nbytes
        return batch

    def pending(self, app: str) -> list[tuple[int, bytes]]:
        """The app's queued lines as (sequence number, stored line)."""
        return [pair for entry in self._entries if entry.app == app for pair in entry.pairs()]

    def _shed_oldest(self, count: int) -> None:
        entries = self._entries
        while count > 0 and entries:
            entry = entries[0]
            if len(entry.lines) <= count:
                entries.popleft()
                dropped = len(entry.lines)
                dropped_bytes = entry.nbytes
            else:
                dropped = count
                dropped_bytes = sum(map(len, entry.lines[:count]))
                entry.lines = entry.lines[count:]
                entry.first_seq += count
                entry.nbytes -= dropped_bytes
            self._lines -= dropped
            self._nbytes -= dropped_bytes
            count -= dropped
            self._on_shed(entry.app, SHED_QUEUE_FULL, dropped)
