"""Recording rules: the dashboard and alert queries that read many series
(every app's counters) evaluated once per interval instead of per viewer.

Names follow `level:metric:operations` (Prometheus recording-rule naming).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.queries import query


@dataclass(frozen=True)
class Record:
    record: str
    query: str
    window: str

    def expr(self) -> str:
        return query(self.query, window=self.window)


APP_LOG_BYTES = Record("app:logger_app_bytes:rate5m", "apps_log_bytes_rate", "5m")
APP_ERROR_LINES_5M = Record("app:logger_app_error_lines:rate5m", "apps_error_lines_rate", "5m")
APP_ERROR_LINES_1H = Record("app:logger_app_error_lines:rate1h", "apps_error_lines_rate", "1h")
CONTAINER_CPU = Record(
    "namespace_pod_container:container_cpu_usage_seconds:rate5m", "apps_cpu_usage", "5m"
)

RECORDS = (APP_LOG_BYTES, APP_ERROR_LINES_5M, APP_ERROR_LINES_1H, CONTAINER_CPU)


def top(count: int, record: Record) -> str:
    """The `count` largest series of a recorded rate (the platform overview)."""
    return f"topk({count}, {record.record})"
