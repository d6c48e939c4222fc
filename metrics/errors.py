"""The metrics package's one exception hierarchy.

WorkflowError (foundation/errors.py, with the whole tree)
├── SettingsError               a WF_METRICS_* or WF_VICTORIAMETRICS_* setting is invalid:
│                               the project's one SettingsError, re-exported here
└── MetricsError                root: anything else this package raises on purpose
    ├── QueryError              VictoriaMetrics rejected the query (HTTP 400 or 422);
    │                           the message is VictoriaMetrics' own. A catalog query
    │                           failing this way is a bug, not an outage: never retried
    └── MetricsUnavailable      VictoriaMetrics could not be reached (after the retries),
                                timed out, failed (5xx) or answered something that is not
                                its JSON; the request may succeed later

Messages name the server and what failed; they never hold credentials
(URLs are shown without their user info).
"""

from __future__ import annotations

from foundation.errors import SettingsError, WorkflowError

__all__ = ["MetricsError", "MetricsUnavailable", "QueryError", "SettingsError"]


class MetricsError(WorkflowError):
    """Root of every error the metrics package raises on purpose."""


class QueryError(MetricsError):
    """The server rejected the query; `status` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class MetricsUnavailable(MetricsError):
    """The server could not answer: unreachable, timed out, 5xx, or garbled."""
