"""History through the controller: since, until, query, proc and format are
passed to the logger, with the logs' own permissions, and no query reaches
another app's lines."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from logger.app import create_app as create_logger_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.drains.settings import DrainSettings
from logger.forward.settings import ForwardSettings
from logger.history.keys import HISTORY
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import format_timestamp, platform_line
from logger.store.memory import StoreSettings
from tests.controller.conftest import Client, Logger, Users
from tests.support.services import free_port

BEFORE = format_timestamp(time.time_ns() - 86400 * 10**9)


@pytest.fixture
async def logger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Logger]:
    """The conftest's logger, with a small ring and the embedded history on
    (a test parametrizes it "off", as with WF_HISTORY=off)."""
    backend = HistoryBackendKind(getattr(request, "param", "embedded"))
    forward_port = free_port()
    settings = LoggerSettings(
        forward=ForwardSettings(host="127.0.0.1", port=forward_port),
        drains=DrainSettings(state_file=None, flush_timeout=0.1, connect_timeout=1.0),
        store=StoreSettings(lines_per_app=20),
        history=HistorySettings(
            backend=backend,
            index_dir=tmp_path / "history",
            commit_interval=0.05,
        ),
    )
    app = create_logger_app(settings)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield Logger(app, server, forward_port)
    await server.close()


async def fill(logger: Logger) -> None:
    ingestor = logger.app[COMPONENTS].ingestor
    now = time.time_ns()
    for app, word in (("shop", "order"), ("bank", "secret")):
        lines = [platform_line(app, "web.1", f"{word} n{i}", now + i * 1000) for i in range(100)]
        await ingestor.store_lines(app, lines)
    deadline = time.monotonic() + 10
    while not logger.app[HISTORY].idle:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_history_params_pass_through_with_the_logs_permissions(
    client: Client, users: Users, logger: Logger
) -> None:
    reply = await client.post("/v2/apps", json={"id": "bank"}, headers=users.headers("eve"))
    assert reply.status == 201, await reply.text()
    await fill(logger)
    bob = users.headers("bob")
    reply = await client.get(
        "/v2/apps/shop/logs",
        params={"since": BEFORE, "log_lines": "1000", "proc": "web"},
        headers=bob,
    )
    assert reply.status == 200
    got = [line.rsplit(": ", 1)[1] for line in (await reply.text()).splitlines()]
    assert got == [f"order n{i}" for i in range(100)]  # the ring holds 20
    reply = await client.get(
        "/v2/apps/shop/logs",
        params={"since": BEFORE, "query": "n7 OR n42", "format": "json", "proc": "web"},
        headers=bob,
    )
    assert reply.content_type == "application/x-ndjson"
    rows = [json.loads(line) for line in (await reply.text()).splitlines()]
    assert [row["message"] for row in rows] == ["order n7", "order n42"]
    for hostile in ("app:bank", "secret", "app:bank OR order", "* OR app:bank"):
        reply = await client.get(
            "/v2/apps/shop/logs",
            params={"since": BEFORE, "query": hostile, "log_lines": "1000"},
            headers=bob,
        )
        assert "secret" not in await reply.text(), hostile
    # Only who may read an app's logs may search its history.
    reply = await client.get(
        "/v2/apps/bank/logs", params={"since": BEFORE, "query": "secret"}, headers=bob
    )
    assert reply.status == 404
    reply = await client.get(
        "/v2/apps/shop/logs", params={"since": BEFORE, "query": "(order"}, headers=bob
    )
    assert reply.status == 400
    assert "query" in (await reply.json())["detail"]
    reply = await client.get("/v2/apps/shop/logs", params={"format": "xml"}, headers=bob)
    assert reply.status == 400


@pytest.mark.parametrize("logger", ["off"], indirect=True)
async def test_history_off_is_a_501_with_a_reason(
    client: Client, users: Users, logger: Logger
) -> None:
    assert HISTORY not in logger.app
    reply = await client.get(
        "/v2/apps/shop/logs", params={"query": "order"}, headers=users.headers("alice")
    )
    assert reply.status == 501
    assert "history is off" in (await reply.json())["detail"]
