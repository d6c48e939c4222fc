"""The logger's one exception hierarchy.

WorkflowError (foundation/errors.py, with the whole tree)
└── LoggerError
    ├── StoreUnavailable       Redis did not confirm a command: no ack, the API answers 503
    └── ForwardError           forward-protocol input that cannot be accepted
        ├── RecoverableError   the connection stays usable; the frame or entry is skipped
        │   │                  and counted
        │   └── InvalidEntry       one entry of a frame is unusable (bad time, record not a map)
        └── FatalError         the connection is closed; nothing else is affected
            ├── FrameTooLarge      a frame (or its decompressed payload) exceeds the limit
            ├── MalformedStream    the bytes are not msgpack, or nest too deep
            ├── MalformedFrame     valid msgpack, but not a forward-protocol frame
            ├── HandshakeFailed    the shared-key or user authentication did not succeed
            └── OverBudget         the connections' shared memory budget is spent

Every error carries a short `reason` used as the metric label value.
`SettingsError` is the one of foundation/errors.py, re-exported here.
"""

from __future__ import annotations

from foundation.errors import SettingsError, WorkflowError

__all__ = [
    "FatalError",
    "ForwardError",
    "FrameTooLarge",
    "HandshakeFailed",
    "InvalidEntry",
    "LoggerError",
    "MalformedFrame",
    "MalformedStream",
    "OverBudget",
    "RecoverableError",
    "SettingsError",
    "StoreUnavailable",
]


class LoggerError(WorkflowError):
    """Root of every error the logger raises on purpose."""

    reason = "error"


class ForwardError(LoggerError):
    """Forward-protocol input that cannot be accepted."""

    reason = "forward"


class RecoverableError(ForwardError):
    """The offending frame or entry is skipped and counted; the connection stays open."""

    reason = "recoverable"


class InvalidEntry(RecoverableError):
    """One entry of a frame is unusable."""

    reason = "invalid_entry"


class FatalError(ForwardError):
    """The connection that sent this is closed."""

    reason = "fatal"


class FrameTooLarge(FatalError):
    """A frame, or its decompressed payload, exceeds the configured limit."""

    reason = "frame_too_large"


class MalformedStream(FatalError):
    """The bytes cannot be read as msgpack."""

    reason = "malformed_stream"


class MalformedFrame(FatalError):
    """A complete msgpack object that is not a forward-protocol frame."""

    reason = "malformed_frame"


class HandshakeFailed(FatalError):
    """The client did not authenticate."""

    reason = "handshake_failed"


class OverBudget(FatalError):
    """Holding this connection's unfinished frame would pass the memory
    budget of all forward connections (WF_FORWARD_BUFFER_MAX_BYTES)."""

    reason = "buffer_budget_exceeded"


class StoreUnavailable(LoggerError):
    """The shared store (Redis) did not confirm a command in time: nothing is
    acknowledged, and the logs API answers 503 until it is back."""

    reason = "store_unavailable"
