"""The drains of every app: the API's add/list/remove and ingest's `deliver`.

Drains are kept in a small JSON state file (mode 0600: it holds the URLs
with their credentials and the drain tokens), rewritten atomically on every
change, so they survive a logger restart. An entry that no longer validates
is kept in the file untouched and skipped with a warning, so that one bad
entry neither stops the logger nor is silently forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from logger.app_names import app_name_problem
from logger.buffer import LossCounter
from logger.drains.base import Drain, Sink
from logger.drains.errors import (
    DrainLimitReached,
    DrainStateFileError,
    DuplicateDrain,
    InvalidAppName,
    InvalidDrainUrl,
)
from logger.drains.http import HttpSink
from logger.drains.settings import DrainSettings
from logger.drains.syslog import SharedFrames, SyslogEncoder
from logger.drains.tcp_syslog import TcpSyslogSink
from logger.drains.telemetry import DrainMetrics, DrainTelemetry
from logger.drains.udp_syslog import UdpSyslogSink
from logger.drains.url import DrainUrl, HttpFormat, parse_drain_url
from logger.drains.view import DrainView
from logger.lines import format_timestamp

log = logging.getLogger("logger.drains")

STATE_VERSION = 1
# A state file entry; `list` is a method name inside DrainRegistry.
_Entries = list[dict[str, Any]]


def sends_frames(url: DrainUrl) -> bool:
    """Whether the drain sends octet-counted RFC 5424 frames (TCP, TLS, Logplex)."""
    if url.transport == "http":
        return url.http_format is HttpFormat.LOGPLEX
    return url.transport != "udp"


def make_sink(
    url: DrainUrl,
    app: str,
    settings: DrainSettings,
    token: str,
    metrics: DrainMetrics,
    frames: SharedFrames | None = None,
) -> Sink:
    """The sink for a URL's scheme; `frames` is shared with the app's other
    drains that send frames (None: the sink encodes on its own)."""
    if url.transport == "http":
        return HttpSink(url, app, settings, token, frames)
    if url.transport == "udp":
        return UdpSyslogSink(url, app, settings, metrics)
    return TcpSyslogSink(url, app, settings, frames)


def check_app_name(app: str) -> None:
    """InvalidAppName unless `app` follows the one app-name rule (`logger.app_names`)."""
    problem = app_name_problem(app)
    if problem is not None:
        raise InvalidAppName(problem)


class DrainRegistry:
    """Every drain, by id and by app; persisted to `settings.state_file`."""

    def __init__(
        self,
        settings: DrainSettings,
        metrics_registry: CollectorRegistry,
        *,
        clock: Callable[[], int] = time.time_ns,
        on_loss: LossCounter | None = None,
    ) -> None:
        self._settings = settings
        self._telemetry = DrainTelemetry(metrics_registry)
        # Every line a drain gives up on also counts in the logger's
        # logger_discarded_events_total{component="drain"}.
        self._on_loss = on_loss
        self._clock = clock
        self._drains: dict[str, Drain] = {}
        self._tokens: dict[str, str] = {}
        # Replaced (never mutated) on change, so `deliver` iterates a snapshot.
        self._by_app: dict[str, tuple[Drain, ...]] = {}
        # Per app, the frames its drains that send frames share (encoded once
        # for all of them; see SharedFrames). Facility and hostname are global
        # settings, so one per app is enough.
        self._frames: dict[str, SharedFrames] = {}
        self._unloadable: _Entries = []
        self._lock = asyncio.Lock()
        self._started = False
        self._closed = False

    # -- the hot path ---------------------------------------------------------

    def deliver(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None:
        """Hand an app's new lines to its drains; never waits, one dict
        lookup when the app has none. Drains do not use `first_seq`."""
        drains = self._by_app.get(app)
        if drains is None:
            return
        for drain in drains:
            drain.offer(lines)

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Load the state file and start every drain's sender."""
        async with self._lock:
            if self._started:
                return
            for entry in self._read_state():
                try:
                    drain = self._build(entry)
                except (InvalidDrainUrl, InvalidAppName, KeyError, TypeError) as error:
                    known = isinstance(error, InvalidDrainUrl | InvalidAppName)
                    what = str(error) if known else "a field is missing"
                    log.warning("skipping drain %r in the state file: %s", entry.get("id"), what)
                    self._unloadable.append(entry)
                    continue
                self._attach(drain)
            self._started = True
            for drain in self._drains.values():
                await drain.start()

    async def close(self) -> None:
        """Stop every sender, after up to `flush_timeout` of delivering what is
        buffered, and take the metric families off the registry. Idempotent."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            drains = list(self._drains.values())
            self._drains.clear()
            self._by_app = {}
            self._frames = {}
            self._started = False
            await asyncio.gather(
                *(drain.close(self._settings.flush_timeout) for drain in drains),
                return_exceptions=True,
            )
            self._telemetry.unregister()

    # -- the API ----------------------------------------------------------------

    async def add(self, app: str, url: str) -> DrainView:
        """Validate and add a drain, persisting it before it starts.

        Raises InvalidAppName, InvalidDrainUrl, DuplicateDrain, DrainLimitReached,
        or DrainStateFileError when the state file cannot be written."""
        check_app_name(app)
        parsed = parse_drain_url(url)
        async with self._lock:
            existing = self._by_app.get(app, ())
            if any(drain.url.key == parsed.key for drain in existing):
                raise DuplicateDrain(f"{app} already has a drain to {parsed.redacted()}")
            if len(existing) >= self._settings.per_app:
                raise DrainLimitReached(
                    f"{app} already has {len(existing)} drains, the limit "
                    f"(WF_DRAINS_PER_APP={self._settings.per_app})"
                )
            entry = {
                "id": self._new_id(),
                "app": app,
                "url": parsed.original,
                "token": f"d.{uuid.uuid4()}",
                "created_at": format_timestamp(self._clock()),
            }
            drain = self._build(entry)
            self._attach(drain)
            try:
                self._write_state()
            except DrainStateFileError:
                self._detach(drain)
                raise
            if self._started:
                await drain.start()
        log.info("added drain %s to %s: %s", drain.id, app, parsed.redacted())
        return drain.view()

    async def remove(self, app: str, drain_id: str) -> bool:
        """Remove one drain; False when the app has no drain with that id."""
        async with self._lock:
            drain = self._drains.get(drain_id)
            if drain is None or drain.app != app:
                return False
            self._detach(drain)
            self._write_state()
        await self._dispose(drain)
        log.info("removed drain %s from %s", drain_id, app)
        return True

    async def remove_app(self, app: str) -> int:
        """Remove every drain of an app (the app was deleted); returns how many."""
        async with self._lock:
            drains = self._by_app.get(app, ())
            if not drains:
                return 0
            for drain in drains:
                self._detach(drain)
            self._write_state()
        for drain in drains:
            await self._dispose(drain)
        return len(drains)

    def list(self, app: str) -> list[DrainView]:
        """The app's drains, oldest first."""
        return [drain.view() for drain in self._by_app.get(app, ())]

    def get(self, app: str, drain_id: str) -> DrainView | None:
        drain = self._drains.get(drain_id)
        return drain.view() if drain is not None and drain.app == app else None

    def drain(self, drain_id: str) -> Drain | None:
        """The live Drain (for tests and tools: `wait_idle`, counters)."""
        return self._drains.get(drain_id)

    def shared_frames(self, app: str) -> SharedFrames | None:
        """The frames the app's drains share (for tests and tools)."""
        return self._frames.get(app)

    # -- internals --------------------------------------------------------------

    def _build(self, entry: dict[str, Any]) -> Drain:
        app, drain_id, token = str(entry["app"]), str(entry["id"]), str(entry["token"])
        check_app_name(app)
        url = parse_drain_url(str(entry["url"]))
        metrics = self._telemetry.for_drain(drain_id, app, url.scheme)
        frames = self._shared_frames(app) if sends_frames(url) else None
        sink = make_sink(url, app, self._settings, token, metrics, frames)
        drain = Drain(
            drain_id,
            app,
            url,
            sink,
            self._settings,
            metrics,
            created_at=str(entry.get("created_at", "")),
            clock=self._clock,
            on_loss=self._on_loss,
        )
        self._tokens[drain_id] = token
        return drain

    def _attach(self, drain: Drain) -> None:
        self._drains[drain.id] = drain
        by_app = dict(self._by_app)
        by_app[drain.app] = (*by_app.get(drain.app, ()), drain)
        self._by_app = by_app
        self._count_sharers(drain.app)

    def _detach(self, drain: Drain) -> None:
        self._drains.pop(drain.id, None)
        by_app = dict(self._by_app)
        rest = tuple(other for other in by_app.get(drain.app, ()) if other is not drain)
        if rest:
            by_app[drain.app] = rest
        else:
            by_app.pop(drain.app, None)
        self._by_app = by_app
        self._count_sharers(drain.app)

    def _shared_frames(self, app: str) -> SharedFrames:
        frames = self._frames.get(app)
        if frames is None:
            settings = self._settings
            encoder = SyslogEncoder(app, settings.syslog_facility, settings.syslog_hostname)
            frames = self._frames[app] = SharedFrames(encoder)
        return frames

    def _count_sharers(self, app: str) -> None:
        """Tell the app's SharedFrames how many attached drains use it; forget
        it with the last one (a removed drain's sink may still hold it)."""
        frames = self._frames.get(app)
        if frames is None:
            return
        sharers = sum(1 for drain in self._by_app.get(app, ()) if sends_frames(drain.url))
        frames.set_sharers(sharers)
        if not sharers:
            del self._frames[app]

    async def _dispose(self, drain: Drain) -> None:
        await drain.close()
        self._tokens.pop(drain.id, None)
        drain.metrics.remove()

    def _new_id(self) -> str:
        while True:
            drain_id = secrets.token_hex(4)
            if drain_id not in self._drains:
                return drain_id

    def _read_state(self) -> _Entries:
        path = self._settings.state_file
        if path is None:
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as error:
            raise DrainStateFileError(f"cannot read {path}: {error.strerror}") from None
        try:
            document = json.loads(text)
            entries = document["drains"]
            if document.get("version") != STATE_VERSION or not isinstance(entries, list):
                raise ValueError("unknown version")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DrainStateFileError(
                f"{path} is not a drains state file (version {STATE_VERSION})"
            ) from None
        return [entry for entry in entries if isinstance(entry, dict)]

    def _write_state(self) -> None:
        path = self._settings.state_file
        if path is None:
            return
        entries = [
            {
                "id": drain.id,
                "app": drain.app,
                "url": drain.url.original,
                "token": self._tokens[drain.id],
                "created_at": drain.created_at,
            }
            for drain in self._drains.values()
        ]
        document = {"version": STATE_VERSION, "drains": entries + self._unloadable}
        try:
            _write_atomically(path, json.dumps(document, indent=2).encode() + b"\n")
        except OSError as error:
            raise DrainStateFileError(f"cannot write {path}: {error.strerror}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a sibling temp file (0600), fsync it, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
