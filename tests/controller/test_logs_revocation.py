"""Live log streams lose access the moment its grant is gone: a revoked
token, a revoked console session, a removed collaborator; and a client that
does not read is disconnected rather than held."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from dataclasses import replace

import aiohttp
import pytest

from controller.api.logs import CLOSE_ACCESS_REVOKED
from controller.settings import ControllerSettings
from logger.components import COMPONENTS
from tests.controller.conftest import Client, Logger, Users
from tests.controller.test_console import console_login, origin, session_of


@pytest.fixture
def settings(settings: ControllerSettings) -> ControllerSettings:
    return replace(settings, follow_access_interval=0.2, follow_send_timeout=0.5)


async def until(condition: object, seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not callable(condition) or not condition():
        assert loop.time() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def follow(
    client: Client, logger: Logger, headers: dict[str, str]
) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=headers)
    await ws.send_json({"lines": 0, "follow": True, "timeout": 30})
    hub = logger.app[COMPONENTS].hub
    await until(lambda: hub.follower_count == 1)
    await logger.app[COMPONENTS].ingestor.write_platform_line("shop", "web", "still allowed")
    first = await ws.receive(timeout=5)
    assert first.type == aiohttp.WSMsgType.TEXT
    assert first.data.endswith("shop[web]: still allowed")
    return ws


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """The close, after any lines sent before the next access check (the
    controller's own `shop[controller]: ...` line about the change, say)."""
    async with asyncio.timeout(10):
        message = await ws.receive()
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await ws.receive()
    assert message.type == aiohttp.WSMsgType.CLOSE, message
    return ws.close_code, str(message.extra)


async def test_a_revoked_token_closes_its_stream_with_4403(
    client: Client, users: Users, logger: Logger
) -> None:
    ws = await follow(client, logger, users.headers("bob"))
    reply = await client.post("/v2/auth/logout", headers=users.headers("bob"))
    assert reply.status == 204
    code, reason = await closed_with(ws)
    assert code == CLOSE_ACCESS_REVOKED
    assert "no longer valid" in reason
    await until(lambda: logger.app[COMPONENTS].hub.follower_count == 0)


async def test_a_removed_collaborator_loses_the_stream_with_4403(
    client: Client, users: Users, logger: Logger
) -> None:
    ws = await follow(client, logger, users.headers("bob"))
    reply = await client.delete("/v2/apps/shop/perms/bob", headers=users.headers("alice"))
    assert reply.status == 204
    code, reason = await closed_with(ws)
    assert code == CLOSE_ACCESS_REVOKED
    assert "no longer allowed to read the logs of shop" in reason


async def test_a_console_session_logged_out_closes_its_stream_with_4403(
    client: Client, users: Users, logger: Logger
) -> None:
    session = session_of(await console_login(client, "bob"))
    ws = await follow(client, logger, {**session, **origin(client)})
    out = await client.post("/console/logout", headers={**session, **origin(client)})
    assert out.status in (200, 204, 302, 303)
    code, _ = await closed_with(ws)
    assert code == CLOSE_ACCESS_REVOKED


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked


async def test_a_stream_client_that_never_reads_is_disconnected(
    client: Client, users: Users, logger: Logger
) -> None:
    host, port = client.server.host, client.server.port
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /v2/apps/shop/logs HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: token {users.tokens['bob']}\r\n\r\n"
    )
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, handshake.encode())
        await loop.sock_sendall(
            sock, _masked_text_frame(json.dumps({"lines": 0, "follow": True, "timeout": 30}))
        )
        hub = logger.app[COMPONENTS].hub
        await until(lambda: hub.follower_count == 1)
        ingestor = logger.app[COMPONENTS].ingestor
        deadline = loop.time() + 10
        message = "x" * 1000
        while hub.follower_count:  # the socket is never read from here on
            assert loop.time() < deadline, "a client that never reads is still streamed to"
            for _ in range(200):
                await ingestor.write_platform_line("shop", "web", message)
            await asyncio.sleep(0.01)
    finally:
        sock.close()
