"""Logs through the controller: HTTP reads and the WebSocket relay
(history, follow, the end with 1000, and the error close codes)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from controller.api import logs as logs_api
from logger.components import COMPONENTS
from tests.controller.conftest import Client, Logger, Users


async def write(logger: Logger, app: str, process: str, message: str) -> None:
    await logger.app[COMPONENTS].ingestor.write_platform_line(app, process, message)


def messages(lines: list[str]) -> list[str]:
    return [line.split(" ", 1)[1] for line in lines]


async def test_http_logs_text_and_proc_filter(client: Client, users: Users, logger: Logger) -> None:
    for index in range(3):
        await write(logger, "shop", "web", f"GET /{index}")
    await write(logger, "shop", "worker", "job done")
    headers = users.headers("bob")
    reply = await client.get("/v2/apps/shop/logs?log_lines=2", headers=headers)
    assert reply.status == 200
    assert reply.content_type == "text/plain"
    assert messages((await reply.text()).splitlines()) == [
        "shop[web]: GET /2",
        "shop[worker]: job done",
    ]
    reply = await client.get("/v2/apps/shop/logs?log_lines=10&proc=web", headers=headers)
    assert messages((await reply.text()).splitlines()) == [f"shop[web]: GET /{i}" for i in range(3)]
    for query in ("log_lines=-1", "log_lines=10001", f"proc={'p' * 101}"):
        reply = await client.get(f"/v2/apps/shop/logs?{query}", headers=headers)
        assert reply.status == 400, query


async def test_websocket_follow_relays_history_then_live_and_ends_with_1000(
    client: Client, users: Users, logger: Logger
) -> None:
    await write(logger, "shop", "web", "before")
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=users.headers("alice"))
    await ws.send_json({"lines": 1, "follow": True, "timeout": 1.5, "proc": "web"})
    first = await ws.receive(timeout=5)
    assert messages([first.data]) == ["shop[web]: before"]
    await write(logger, "shop", "worker", "not web")
    await write(logger, "shop", "web", "live")
    second = await ws.receive(timeout=5)
    assert messages([second.data]) == ["shop[web]: live"]
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1000


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "the first frame must be a JSON object"),
        ("[1]", "the first frame must be a JSON object"),
        ('{"lines": "ten"}', "lines must be a whole number"),
        ('{"lines": 1.5}', "lines must be a whole number"),
        ('{"follow": "yes"}', "follow must be true or false"),
        ('{"timeout": 0}', "timeout must be a number of seconds above 0"),
        ('{"timeout": true}', "timeout must be a number of seconds above 0"),
        ('{"proc": 5}', "proc must be a string"),
        ('{"lines": 99999}', "log_lines must be from 0 to 10000"),
    ],
)
async def test_websocket_bad_request_frame_closes_4400(
    client: Client, users: Users, frame: str, reason: str
) -> None:
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=users.headers("alice"))
    await ws.send_str(frame)
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert (ws.close_code, message.extra) == (4400, reason)


async def test_websocket_without_request_frame_closes_4408(
    client: Client, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs_api, "REQUEST_FRAME_TIMEOUT", 0.2)
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=users.headers("alice"))
    message = await ws.receive(timeout=5)
    assert (message.type, ws.close_code) == (aiohttp.WSMsgType.CLOSE, 4408)


async def test_websocket_logger_down_closes_1011(
    client: Client, users: Users, logger: Logger
) -> None:
    await logger.server.close()
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=users.headers("alice"))
    await ws.send_json({"lines": 5, "follow": True, "timeout": 5})
    message = await ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1011
    assert str(message.extra).startswith("cannot reach the logger")


async def test_client_leaving_stops_the_follow_in_the_logger(
    client: Client, users: Users, logger: Logger
) -> None:
    hub = logger.app[COMPONENTS].hub
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=users.headers("alice"))
    await ws.send_json({"lines": 0, "follow": True, "timeout": 30})
    for _ in range(100):
        if hub.follower_count == 1:
            break
        await asyncio.sleep(0.02)
    assert hub.follower_count == 1
    await ws.close()
    for _ in range(200):  # the logger notices within its liveness interval (1 s)
        if hub.follower_count == 0:
            break
        await asyncio.sleep(0.02)
    assert hub.follower_count == 0
