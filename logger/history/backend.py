"""What the indexer and the logs API need from a history backend.

Errors a write can end in, so the indexer knows what to do with a batch:
`RetryableError` (429, 5xx, connection errors: back off and retry the same
batch) and `RejectedBatch` (400 and the like: drop that batch, counted).
A search with a query the backend cannot parse is a `BadQuery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from logger.errors import LoggerError

# Lines to index: one app's consecutive stored lines and the first one's
# sequence number, (app, first_seq, lines): cheap to hand to another process.
Run = tuple[str, int, list[bytes]]


def run_count(runs: Sequence[Run]) -> int:
    return sum(len(lines) for _, _, lines in runs)


def without_first(runs: Sequence[Run], count: int) -> list[Run]:
    """The runs less their first `count` lines (those a backend already took)."""
    rest: list[Run] = []
    for app, first_seq, lines in runs:
        if count >= len(lines):
            count -= len(lines)
            continue
        rest.append((app, first_seq + count, lines[count:]))
        count = 0
    return rest


class HistoryError(LoggerError):
    """Root of the history backends' errors.

    `done`: on a failed write, how many of the batch's first documents the
    backend took before it failed (the indexer retries only the rest)."""

    done: int = 0


class RetryableError(HistoryError):
    """The backend could not take the batch now; the same batch may succeed later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedBatch(HistoryError):
    """The backend refused the batch itself; retrying it would fail again."""

    def __init__(self, message: str, reason: str = "rejected") -> None:
        super().__init__(message)
        self.reason = reason


class BadQuery(HistoryError):
    """The user's query is not one the backend can run (a 400 to the user)."""


class HistoryUnavailable(HistoryError):
    """The backend cannot be searched now (a 503 to the user)."""


@dataclass(frozen=True, slots=True)
class HistorySearch:
    """One app's lines, newest first: the app is always the logger's filter.

    `since_us`/`until_us` are inclusive bounds in microseconds, `before_seq`
    an exclusive upper bound on sequence numbers (the ring's oldest line),
    `proc` a prefix of `process.instance`, `query` the user's text."""

    app: str
    limit: int
    query: str | None = None
    proc: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    before_seq: int | None = None


class HistoryBackend(Protocol):
    name: str

    async def start(self) -> None: ...

    async def write(self, runs: Sequence[Run]) -> None:
        """Make the lines searchable; raises RetryableError or RejectedBatch
        (with `done`, how many of the first lines were taken before)."""
        ...

    async def search(self, search: HistorySearch) -> list[tuple[int, bytes]]:
        """(sequence number, stored line), newest first, at most `limit`."""
        ...

    async def delete_app(self, app: str) -> None: ...

    async def close(self) -> None: ...
