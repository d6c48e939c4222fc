"""The ingest pipeline: decoded frame -> routing -> store -> tails and sinks.

`Ingestor.ingest` returns only once every line of the frame is in the
store, which is what lets the forward server send a chunk's ack after it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from logger.forward.protocol import EventFrame
from logger.lines import platform_line
from logger.routing import Router
from logger.store.base import LogStore
from logger.tail import TailHub
from logger.telemetry import Telemetry


class LineSubscriber(Protocol):
    """Anything that takes each app's new lines after they are stored (drains)."""

    def deliver(self, app: str, lines: Sequence[bytes]) -> None: ...


class Ingestor:
    def __init__(self, router: Router, store: LogStore, hub: TailHub, telemetry: Telemetry) -> None:
        self._router = router
        self._store = store
        self._hub = hub
        self._telemetry = telemetry
        self._subscribers: list[LineSubscriber] = []
        self._stored = telemetry.stored_lines

    def add_subscriber(self, subscriber: LineSubscriber) -> None:
        self._subscribers.append(subscriber)

    def remove_subscriber(self, subscriber: LineSubscriber) -> None:
        self._subscribers.remove(subscriber)

    async def ingest(self, frame: EventFrame, input_name: str, wire_bytes: int) -> int:
        """Route and store one frame; returns the number of lines stored."""
        telemetry = self._telemetry
        telemetry.received_events.labels(input=input_name).inc(
            len(frame.entries) + frame.invalid_entries
        )
        telemetry.received_bytes.labels(input=input_name).inc(wire_bytes)
        telemetry.discarded("invalid_entry", frame.invalid_entries)
        batch = self._router.route(frame.tag, frame.entries)
        telemetry.discarded("invalid_time", batch.invalid_time)
        telemetry.discarded("no_app", batch.no_app)
        stored = 0
        for app, lines in batch.lines.items():
            stored += await self.store_lines(app, lines)
        return stored

    async def store_lines(self, app: str, lines: list[bytes]) -> int:
        """Store already formatted lines and hand them to followers and sinks."""
        first_seq = await self._store.append(app, lines)
        self._hub.publish(app, first_seq, lines)
        for subscriber in self._subscribers:
            subscriber.deliver(app, lines)
        self._stored.inc(len(lines))
        return len(lines)

    async def write_platform_line(self, app: str, source: str, message: str) -> None:
        """A line from the platform itself, e.g. `shop[controller]: app created`."""
        await self.store_lines(app, [platform_line(app, source, message, time.time_ns())])
