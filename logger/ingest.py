"""The ingest pipeline: decoded frame -> routing -> store -> tails and sinks.

`Ingestor.ingest` returns only once every line of the frame is in the
store, which is what lets the forward server send a chunk's ack after it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from logger.app_metrics import AppLogCounter
from logger.forward.protocol import EventFrame
from logger.lines import platform_line
from logger.routing import IMPLEMENTATION, RoutedBatch, Router, WireFrame
from logger.store.base import LogStore
from logger.tail import TailHub
from logger.telemetry import Telemetry


class LineSubscriber(Protocol):
    """Anything that takes each app's new lines after they are stored (drains,
    the history indexer); `first_seq` is the first line's sequence number.
    It must not wait: acks wait for this call."""

    def deliver(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None: ...


class Ingestor:
    def __init__(
        self,
        router: Router,
        store: LogStore,
        hub: TailHub,
        telemetry: Telemetry,
        app_logs: AppLogCounter | None = None,
    ) -> None:
        self._router = router
        self._store = store
        self._hub = hub
        self._telemetry = telemetry
        self._subscribers: list[LineSubscriber] = []
        self._stored = telemetry.stored_lines
        self._app_logs = app_logs
        # Interpreted, the wire path is slower than the decoder's typed path.
        self._routes_wire = IMPLEMENTATION == "compiled"

    def add_subscriber(self, subscriber: LineSubscriber) -> None:
        self._subscribers.append(subscriber)

    def remove_subscriber(self, subscriber: LineSubscriber) -> None:
        self._subscribers.remove(subscriber)

    async def ingest(self, frame: EventFrame, input_name: str, wire_bytes: int) -> int:
        """Route and store one frame; returns the number of lines stored."""
        received = len(frame.entries) + frame.invalid_entries
        self._received(input_name, received, frame.invalid_entries, wire_bytes)
        return await self._store_routed(self._router.route(frame.tag, frame.entries))

    async def ingest_wire(
        self, frame: bytes, input_name: str, max_payload_bytes: int
    ) -> WireFrame | None:
        """Route and store one frame straight from its bytes, when the routing
        loop is compiled and takes the frame (`Router.route_wire`); None when
        it does not, with nothing counted: decode it and `ingest` it."""
        if not self._routes_wire:
            return None
        wire = self._router.route_wire(frame, max_payload_bytes)
        if wire is not None:
            self._received(input_name, wire.entries, 0, len(frame))
            await self._store_routed(wire.batch)
        return wire

    def _received(
        self, input_name: str, events: int, invalid_entries: int, wire_bytes: int
    ) -> None:
        telemetry = self._telemetry
        telemetry.received_events.labels(input=input_name).inc(events)
        telemetry.received_bytes.labels(input=input_name).inc(wire_bytes)
        telemetry.discarded("forward", "invalid_entry", invalid_entries)

    async def _store_routed(self, batch: RoutedBatch) -> int:
        telemetry = self._telemetry
        telemetry.discarded("router", "invalid_time", batch.invalid_time)
        # An app name that breaks the rule (logger.app_names) has its own reason.
        telemetry.discarded("router", "no_app", batch.no_app - batch.invalid_app_name)
        telemetry.discarded("router", "invalid_app_name", batch.invalid_app_name)
        # The router counted lines and bytes; levels are checked once stored.
        stored = await self.store_batch(batch.lines, counted=True)
        if self._app_logs is not None and batch.level_lines:
            self._app_logs.add_levels(batch.level_lines)
        return stored

    async def store_lines(self, app: str, lines: list[bytes]) -> int:
        """Store already formatted lines and hand them to followers and sinks."""
        return await self.store_batch({app: lines})

    async def store_batch(
        self, lines_by_app: dict[str, list[bytes]], *, counted: bool = False
    ) -> int:
        """Store several apps' lines in one store call, then publish each app's.

        `counted`: the lines are already in the per-app log metrics (the
        router counts what it routes)."""
        if not lines_by_app:
            return 0
        first_seqs = await self._store.append_batch(lines_by_app)
        publish = self._hub.publish
        stored = 0
        for (app, lines), first_seq in zip(lines_by_app.items(), first_seqs, strict=True):
            publish(app, first_seq, lines)
            for subscriber in self._subscribers:
                subscriber.deliver(app, first_seq, lines)
            stored += len(lines)
        if not counted and self._app_logs is not None:
            for app, lines in lines_by_app.items():
                self._app_logs.count(app, lines)
        self._stored.inc(stored)
        return stored

    async def write_platform_line(self, app: str, source: str, message: str) -> None:
        """A line from the platform itself, e.g. `shop[controller]: app created`."""
        await self.store_lines(app, [platform_line(app, source, message, time.time_ns())])
