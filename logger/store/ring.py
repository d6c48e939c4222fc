"""One app's ring of recent lines.

Lines are kept as the `bytes` objects routing produced, in a deque bounded
by `capacity`; sequence numbers are implicit (the newest line's number
minus its distance from the end), so a line costs its bytes object and one
deque slot, nothing more.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from logger.store.base import ReadQuery, ReadResult

# sys.getsizeof(b"") plus the deque slot: what a line costs beyond its bytes.
LINE_OVERHEAD_BYTES = 33 + 8


class AppRing:
    __slots__ = ("_capacity", "_lines", "next_seq", "payload_bytes", "start_seq")

    def __init__(self, capacity: int, first_seq: int) -> None:
        self._capacity = capacity
        self._lines: deque[bytes] = deque(maxlen=capacity)
        self.start_seq = first_seq  # the ring's first line ever
        self.next_seq = first_seq
        self.payload_bytes = 0

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    @property
    def first_held_seq(self) -> int:
        return self.next_seq - len(self._lines)

    def gone_after(self, after_seq: int) -> int:
        """Lines of this ring after `after_seq` that it no longer holds."""
        start = max(after_seq + 1, self.start_seq)
        return max(0, self.first_held_seq - start)

    @property
    def accounted_bytes(self) -> int:
        return self.payload_bytes + LINE_OVERHEAD_BYTES * len(self._lines)

    def append(self, lines: list[bytes]) -> tuple[int, int, int]:
        """Append; returns (first sequence number, lines displaced, the change
        in payload bytes). Called once per app per frame: kept lean."""
        ring = self._lines
        held = len(ring)
        count = len(lines)
        displaced = held + count - self._capacity
        payload_delta = sum(map(len, lines))
        if displaced > 0:
            if displaced <= held:
                payload_delta -= sum(map(len, islice(ring, displaced)))
            else:  # the batch alone overflows the ring
                payload_delta -= sum(map(len, ring)) + sum(map(len, lines[: displaced - held]))
        else:
            displaced = 0
        first_seq = self.next_seq
        ring.extend(lines)
        self.next_seq = first_seq + count
        self.payload_bytes += payload_delta
        return first_seq, displaced, payload_delta

    def read(self, query: ReadQuery) -> ReadResult:
        ring = self._lines
        last_seq = self.next_seq - 1
        first_seq = self.next_seq - len(ring)
        start = 0
        if query.after_seq is not None and query.after_seq >= first_seq:
            start = min(len(ring), query.after_seq - first_seq + 1)
        limit = query.limit
        if not query.filtered:
            count = len(ring) - start
            if 0 <= limit < count:
                start += count - limit
            return ReadResult(
                [(first_seq + start + i, line) for i, line in enumerate(islice(ring, start, None))],
                last_seq,
                self._gone(query),
            )
        picked: list[tuple[int, bytes]] = []
        seq = last_seq
        for line in reversed(ring):
            if seq < first_seq + start or (0 <= limit <= len(picked)):
                break
            if query.matches(line):
                picked.append((seq, line))
            seq -= 1
        picked.reverse()
        return ReadResult(picked, last_seq, self._gone(query))

    def _gone(self, query: ReadQuery) -> int:
        return 0 if query.after_seq is None else self.gone_after(query.after_seq)
