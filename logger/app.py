"""The logger's application factory: every resource is a cleanup context."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from foundation.bad_requests import quiet_bad_requests
from logger import api, app_rates
from logger.app_metrics import AppLogCollector, AppLogCounter
from logger.components import COMPONENTS, READY, LoggerComponents
from logger.config import LoggerSettings
from logger.drains.api import DRAINS
from logger.drains.api import routes as drain_routes
from logger.drains.registry import DrainRegistry
from logger.drains.shared_set import SharedDrainSet
from logger.forward.server import ForwardServer
from logger.history.service import history_context
from logger.ingest import Ingestor
from logger.routing import Router
from logger.store.base import LogStore
from logger.store.memory import MemoryStore
from logger.store.redis import RedisStore
from logger.store.redis_feed import ReplicatedTailHub
from logger.store.redis_http import store_unavailable_as_503
from logger.tail import TailHub
from logger.telemetry import TailStats, Telemetry

log = logging.getLogger("logger")
FORWARD = web.AppKey("forward_server", ForwardServer)


def build_components(settings: LoggerSettings) -> LoggerComponents:
    telemetry = Telemetry(CollectorRegistry())
    store: LogStore
    hub: TailHub
    if settings.redis.url is not None:
        # Replicas share the rings, the sequence numbers and the follow feed.
        store = redis_store = RedisStore(
            settings.store, settings.redis, telemetry.registry, replica_id()
        )
        hub = ReplicatedTailHub(
            settings.api.follower_queue_lines,
            redis_store,
            on_loss=telemetry.discarded,
            max_total_bytes=settings.api.followers_max_bytes,
        )
    else:
        store = MemoryStore(
            settings.store,
            on_evict=lambda _app, lines: telemetry.discarded("store", "app_evicted", lines),
        )
        hub = TailHub(
            settings.api.follower_queue_lines,
            on_loss=telemetry.discarded,
            max_total_bytes=settings.api.followers_max_bytes,
        )
    app_logs = AppLogCounter(settings.metrics_max_apps)
    telemetry.registry.register(AppLogCollector(app_logs))
    router = Router(settings.max_line_bytes, app_logs, telemetry.passed_over)
    ingestor = Ingestor(router, store, hub, telemetry, app_logs)
    telemetry.watch(store.stats, lambda: TailStats(hub.follower_count, hub.dropped_lines))
    if isinstance(store, RedisStore):
        return LoggerComponents(
            settings,
            telemetry,
            store,
            hub,
            ingestor,
            app_logs,
            store_problem=lambda: store.unavailable,
        )
    return LoggerComponents(settings, telemetry, store, hub, ingestor, app_logs)


def replica_id() -> str:
    """Unique per process: a replica skips the feed messages it sent itself."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def create_app(settings: LoggerSettings, *, forward: bool = True) -> web.Application:
    """The logger as an aiohttp application; `forward=False` leaves out the
    forward listener (for handler tests that ingest directly)."""
    quiet_bad_requests()
    app = web.Application(middlewares=[store_unavailable_as_503])
    app[COMPONENTS] = build_components(settings)
    app[READY] = asyncio.Event()
    app.add_routes(api.routes)
    app.add_routes(drain_routes)
    app.add_routes(app_rates.routes)
    # The store first, so closed last: after everything that stores.
    app.cleanup_ctx.append(_store)
    if isinstance(app[COMPONENTS].store, RedisStore):
        # Connected before the forward input, closed after it (before the store).
        app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(app_rates.rate_sampler)
    # Drains and history start before the forward input so no stored line misses them.
    app.cleanup_ctx.append(_drains)
    app.cleanup_ctx.append(history_context)
    if forward:
        app.cleanup_ctx.append(_forward_listener)
    else:
        app.on_startup.append(_mark_ready)
    return app


async def _mark_ready(app: web.Application) -> None:
    app[READY].set()


async def _forward_listener(app: web.Application) -> AsyncIterator[None]:
    components = app[COMPONENTS]
    server = ForwardServer(components.settings.forward, components.ingestor, components.telemetry)
    await server.start()
    app[FORWARD] = server
    app[READY].set()
    yield
    app[READY].clear()
    await server.close()


async def _drains(app: web.Application) -> AsyncIterator[None]:
    components = app[COMPONENTS]
    telemetry = components.telemetry
    settings = components.settings
    store = components.store
    shared = (
        SharedDrainSet(settings.redis, store.replica_id, settings.drains.sync_interval)
        if isinstance(store, RedisStore)
        else None
    )
    registry = DrainRegistry(
        settings.drains, telemetry.registry, on_loss=telemetry.discarded, shared=shared
    )
    await registry.start()
    app[DRAINS] = registry
    components.ingestor.add_subscriber(registry)
    yield
    components.ingestor.remove_subscriber(registry)
    await registry.close()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    components = app[COMPONENTS]
    assert isinstance(components.store, RedisStore)
    assert isinstance(components.hub, ReplicatedTailHub)
    await components.store.start()
    await components.hub.feed.start()
    yield
    await components.hub.feed.close()


async def _store(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[COMPONENTS].store.close()
