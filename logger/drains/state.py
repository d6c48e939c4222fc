"""A drain's connection state, as shown by the API and the state metric."""

from __future__ import annotations

from enum import StrEnum


class DrainState(StrEnum):
    """Where a drain's sender is; one value is 1 in `logger_drain_state`."""

    IDLE = "idle"
    """Started, nothing sent yet (the connection is opened with the first batch)."""

    CONNECTED = "connected"
    """The last delivery succeeded."""

    BACKING_OFF = "backing_off"
    """The last attempt failed; the batch is retried after a paced, jittered delay."""

    CLOSED = "closed"
    """The drain was removed or the logger is shutting down."""
