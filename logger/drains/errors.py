"""The drains' part of the logger's exception hierarchy.

LoggerError
└── DrainError                 anything about drains (never carries a secret)
    ├── InvalidDrain           a request the API answers with 400
    │   ├── InvalidDrainUrl        the URL does not parse, or its scheme or parts are not allowed
    │   ├── InvalidAppName         the app name is not a valid app name
    │   ├── DuplicateDrain         the app already has a drain with this URL
    │   ├── DrainLimitReached      the app already has the maximum number of drains
    │   └── DeniedDestination      the destination policy refuses the host (loopback, private, ...)
    ├── DrainStateFileError    the state file cannot be read or written (fails the start)
    └── DeliveryError          a sink could not take a batch (raised by sinks, seen by the sender)
        ├── RetryableDelivery      connection error, timeout, 5xx or 429: retried with backoff,
        │                          at most the sink's `retries` times, then dropped and counted
        └── RejectedDelivery       the batch is not sent again: the sink refused it (4xx other
                                   than 429), or its destination is denied at connect time

Messages are written for people and never include URL credentials, query
values or drain tokens: they name the drain by its redacted URL or its host.
Every error carries a short `reason`; for delivery errors it is the metric
label value (`kind` on retries, `reason` on drops).
"""

from __future__ import annotations

from logger.errors import LoggerError


class DrainError(LoggerError):
    """Root of the drain errors."""

    reason = "drain"


class InvalidDrain(DrainError):
    """A drain request that cannot be accepted as given (HTTP 400)."""

    reason = "invalid_drain"


class InvalidDrainUrl(InvalidDrain):
    """The drain URL does not parse, or uses a scheme or part that is not allowed."""

    reason = "invalid_url"


class InvalidAppName(InvalidDrain):
    """The app name in the request is not a valid app name."""

    reason = "invalid_app"


class DuplicateDrain(InvalidDrain):
    """The app already has a drain with the same URL."""

    reason = "duplicate"


class DrainLimitReached(InvalidDrain):
    """The app already has `WF_DRAINS_PER_APP` drains."""

    reason = "limit_reached"


class DeniedDestination(InvalidDrain):
    """The destination policy refuses the drain's host or what it resolves to."""

    reason = "destination_denied"


class DrainStateFileError(DrainError):
    """The drains state file cannot be read, parsed or written."""

    reason = "state_file"


class DeliveryError(DrainError):
    """A sink could not deliver a batch."""

    reason = "delivery"


class RetryableDelivery(DeliveryError):
    """A transient failure: the same batch is sent again after a backoff.

    `kind` classifies it for metrics (`connect`, `dns`, `tls`, `timeout`,
    `disconnected`, `http_5xx`, `http_429`, ...); `retry_after` is a delay
    the sink asked for (HTTP `Retry-After`), in seconds."""

    reason = "retryable"

    def __init__(self, message: str, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class RejectedDelivery(DeliveryError):
    """The batch is dropped for good and counted with `reason`: `http_<status>`
    when the sink refused it (`status`), else the reason given
    (`destination_denied`: the host now resolves to a denied address)."""

    reason = "rejected"

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or f"http_{status}"
