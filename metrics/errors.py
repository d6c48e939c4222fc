"""The metrics package's one exception hierarchy.

MetricsError                    root: anything this package raises on purpose
├── SettingsError               a WF_METRICS_* or WF_VICTORIAMETRICS_* setting is invalid;
│                               also a logger.errors.SettingsError, so start-up reports it
│                               like every other setting
├── QueryError                  VictoriaMetrics rejected the query (HTTP 400 or 422);
│                               the message is VictoriaMetrics' own. A catalog query
│                               failing this way is a bug, not an outage: never retried
└── MetricsUnavailable          VictoriaMetrics could not be reached (after the retries),
                                timed out, failed (5xx) or answered something that is not
                                its JSON; the request may succeed later

Messages name the server and what failed; they never hold credentials
(URLs are shown without their user info).
"""

from __future__ import annotations

from logger.errors import SettingsError as LoggerSettingsError


class MetricsError(Exception):
    """Root of every error the metrics package raises on purpose."""


class SettingsError(MetricsError, LoggerSettingsError):
    """A setting is invalid; the message names the variable."""


class QueryError(MetricsError):
    """The server rejected the query; `status` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class MetricsUnavailable(MetricsError):
    """The server could not answer: unreachable, timed out, 5xx, or garbled."""
