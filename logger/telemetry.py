"""The logger's own metrics (prometheus-client) and rate-limited warnings.

Counters follow `<component>_<name>_<unit>_total`; every discarded event is
counted with a `reason`, every error with `error_type` and `stage`
(Vector's instrumentation names); prometheus-client's process and platform
collectors add `process_*` and `python_info`. Gauges that describe the store
and the tails are read at scrape time, so the hot path never updates them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from logger.store.base import StoreStats

log = logging.getLogger("logger")
# `_created` series double the exposition and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Telemetry:
    """Every metric the logger core exports, bound to one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # process_* (RSS, CPU seconds, open fds) and python_info for this process.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.received_events = Counter(
            "logger_received_events",
            "Log events received, by input.",
            ["input"],
            registry=registry,
        )
        self.received_bytes = Counter(
            "logger_received_bytes",
            "Bytes of frames received, by input.",
            ["input"],
            registry=registry,
        )
        self.stored_lines = Counter(
            "logger_stored_lines",
            "Lines written into the rings (a long message split in N counts N).",
            registry=registry,
        )
        self.discarded_events = Counter(
            "logger_discarded_events",
            "Log events or lines dropped, by the component that dropped them and why.",
            ["component", "reason"],
            registry=registry,
        )
        self.passed_over_fields = Counter(
            "logger_passed_over_fields",
            "Sources resolved with a process type or pod name that breaks the "
            "source-part rule (passed over for the next candidate), by field.",
            ["field"],
            registry=registry,
        )
        self.errors = Counter(
            "logger_errors",
            "Errors, by type and the stage they happened in.",
            ["error_type", "stage"],
            registry=registry,
        )
        self.open_connections = Gauge(
            "logger_open_connections",
            "Client connections open now, by input.",
            ["input"],
            registry=registry,
        )
        self.acks = Counter(
            "logger_acks_sent",
            "Chunk acknowledgements sent after the chunk's lines were stored.",
            registry=registry,
        )

    def error(self, error_type: str, stage: str) -> None:
        self.errors.labels(error_type=error_type, stage=stage).inc()

    def passed_over(self, field: str) -> None:
        self.passed_over_fields.labels(field=field).inc()

    def discarded(self, component: str, reason: str, count: int = 1) -> None:
        """Count lost events into `logger_discarded_events_total{component,reason}`
        (also a `logger.buffer.LossCounter`)."""
        if count:
            self.discarded_events.labels(component=component, reason=reason).inc(count)

    def watch(
        self, store_stats: Callable[[], StoreStats], tail_stats: Callable[[], TailStats]
    ) -> None:
        """Export the store's and the tails' figures, read at each scrape."""
        self.registry.register(_StateCollector(store_stats, tail_stats))


class TailStats:
    __slots__ = ("dropped_lines", "followers")

    def __init__(self, followers: int, dropped_lines: int) -> None:
        self.followers = followers
        self.dropped_lines = dropped_lines


class _StateCollector(Collector):
    def __init__(
        self, store_stats: Callable[[], StoreStats], tail_stats: Callable[[], TailStats]
    ) -> None:
        self._store_stats = store_stats
        self._tail_stats = tail_stats

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self._store_stats()
        yield GaugeMetricFamily("logger_buffered_apps", "Apps with buffered lines.", stats.apps)
        yield GaugeMetricFamily(
            "logger_buffered_lines", "Lines buffered in all rings.", stats.lines
        )
        yield GaugeMetricFamily(
            "logger_buffered_bytes",
            "Bytes of buffered lines, with per-line overhead (what the limit bounds).",
            stats.accounted_bytes,
        )
        yield GaugeMetricFamily(
            "logger_buffer_limit_bytes", "The bound on buffered bytes.", stats.max_bytes
        )
        yield CounterMetricFamily(
            "logger_ring_displaced_lines",
            "Lines displaced from full rings by newer lines (rings keep recent lines by design).",
            stats.displaced_lines,
        )
        yield CounterMetricFamily(
            "logger_evicted_apps",
            "Whole app rings evicted to keep buffered bytes under the limit.",
            stats.evicted_apps,
        )
        tails = self._tail_stats()
        yield GaugeMetricFamily("logger_followers", "Live followers connected.", tails.followers)
        yield CounterMetricFamily(
            "logger_follower_dropped_lines",
            "Lines displaced from slow followers' queues (each told in-band).",
            tails.dropped_lines,
        )


class RateLimitedLog:
    """At most one warning per key per interval, then a count of the rest."""

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log unless `key` was logged within the interval; True when logged."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        suppressed = self._suppressed.pop(key, 0)
        if len(self._last) > 1024:
            self._last.clear()
        self._last[key] = now
        if suppressed:
            log.warning(message + " (%d more like this suppressed)", *args, suppressed)
        else:
            log.warning(message, *args)
        return True
