"""Build the configured backend and run the indexer as a cleanup context."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from logger.components import COMPONENTS
from logger.history.backend import HistoryBackend, HistoryError
from logger.history.embedded import EmbeddedIndex
from logger.history.indexer import HistoryIndexer
from logger.history.keys import HISTORY
from logger.history.quickwit import QuickwitIndex
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.history.telemetry import HistoryTelemetry

log = logging.getLogger("logger.history")


def build_backend(settings: HistorySettings, telemetry: HistoryTelemetry) -> HistoryBackend:
    if settings.backend is HistoryBackendKind.QUICKWIT:
        return QuickwitIndex(settings)
    return EmbeddedIndex(settings, telemetry.discarded, on_restart=telemetry.writer_restarted)


async def history_context(app: web.Application) -> AsyncIterator[None]:
    """Start the indexer before the forward input, so no stored line misses it."""
    components = app[COMPONENTS]
    settings = components.settings.history
    if not settings.enabled:
        yield
        return
    telemetry = HistoryTelemetry(components.telemetry)
    ingestor = components.ingestor

    async def announce(app_name: str, message: str) -> None:
        await ingestor.write_platform_line(app_name, "logger", message)

    indexer = HistoryIndexer(settings, build_backend(settings, telemetry), telemetry, announce)
    try:
        await indexer.start()
    except (OSError, ValueError, HistoryError) as error:
        # History is not the ack boundary: the logger runs on without it.
        log.error("history is off: the %s index cannot open: %s", indexer.backend.name, error)
        await indexer.backend.close()
        yield
        return
    where = settings.quickwit_url if settings.quickwit_url else str(settings.index_dir)
    log.info("history: %s index at %s", indexer.backend.name, where)
    app[HISTORY] = indexer
    ingestor.add_subscriber(indexer)
    yield
    ingestor.remove_subscriber(indexer)
    await indexer.close()
