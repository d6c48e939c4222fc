"""The set of drains: the API's add/list/remove and ingest's `deliver`.

What is kept on disk is `logger.drains.persistence` (the state file, and
the checkpoint of undelivered lines reported after a crash); the sink for a
URL comes from `logger.drains.sinks.factory`. An entry of the state file
that no longer validates is kept in the file untouched and skipped with a
warning, so that one bad entry neither stops the logger nor is silently
forgotten.

With Redis (`WF_REDIS_URL`) the set is cluster state instead of a file:
`logger.drains.shared_set` keeps it in Redis, every replica loads it at
start and follows its changes, and each replica reports its own drains'
state so that the API shows them per replica and summed.

Every drain connects through one destination policy
(`logger.drains.destinations`, checked here at add time and by the sinks at
each connection) and buffers within one `ByteBudget`
(`WF_DRAINS_MAX_BUFFER_BYTES`) shared by all drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from logger.app_names import app_name_problem
from logger.buffer import ByteBudget, LossCounter
from logger.drains.base import COMPONENT, Drain
from logger.drains.cluster_view import merged, reported
from logger.drains.errors import (
    DeniedDestination,
    DrainLimitReached,
    DuplicateDrain,
    InvalidAppName,
    InvalidDrainUrl,
)
from logger.drains.persistence import DrainStateFile, Entries, PendingCheckpoint
from logger.drains.settings import DrainSettings
from logger.drains.shared_set import DrainSetUnavailable, SharedDrainSet
from logger.drains.sinks.factory import make_sink, sends_frames
from logger.drains.sinks.syslog.encoder import SharedFrames, SyslogEncoder
from logger.drains.telemetry import DrainTelemetry
from logger.drains.url import DrainUrl, parse_drain_url
from logger.drains.view import DrainView
from logger.lines import format_timestamp

log = logging.getLogger("logger.drains")

# Lines a previous run held and never delivered (it did not shut down).
LOST_AT_CRASH = "lost_at_crash"
# Who asked for a drain (the controller's own id for it), shown back; bounded.
MAX_ORIGIN_CHARS = 100


def check_app_name(app: str) -> None:
    """InvalidAppName unless `app` follows the one app-name rule (`logger.app_names`)."""
    problem = app_name_problem(app)
    if problem is not None:
        raise InvalidAppName(problem)


def check_origin(origin: str | None) -> None:
    """InvalidDrainUrl unless `origin` is absent or a short printable name."""
    if origin is not None and (
        not origin or len(origin) > MAX_ORIGIN_CHARS or not origin.isprintable()
    ):
        raise InvalidDrainUrl(f"a drain's origin is 1 to {MAX_ORIGIN_CHARS} printable characters")


class DrainRegistry:
    """Every drain, by id and by app; persisted to `settings.state_file`, or
    shared by every replica through `shared` (Redis)."""

    def __init__(
        self,
        settings: DrainSettings,
        metrics_registry: CollectorRegistry,
        *,
        clock: Callable[[], int] = time.time_ns,
        on_loss: LossCounter | None = None,
        shared: SharedDrainSet | None = None,
    ) -> None:
        self._settings = settings
        self._shared = shared
        self._telemetry = DrainTelemetry(metrics_registry)
        # Every line a drain gives up on also counts in the logger's
        # logger_discarded_events_total{component="drain"}.
        self._on_loss = on_loss
        self._clock = clock
        self._drains: dict[str, Drain] = {}
        # Each drain's entry as persisted (URL, token, origin, created_at).
        self._entries: dict[str, dict[str, Any]] = {}
        # Replaced (never mutated) on change, so `deliver` iterates a snapshot.
        self._by_app: dict[str, tuple[Drain, ...]] = {}
        # Per app, the frames its drains that send frames share (encoded once
        # for all of them; see SharedFrames). Facility and hostname are global
        # settings, so one per app is enough.
        self._frames: dict[str, SharedFrames] = {}
        self._unloadable: Entries = []
        self._state = DrainStateFile(settings.state_file)
        self._checkpoint = PendingCheckpoint(settings.state_file)
        self._checkpoints: asyncio.Task[None] | None = None
        # Shared set only: the version last loaded, the follower task, and
        # the ids of entries that did not validate here (warned about once).
        self._version = -1
        self._follower: asyncio.Task[None] | None = None
        self._skipped: set[str] = set()
        self._policy = settings.destination_policy()
        self._budget = ByteBudget(settings.max_buffer_bytes)
        self._lock = asyncio.Lock()
        self._started = False
        self._closed = False

    # -- the hot path ---------------------------------------------------------

    def deliver(self, app: str, first_seq: int, lines: Sequence[bytes]) -> None:
        """Hand an app's new lines to its drains; never waits, one dict
        lookup when the app has none. Drains do not use `first_seq`. (Ingest's
        subscriber entry point: keep it this thin.)"""
        drains = self._by_app.get(app)
        if drains is None:
            return
        for drain in drains:
            drain.offer(lines)

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Load the state file, report what a previous run could not deliver,
        and start every drain's sender and the checkpoints."""
        async with self._lock:
            if self._started:
                return
            if self._shared is None:
                for entry in self._state.read():
                    drain = self._loaded(entry, "the state file")
                    if drain is None:
                        self._unloadable.append(entry)
                    else:
                        self._attach(drain)
            else:
                await self._load_shared()
            self._report_previous_run()
            self._started = True
            for drain in self._drains.values():
                await drain.start()
            if self._checkpoint.path is not None:
                self._checkpoints = asyncio.create_task(
                    self._write_checkpoints(), name="drain-checkpoints"
                )
            if self._shared is not None:
                self._follower = asyncio.create_task(
                    self._follow_shared(self._shared), name="drain-set-follower"
                )

    def _loaded(self, entry: dict[str, Any], where: str) -> Drain | None:
        """The drain of a persisted entry; None (with a warning) when it
        does not validate here."""
        try:
            return self._build(entry)
        except (InvalidDrainUrl, InvalidAppName, DeniedDestination, KeyError, TypeError) as error:
            known = isinstance(error, InvalidDrainUrl | InvalidAppName | DeniedDestination)
            what = str(error) if known else "a field is missing"
            log.warning("skipping drain %r in %s: %s", entry.get("id"), where, what)
            return None

    async def close(self) -> None:
        """Stop every sender, after up to `flush_timeout` of delivering what is
        buffered, and take the metric families off the registry. Idempotent."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._follower is not None:
                self._follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._follower
            if self._checkpoints is not None:
                self._checkpoints.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._checkpoints
            drains = list(self._drains.values())
            self._drains.clear()
            self._by_app = {}
            self._frames = {}
            self._started = False
            await asyncio.gather(
                *(drain.close(self._settings.flush_timeout) for drain in drains),
                return_exceptions=True,
            )
            # What was left is counted as `closed`: a clean end leaves no checkpoint.
            with contextlib.suppress(OSError):
                self._checkpoint.remove()
            if self._shared is not None:
                await self._shared.close()
            self._telemetry.unregister()

    # -- the API ----------------------------------------------------------------

    async def add(self, app: str, url: str, origin: str | None = None) -> DrainView:
        """Validate and add a drain, persisting it before it starts;
        `origin` names who asked (the controller's id for it).

        Raises InvalidAppName, InvalidDrainUrl, DeniedDestination (the host,
        or what it resolves to now, is not a public address and not allowed),
        DuplicateDrain, DrainLimitReached, or DrainStateFileError when the
        state file (or, shared, Redis) cannot be written."""
        check_app_name(app)
        check_origin(origin)
        parsed = parse_drain_url(url)
        await self._policy.check(parsed.host, parsed.port)
        async with self._lock:
            entry: dict[str, Any] = {
                "id": self._new_id(),
                "app": app,
                "url": parsed.original,
                "token": f"d.{uuid.uuid4()}",
                "created_at": format_timestamp(self._clock()),
            }
            if origin is not None:
                entry["origin"] = origin
            if self._shared is None:
                self._check_room(app, parsed, [drain.url for drain in self._by_app.get(app, ())])
            drain = self._build(entry)
            try:
                if self._shared is None:
                    self._attach(drain)
                    self._write_state()
                else:
                    await self._shared.add(
                        entry, lambda current: self._check_shared(app, parsed, current)
                    )
                    self._attach(drain)
            except BaseException:
                self._detach(drain)
                await self._dispose(drain)
                raise
            if self._started:
                await drain.start()
        log.info("added drain %s to %s: %s", drain.id, app, parsed.redacted())
        return drain.view()

    def _check_room(self, app: str, parsed: DrainUrl, existing: Sequence[DrainUrl]) -> None:
        if any(url.key == parsed.key for url in existing):
            raise DuplicateDrain(f"{app} already has a drain to {parsed.redacted()}")
        if len(existing) >= self._settings.per_app:
            raise DrainLimitReached(
                f"{app} already has {len(existing)} drains, the limit "
                f"(WF_DRAINS_PER_APP={self._settings.per_app})"
            )

    def _check_shared(self, app: str, parsed: DrainUrl, current: Entries) -> None:
        existing = []
        for entry in current:
            with contextlib.suppress(InvalidDrainUrl, KeyError):
                existing.append(parse_drain_url(str(entry["url"])))
        self._check_room(app, parsed, existing)

    async def remove(self, app: str, drain_id: str) -> bool:
        """Remove one drain; False when the app has no drain with that id."""
        async with self._lock:
            drain = self._drains.get(drain_id)
            if drain is not None and drain.app != app:
                drain = None
            # Shared, the set may hold it before this replica loaded it.
            in_shared = self._shared is not None and await self._shared.remove(app, [drain_id])
            if drain is None and not in_shared:
                return False
            if drain is not None:
                self._detach(drain)
            self._write_state()
        if drain is not None:
            await self._dispose(drain)
        log.info("removed drain %s from %s", drain_id, app)
        return True

    async def remove_app(self, app: str) -> int:
        """Remove every drain of an app (the app was deleted); returns how many."""
        async with self._lock:
            drains = self._by_app.get(app, ())
            removed = len(drains)
            if self._shared is not None:
                removed = max(removed, await self._shared.remove(app))
            if not removed:
                return 0
            for drain in drains:
                self._detach(drain)
            self._write_state()
        for drain in drains:
            await self._dispose(drain)
        return removed

    async def describe(self, app: str, drain_id: str | None = None) -> list[dict[str, Any]]:
        """The app's drains (or the one `drain_id`) as the API shows them;
        shared, with every replica's state under `replicas` and the
        counters summed (`logger.drains.cluster_view`)."""
        drains = [
            drain for drain in self._by_app.get(app, ()) if drain_id is None or drain.id == drain_id
        ]
        shown = []
        for drain in drains:
            view = drain.view().to_json()
            view["origin"] = self._entries.get(drain.id, {}).get("origin")
            shown.append(view)
        if self._shared is None or not shown:
            return shown
        try:
            reports = await self._shared.reports([view["id"] for view in shown])
        except DrainSetUnavailable as error:
            log.warning("drains of %s shown without the other replicas: %s", app, error)
            return [{**view, "replicas": None} for view in shown]
        replica = self._shared.replica
        return [merged(view, replica, reports.get(view["id"], {})) for view in shown]

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

    # -- the shared set ---------------------------------------------------------

    async def _load_shared(self) -> None:
        """Make the live drains exactly the shared set (at start, and when
        its version moved). Redis unreachable at start is not fatal: the
        follower loads the set once it answers."""
        assert self._shared is not None
        try:
            version, entries = await self._shared.entries()
        except DrainSetUnavailable as error:
            log.warning("drains not loaded yet: %s", error)
            return
        if version == self._version:
            return
        wanted = {str(entry.get("id")): entry for entry in entries}
        gone = [drain for drain_id, drain in self._drains.items() if drain_id not in wanted]
        for drain in gone:
            self._detach(drain)
        added = []
        for drain_id, entry in wanted.items():
            if drain_id in self._drains or drain_id in self._skipped:
                continue
            loaded = self._loaded(entry, "the shared drain set")
            if loaded is None:
                self._skipped.add(drain_id)
                continue
            self._attach(loaded)
            added.append(loaded)
        self._version = version
        if self._started:
            for drain in added:
                await drain.start()
        for drain in gone:
            await self._dispose(drain)
        if added or gone:
            log.info("drains follow the shared set: %d added, %d removed", len(added), len(gone))

    async def _follow_shared(self, shared: SharedDrainSet) -> None:
        """Reload the set when a change is announced or its version moved;
        report this replica's drains every sync interval."""
        interval = self._settings.sync_interval
        last_report = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                async for announced in shared.changes():
                    if announced or await shared.version() != self._version:
                        async with self._lock:
                            await self._load_shared()
                    if loop.time() - last_report >= interval:
                        await shared.report(self._reports())
                        last_report = loop.time()
            except (RedisError, OSError, DrainSetUnavailable) as error:
                log.warning(
                    "drains lost Redis (%s); following the shared set again in %.1f s",
                    type(error).__name__,
                    interval,
                )
            await asyncio.sleep(interval)  # until close() cancels it

    def _reports(self) -> dict[str, dict[str, Any]]:
        return {drain.id: reported(drain.view().to_json()) for drain in self._drains.values()}

    # -- internals --------------------------------------------------------------

    @property
    def budget(self) -> ByteBudget:
        """The byte budget all drains' buffers share (for tests and tools)."""
        return self._budget

    def _build(self, entry: dict[str, Any]) -> Drain:
        app, drain_id, token = str(entry["app"]), str(entry["id"]), str(entry["token"])
        check_app_name(app)
        url = parse_drain_url(str(entry["url"]))
        self._policy.check_host(url.host)
        metrics = self._telemetry.for_drain(drain_id, app, url.scheme)
        frames = self._shared_frames(app) if sends_frames(url) else None
        sink = make_sink(url, app, self._settings, token, metrics, self._policy, frames)
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
            budget=self._budget,
        )
        self._entries[drain_id] = dict(entry)
        return drain

    def _report_previous_run(self) -> None:
        """Count and log what the previous run held undelivered when it ended
        without shutting down (persistence.PendingCheckpoint)."""
        for lost in self._checkpoint.previous_run():
            log.warning(
                "drain %s of %s: the previous run ended without shutting down and "
                "could not deliver %d lines (held at its last checkpoint, %s)",
                lost.drain_id,
                lost.app,
                lost.lines,
                lost.at or "unknown time",
            )
            drain = self._drains.get(lost.drain_id)
            if drain is not None:
                drain.count_drop(LOST_AT_CRASH, lost.lines)
            elif self._on_loss is not None:
                self._on_loss(COMPONENT, LOST_AT_CRASH, lost.lines)
        with contextlib.suppress(OSError):
            self._checkpoint.remove()

    async def _write_checkpoints(self) -> None:
        interval = self._settings.checkpoint_interval
        while True:
            await asyncio.sleep(interval)
            held = {drain.id: (drain.app, drain.pending_lines) for drain in self._drains.values()}
            try:
                self._checkpoint.write(held, format_timestamp(self._clock()))
            except OSError as error:
                log.warning(
                    "cannot write the drains checkpoint %s: %s",
                    self._checkpoint.path,
                    error.strerror,
                )

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
            syslog = self._settings.syslog
            encoder = SyslogEncoder(app, syslog.facility, syslog.hostname)
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
        self._entries.pop(drain.id, None)
        drain.metrics.remove()

    def _new_id(self) -> str:
        while True:
            drain_id = secrets.token_hex(4)
            if drain_id not in self._drains:
                return drain_id

    def _write_state(self) -> None:
        path = self._settings.state_file
        if path is None or self._shared is not None:
            return
        entries = [self._entries[drain_id] for drain_id in self._drains]
        self._state.write(entries + self._unloadable)
