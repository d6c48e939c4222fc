"""The parts of a running logger, shared by its handlers under one app key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from logger.app_metrics import AppLogCounter
from logger.config import LoggerSettings
from logger.ingest import Ingestor
from logger.store.base import LogStore
from logger.tail import TailHub
from logger.telemetry import Telemetry


@dataclass(frozen=True)
class LoggerComponents:
    settings: LoggerSettings
    telemetry: Telemetry
    store: LogStore
    hub: TailHub
    ingestor: Ingestor
    # The per-app line counters (exported on /metrics, sampled for /rates/{app}).
    app_logs: AppLogCounter
    # Why the store cannot serve now (Redis unreachable), None when it can.
    store_problem: Callable[[], str | None] = lambda: None


COMPONENTS = web.AppKey("logger_components", LoggerComponents)
READY = web.AppKey("logger_ready", asyncio.Event)
