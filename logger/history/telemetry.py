"""The history indexer's metrics.

Lines it sheds are counted on the logger's one loss counter,
`logger_discarded_events_total{component="history"}`, by `reason`
(`queue_full`, `rejected_400`, `retention`, `size_limit`, ...).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from logger.buffer import LossCounter
from logger.telemetry import Telemetry

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class HistoryTelemetry:
    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry
        registry: CollectorRegistry = telemetry.registry
        self.indexed_lines = Counter(
            "logger_history_indexed_lines",
            "Lines made searchable in the history index.",
            registry=registry,
        )
        self.indexed_bytes = Counter(
            "logger_history_indexed_bytes",
            "Bytes of stored lines made searchable in the history index.",
            registry=registry,
        )
        self.batches = Counter(
            "logger_history_batches",
            "Batches written to the history backend, by outcome (ok, retried, dropped).",
            ["outcome"],
            registry=registry,
        )
        self.lag = Histogram(
            "logger_history_lag_seconds",
            "Seconds from a line's ingest to its being searchable (oldest line of each batch).",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.last_lag = Gauge(
            "logger_history_last_lag_seconds",
            "Ingest-to-searchable lag of the latest batch written.",
            registry=registry,
        )
        self.writer_restarts = Counter(
            "logger_history_writer_restarts",
            "Embedded index writer processes started again, by reason (memory, stopped).",
            ["reason"],
            registry=registry,
        )
        self.queued_lines = Gauge(
            "logger_history_queued_lines",
            "Lines waiting to be indexed.",
            registry=registry,
        )

    def writer_restarted(self, reason: str) -> None:
        self.writer_restarts.labels(reason).inc()

    def discarded(self, reason: str, count: int) -> None:
        self._telemetry.discarded("history", reason, count)

    @property
    def loss_counter(self) -> LossCounter:
        """What the queue's bounded buffer counts its losses with."""
        return self._telemetry.discarded

    def error(self, error_type: str) -> None:
        self._telemetry.error(error_type, "history")
