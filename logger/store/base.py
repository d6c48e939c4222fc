"""The store interface: per-app rings of stored lines with sequence numbers.

Callers (ingest, the logs API, tails) see only `LogStore`, so a Redis-backed
store that shares rings between replicas can replace the in-memory one
without changing them. Every method is async for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from logger.lines import line_process_instance, line_time


@dataclass(frozen=True, slots=True)
class ReadQuery:
    """Which buffered lines to read, newest last.

    `limit` counts matching lines from the newest back; -1 means all.
    `process` is a prefix of `process.instance` (so `web` matches `web.*`),
    `since` an RFC 3339 time in the contract's form, `after_seq` excludes
    every line up to and including that sequence number."""

    limit: int = 100
    process: str | None = None
    since: str | None = None
    after_seq: int | None = None

    def matches(self, stored: bytes) -> bool:
        process = self.process
        if process is not None and not line_process_instance(stored).startswith(process.encode()):
            return False
        return self.since is None or line_time(stored) >= self.since.encode()

    @property
    def filtered(self) -> bool:
        return self.process is not None or self.since is not None


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Lines as (sequence number, stored line), and the app's newest sequence
    number at the moment of reading (the point a follow continues from).

    `gone`: for a read with `after_seq`, how many lines after it the store no
    longer holds (displaced from the ring, or evicted with the app's ring)
    and so cannot return: the reader is told (`logger.buffer.gap_notice`)
    instead of finding a silent gap. Every store implements it the same way."""

    lines: list[tuple[int, bytes]]
    last_seq: int
    gone: int = 0


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Point-in-time figures and running totals, read by telemetry at scrape."""

    apps: int
    lines: int
    payload_bytes: int
    accounted_bytes: int
    max_bytes: int
    displaced_lines: int
    evicted_apps: int
    evicted_lines: int


class LogStore(Protocol):
    async def append(self, app: str, lines: list[bytes]) -> int:
        """Store lines for one app; returns the sequence number of the first."""
        ...

    async def append_batch(self, lines_by_app: Mapping[str, list[bytes]]) -> list[int]:
        """Store one frame's lines for several apps at once (one call per
        frame, not per app); returns each app's first sequence number, in order."""
        ...

    async def read(self, app: str, query: ReadQuery) -> ReadResult: ...

    async def delete(self, app: str) -> bool:
        """Forget an app's lines; False when there were none."""
        ...

    async def apps(self) -> list[str]: ...

    def stats(self) -> StoreStats: ...

    async def close(self) -> None: ...
