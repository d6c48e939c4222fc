"""The root of every exception this project raises on purpose.

WorkflowError                       root: catch this to catch anything raised on purpose
├── SettingsError                   a setting is missing or invalid (raised at start);
│                                   the message names the variable, never a secret value
├── LoggerError                     logger/errors.py: everything below has a `reason`
│   ├── StoreUnavailable                Redis did not confirm a command: no ack, 503
│   ├── ForwardError                    forward-protocol input that cannot be accepted
│   │   ├── RecoverableError            the frame or entry is skipped and counted
│   │   │   └── InvalidEntry
│   │   └── FatalError                  the connection is closed; nothing else is affected
│   │       ├── FrameTooLarge
│   │       ├── MalformedStream
│   │       ├── MalformedFrame
│   │       └── HandshakeFailed
│   └── DrainError                      logger/drains/errors.py
│       ├── InvalidDrain                    400: InvalidDrainUrl, InvalidAppName,
│       │                                   DuplicateDrain, DrainLimitReached
│       ├── DrainStateFileError
│       └── DeliveryError                   RetryableDelivery, RejectedDelivery
├── MetricsError                    metrics/errors.py
│   ├── QueryError                      VictoriaMetrics rejected the query (400/422)
│   └── MetricsUnavailable              VictoriaMetrics unreachable, timed out, 5xx, garbled
└── ControllerError                 controller/errors.py: everything below has a `status`
    ├── ApiError                        BadRequest 400, Unauthorized 401, Forbidden 403,
    │                                   NotFound 404, Conflict 409, TooManyRequests 429
    └── UpstreamError                   503: SchedulerError, LoggerUnavailable,
                                        ServiceUnavailable; BadGateway 502

Each component module defines its own branch and re-exports `SettingsError`,
so `logger.errors.SettingsError`, `metrics.errors.SettingsError` and
`controller.errors.SettingsError` are this one class.

Foreign exceptions (aiohttp, httpx, OSError/ssl, msgpack, SQLAlchemy, the
Kubernetes client) are translated into this tree at one place per boundary,
listed in docs/architecture.md ("Errors"). Messages are safe to show: they
never hold a password, a token, a shared key or a URL's credentials.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Root of every error this project raises on purpose."""


class SettingsError(WorkflowError):
    """A setting is missing or invalid; the message names the variable."""

    reason = "settings"
    # What the controller's API would answer, were it ever raised inside a request.
    status = 500
