"""A read past the ring: the index's older lines, then the ring's, in order.

The seam is the ring's oldest held sequence number, read first: lines
before it come from the index (and from the indexer's queue, for those
stored but not yet searchable), the rest from the ring. Sequence numbers
decide, so a line is never both, and none falls between.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from logger.history.backend import HistorySearch
from logger.history.indexer import HistoryIndexer
from logger.history.matcher import matching
from logger.lines import line_process, line_time, timestamp_us
from logger.store.base import LogStore, ReadQuery


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """`since`/`until` in the contract's RFC 3339 form, both inclusive."""

    limit: int
    proc: str | None = None
    since: str | None = None
    until: str | None = None
    query: str | None = None


async def read_history(
    store: LogStore, indexer: HistoryIndexer, app: str, wanted: HistoryRead, max_lines: int
) -> list[tuple[int, bytes]]:
    limit = max_lines if wanted.limit < 0 else min(wanted.limit, max_lines)
    if limit == 0:
        return []
    ring = await store.read(app, ReadQuery(limit=-1))
    oldest = ring.lines[0][0] if ring.lines else ring.last_seq + 1
    recent = await _matching(app, wanted, [pair for pair in ring.lines if _keep(wanted, pair[1])])
    if len(recent) >= limit:
        return recent[-limit:]
    need = limit - len(recent)
    # The queue first, then the index: a batch written in between is in
    # both (and counted once), never in neither.
    queued = [pair for pair in indexer.pending(app) if pair[0] < oldest and _keep(wanted, pair[1])]
    queued = await _matching(app, wanted, queued)
    hits = await indexer.backend.search(
        HistorySearch(
            app=app,
            limit=need,
            query=wanted.query,
            proc=wanted.proc,
            since_us=None if wanted.since is None else timestamp_us(wanted.since),
            until_us=None if wanted.until is None else timestamp_us(wanted.until),
            before_seq=oldest,
        )
    )
    older = dict(hits)
    older.update(queued)
    return sorted(older.items())[-need:] + recent


def _keep(wanted: HistoryRead, stored: bytes) -> bool:
    if wanted.proc is not None and not line_process(stored).startswith(wanted.proc.encode()):
        return False
    time = line_time(stored)
    if wanted.since is not None and time < wanted.since.encode():
        return False
    return wanted.until is None or time <= wanted.until.encode()


async def _matching(
    app: str, wanted: HistoryRead, pairs: list[tuple[int, bytes]]
) -> list[tuple[int, bytes]]:
    if wanted.query is None or not pairs:
        return pairs
    return await asyncio.to_thread(matching, app, wanted.query, pairs)
