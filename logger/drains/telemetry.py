"""Drain metrics, registered on an explicit CollectorRegistry.

Every series carries `drain_id`, `app` and `scheme` (never the URL, which may
hold credentials). A drain's series are removed when the drain is removed.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge

from logger.drains.state import DrainState

_LABELS = ("drain_id", "app", "scheme")


class DrainTelemetry:
    """The metric families shared by all drains of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self.delivered_lines = Counter(
            "logger_drain_delivered_lines_total",
            "Log lines a drain's sink accepted (in-band loss notices not included).",
            _LABELS,
            registry=registry,
        )
        self.delivered_bytes = Counter(
            "logger_drain_delivered_bytes_total",
            "Bytes a drain's sink accepted, as encoded on the wire.",
            _LABELS,
            registry=registry,
        )
        self.dropped_lines = Counter(
            "logger_drain_dropped_lines_total",
            "Log lines a drain gave up on, by reason (buffer_overflow, global_buffer_full, "
            "retries_exhausted, http_<status>, destination_denied, closed, lost_at_crash, ...).",
            (*_LABELS, "reason"),
            registry=registry,
        )
        self.retries = Counter(
            "logger_drain_retries_total",
            "Delivery attempts that failed and were retried, by kind of failure.",
            (*_LABELS, "kind"),
            registry=registry,
        )
        self.truncated_lines = Counter(
            "logger_drain_truncated_lines_total",
            "Lines cut to the UDP datagram size limit.",
            _LABELS,
            registry=registry,
        )
        self.buffer_lines = Gauge(
            "logger_drain_buffer_lines",
            "Lines waiting in a drain's buffer.",
            _LABELS,
            registry=registry,
        )
        self.buffer_capacity = Gauge(
            "logger_drain_buffer_capacity_lines",
            "The size of a drain's buffer, in lines.",
            _LABELS,
            registry=registry,
        )
        self.state = Gauge(
            "logger_drain_state",
            "1 for a drain's current state, 0 for the others.",
            (*_LABELS, "state"),
            registry=registry,
        )
        self.last_error = Gauge(
            "logger_drain_last_error_timestamp_seconds",
            "When a drain last failed to deliver (Unix time); the text is in GET /drains/{app}.",
            _LABELS,
            registry=registry,
        )

    def unregister(self) -> None:
        """Take the families off the registry (the drain registry closed), so
        that a new one can register on the same CollectorRegistry."""
        for family in (
            self.delivered_lines,
            self.delivered_bytes,
            self.dropped_lines,
            self.retries,
            self.truncated_lines,
            self.buffer_lines,
            self.buffer_capacity,
            self.state,
            self.last_error,
        ):
            self._registry.unregister(family)

    def for_drain(self, drain_id: str, app: str, scheme: str) -> DrainMetrics:
        return DrainMetrics(self, (drain_id, app, scheme))


class DrainMetrics:
    """One drain's series, with the label lookups done once."""

    def __init__(self, telemetry: DrainTelemetry, labels: tuple[str, str, str]) -> None:
        self._telemetry = telemetry
        self._labels = labels
        self.delivered_lines = telemetry.delivered_lines.labels(*labels)
        self.delivered_bytes = telemetry.delivered_bytes.labels(*labels)
        self.truncated_lines = telemetry.truncated_lines.labels(*labels)
        self.buffer_lines = telemetry.buffer_lines.labels(*labels)
        self.buffer_capacity = telemetry.buffer_capacity.labels(*labels)
        self.last_error = telemetry.last_error.labels(*labels)
        self._dropped: dict[str, Counter] = {}
        self._retries: dict[str, Counter] = {}
        for state in DrainState:
            telemetry.state.labels(*labels, state.value).set(0)

    def dropped(self, reason: str, lines: int) -> None:
        child = self._dropped.get(reason)
        if child is None:
            child = self._dropped[reason] = self._telemetry.dropped_lines.labels(
                *self._labels, reason
            )
        child.inc(lines)

    def retried(self, kind: str) -> None:
        child = self._retries.get(kind)
        if child is None:
            child = self._retries[kind] = self._telemetry.retries.labels(*self._labels, kind)
        child.inc()

    def set_state(self, old: DrainState, new: DrainState) -> None:
        self._telemetry.state.labels(*self._labels, old.value).set(0)
        self._telemetry.state.labels(*self._labels, new.value).set(1)

    def remove(self) -> None:
        """Forget this drain's series (the drain was removed)."""
        telemetry = self._telemetry
        for family in (
            telemetry.delivered_lines,
            telemetry.delivered_bytes,
            telemetry.truncated_lines,
            telemetry.buffer_lines,
            telemetry.buffer_capacity,
            telemetry.last_error,
        ):
            _forget(family, self._labels)
        for reason in self._dropped:
            _forget(telemetry.dropped_lines, (*self._labels, reason))
        for kind in self._retries:
            _forget(telemetry.retries, (*self._labels, kind))
        for state in DrainState:
            _forget(telemetry.state, (*self._labels, state.value))


def _forget(family: Counter | Gauge, labels: tuple[str, ...]) -> None:
    with contextlib.suppress(KeyError):
        family.remove(*labels)
