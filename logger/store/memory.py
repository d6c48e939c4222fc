"""The embedded store: per-app rings in this process, bounded in total.

Two bounds, each a setting: lines per app (the ring's capacity) and bytes
in all (payload plus per-line overhead). Past the byte bound the apps
written least recently are evicted whole, and counted. The last sequence
number of an evicted ring is remembered (a bounded map), so that a reader
resuming past it is told how many lines went with it (`ReadResult.gone`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

from foundation.settings import Integer, Setting, Size, declared, from_environ
from logger.store.base import ReadQuery, ReadResult, StoreStats
from logger.store.ring import LINE_OVERHEAD_BYTES, AppRing


@dataclass(frozen=True)
class StoreSettings:
    lines_per_app: int = declared(
        Setting(
            "WF_LOGGER_LINES_PER_APP",
            Integer(1),
            1000,
            "Lines kept per app.",
            flag="--lines-per-app",
        )
    )
    max_bytes: int = declared(
        Setting(
            "WF_LOGGER_MAX_BUFFER_BYTES",
            Size(1 << 16),
            256 << 20,
            "Bound on all buffered lines; past it the apps written least recently go.",
            flag="--max-buffer-bytes",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StoreSettings:
        return from_environ(cls, environ)


def initial_seq() -> int:
    """Sequence numbers start at the current time in microseconds, so that
    they keep increasing across an app's eviction or a logger restart and a
    client resuming with `after_seq` never mistakes new lines for old ones."""
    return time.time_ns() // 1000


# Evicted apps whose last sequence number is remembered for `gone`.
EVICTED_MEMORY = 10_000


class MemoryStore:
    def __init__(
        self, settings: StoreSettings, on_evict: Callable[[str, int], None] | None = None
    ) -> None:
        self._settings = settings
        self._on_evict = on_evict
        self._rings: OrderedDict[str, AppRing] = OrderedDict()  # least recently written first
        self._accounted_bytes = 0
        self._payload_bytes = 0
        self._displaced_lines = 0
        self._evicted_apps = 0
        self._evicted_lines = 0
        # app -> the last sequence number its evicted ring had
        self._evicted_last_seq: OrderedDict[str, int] = OrderedDict()

    async def append(self, app: str, lines: list[bytes]) -> int:
        return (await self.append_batch({app: lines}))[0]

    async def append_batch(self, lines_by_app: Mapping[str, list[bytes]]) -> list[int]:
        rings = self._rings
        first_seqs = []
        for app, lines in lines_by_app.items():
            ring = rings.get(app)
            if ring is None:
                ring = rings[app] = AppRing(self._settings.lines_per_app, initial_seq())
            else:
                rings.move_to_end(app)
            first_seq, displaced, payload_delta = ring.append(lines)
            self._payload_bytes += payload_delta
            self._accounted_bytes += payload_delta + LINE_OVERHEAD_BYTES * (len(lines) - displaced)
            self._displaced_lines += displaced
            first_seqs.append(first_seq)
        if self._accounted_bytes > self._settings.max_bytes:
            self._evict(keep=lines_by_app.keys())
        return first_seqs

    async def read(self, app: str, query: ReadQuery) -> ReadResult:
        ring = self._rings.get(app)
        if ring is None:
            last_seq = initial_seq() - 1 if query.after_seq is None else query.after_seq
            return ReadResult([], last_seq, self._gone_evicted(app, query.after_seq))
        result = ring.read(query)
        if query.after_seq is not None and query.after_seq < ring.start_seq - 1:
            # The resume point is in an earlier ring of this app, evicted since.
            evicted = self._gone_evicted(app, query.after_seq)
            if evicted:
                result = replace(result, gone=result.gone + evicted)
        return result

    def _gone_evicted(self, app: str, after_seq: int | None) -> int:
        last = self._evicted_last_seq.get(app)
        if after_seq is None or last is None:
            return 0
        return max(0, last - after_seq)

    async def delete(self, app: str) -> bool:
        ring = self._rings.pop(app, None)
        self._evicted_last_seq.pop(app, None)  # deleted on purpose: not a loss
        if ring is None:
            return False
        self._forget(ring)
        return True

    async def apps(self) -> list[str]:
        return list(self._rings)

    def stats(self) -> StoreStats:
        return StoreStats(
            apps=len(self._rings),
            lines=sum(len(ring) for ring in self._rings.values()),
            payload_bytes=self._payload_bytes,
            accounted_bytes=self._accounted_bytes,
            max_bytes=self._settings.max_bytes,
            displaced_lines=self._displaced_lines,
            evicted_apps=self._evicted_apps,
            evicted_lines=self._evicted_lines,
        )

    async def close(self) -> None:
        self._rings.clear()

    def _evict(self, keep: Collection[str]) -> None:
        """Evict the least recently written apps, never those in `keep` (just written)."""
        while self._accounted_bytes > self._settings.max_bytes and len(self._rings) > 1:
            app, ring = next(iter(self._rings.items()))
            if app in keep:
                break
            del self._rings[app]
            self._evicted_apps += 1
            self._evicted_lines += len(ring)
            self._forget(ring)
            self._evicted_last_seq[app] = ring.last_seq
            self._evicted_last_seq.move_to_end(app)
            if len(self._evicted_last_seq) > EVICTED_MEMORY:
                self._evicted_last_seq.popitem(last=False)
            if self._on_evict is not None:
                self._on_evict(app, len(ring))

    def _forget(self, ring: AppRing) -> None:
        self._accounted_bytes -= ring.accounted_bytes
        self._payload_bytes -= ring.payload_bytes
