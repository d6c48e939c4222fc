"""The app key under which a running logger keeps its history indexer."""

from __future__ import annotations

from aiohttp import web

from logger.history.indexer import HistoryIndexer

HISTORY = web.AppKey("history_indexer", HistoryIndexer)
