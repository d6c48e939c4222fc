"""The controller's application factory: every resource is a cleanup context.

Start order: database (migrated to head), scheduler, logger client, the
VictoriaMetrics client (when configured), then a
background reconciliation of drains with the logger (retried with a bound,
so a logger that starts later is still caught up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from controller import health
from controller.api import apps, auth, drains, logs, metrics, perms
from controller.api.errors import json_errors
from controller.auth.middleware import authenticate
from controller.auth.passwords import Passwords
from controller.auth.ratelimit import AttemptLimiter
from controller.auth.sealing import load_sealer
from controller.console import pages as console
from controller.db.session import create_engine, migrate, session_factory
from controller.errors import ControllerError
from controller.keys import (
    LIMITER,
    LOGGER,
    PASSWORDS,
    PLATFORM_LOG,
    RECONCILED,
    SCHEDULER,
    SEALER,
    SESSIONS,
    SETTINGS,
)
from controller.logger_client import LoggerClient
from controller.platform_log import ForwardPlatformLog, PlatformLog
from controller.scheduler.base import Scheduler
from controller.scheduler.none import NoScheduler
from controller.settings import ControllerSettings, SchedulerKind
from controller.telemetry import TELEMETRY, ControllerTelemetry, measure_requests
from foundation.bad_requests import quiet_bad_requests

log = logging.getLogger("controller")
# Reconciliation attempts while the logger is not reachable yet, and the pause.
RECONCILE_ATTEMPTS = 30
RECONCILE_PAUSE = 1.0


def create_app(
    settings: ControllerSettings, *, platform_log: PlatformLog | None = None
) -> web.Application:
    """The controller. `platform_log` defaults to the forward protocol to
    `settings.forward_url`; `wf serve` passes its in-process logger's."""
    quiet_bad_requests()
    app = web.Application(
        middlewares=[measure_requests, json_errors, authenticate],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[TELEMETRY] = ControllerTelemetry()
    app[PASSWORDS] = Passwords(settings.password_memory_kib, settings.password_time_cost)
    app[PLATFORM_LOG] = platform_log or ForwardPlatformLog(
        settings.forward_url,
        shared_key=settings.forward_shared_key,
        ca_file=settings.forward_ca_file,
        timeout=settings.logger_timeout,
    )
    for module in (health, auth, apps, perms, logs, drains, metrics):
        app.add_routes(module.routes)
    console.setup(app)
    app.cleanup_ctx.extend(
        [_limiter, _database, _scheduler, _logger_client, metrics.metrics_backend, _reconcile]
    )
    return app


async def _limiter(app: web.Application) -> AsyncIterator[None]:
    app[LIMITER] = limiter = AttemptLimiter(app[SETTINGS])
    yield
    await limiter.close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[SEALER] = sealer = load_sealer(app[SETTINGS])
    engine = create_engine(app[SETTINGS].database_url)
    try:
        await migrate(engine, sealer=sealer)
        await drains.check_sealed_drains(session_factory(engine), sealer)
    except Exception:
        await engine.dispose()
        raise
    app[SESSIONS] = session_factory(engine)
    yield
    await engine.dispose()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    scheduler: Scheduler
    if settings.scheduler is SchedulerKind.KUBERNETES:
        # Imported only when used: the client library takes a while to load.
        from controller.scheduler.kubernetes import KubernetesScheduler, load_api_client

        api_client = await asyncio.to_thread(
            load_api_client, settings.kubeconfig, settings.in_cluster
        )
        scheduler = KubernetesScheduler(
            api_client, settings.namespace_delete_timeout, settings.kubernetes_request_timeout
        )
    else:
        scheduler = NoScheduler()
    app[SCHEDULER] = scheduler
    yield
    await scheduler.close()


async def _logger_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as session:
        app[LOGGER] = LoggerClient(settings.logger_url, session, settings.logger_timeout)
        yield


async def _reconcile(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_reconcile_until_done(app))
    app[RECONCILED] = task
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _reconcile_until_done(app: web.Application) -> None:
    for attempt in range(1, RECONCILE_ATTEMPTS + 1):
        try:
            await drains.reconcile_drains(app[SESSIONS], app[LOGGER], app[SEALER])
            return
        except ControllerError as error:
            if attempt == RECONCILE_ATTEMPTS:
                log.error("drains not reconciled with the logger: %s", error)
                return
            await asyncio.sleep(RECONCILE_PAUSE)
