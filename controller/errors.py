"""The controller's one exception hierarchy.

WorkflowError (foundation/errors.py, with the whole tree)
├── SettingsError               a setting is missing or invalid (raised at start): the
│                               project's one SettingsError, re-exported here, so `wf serve`
│                               reports every component's settings errors alike
└── ControllerError             status 500 unless a subclass says otherwise
    ├── ApiError                    the request cannot be served as asked
    │   ├── BadRequest          400 invalid input: ids, bodies, types, sizes
    │   ├── Unauthorized        401 no token, or an unknown, expired or revoked one
    │   ├── Forbidden           403 authenticated, but not allowed (closed registration,
    │   │                           a collaborator managing permissions or destroying)
    │   ├── NotFound            404 no such object, or one the user may not see
    │   ├── Conflict            409 the id is taken (by an app or a foreign namespace)
    │   └── TooManyRequests     429 login attempts over the limit; `retry_after` seconds
    └── UpstreamError           503 a dependency failed; the request may be retried
        ├── SchedulerError          the Kubernetes API failed or did not finish in time
        ├── LoggerUnavailable       the logger's API or forward input failed
        ├── ServiceUnavailable  503 a service is not configured or not reachable
        │                           (VictoriaMetrics, for the metrics endpoints)
        └── BadGateway          502 a service answered with an error (VictoriaMetrics
                                    rejected a query: a bug in the catalog, or an
                                    incompatible server)

Every error's message is safe to show to the user: it never contains a
password, a token or a drain URL's credentials.
"""

from __future__ import annotations

from foundation.errors import SettingsError, WorkflowError

__all__ = [
    "ApiError",
    "BadGateway",
    "BadRequest",
    "Conflict",
    "ControllerError",
    "Forbidden",
    "LoggerUnavailable",
    "NotFound",
    "SchedulerError",
    "ServiceUnavailable",
    "SettingsError",
    "TooManyRequests",
    "Unauthorized",
    "UpstreamError",
]


class ControllerError(WorkflowError):
    """Root of every error the controller raises on purpose."""

    status = 500


class ApiError(ControllerError):
    status = 400


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamError(ControllerError):
    status = 503


class SchedulerError(UpstreamError):
    """The Kubernetes API failed, or a namespace did not go in time."""


class LoggerUnavailable(UpstreamError):
    """The logger could not be reached or answered with an error."""


class ServiceUnavailable(UpstreamError):
    """A service is not configured or cannot be reached; the message says which."""


class BadGateway(UpstreamError):
    """A service answered with an error instead of a result."""

    status = 502
