"""Both forward clients (`wf emit`'s ForwardClient and the controller's
platform log) check the server's PONG digest: a real logger with the shared
key is accepted, a stand-in whose digest comes from another key is refused
before a single record is sent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from controller.platform_log import ForwardPlatformLog
from logger.app import FORWARD, create_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.errors import HandshakeFailed
from logger.forward.client import ForwardClient
from logger.forward.handshake import HandshakeSettings
from logger.forward.settings import ForwardSettings
from logger.store.base import ReadQuery
from tests.integration.forward_helpers import HOST, TIMEOUT
from tests.standins.forward_pong import WrongDigestForwardStandIn

SHARED_KEY = b"the real shared key"


@pytest.fixture
async def logger_with_key() -> AsyncIterator[tuple[TestServer, int]]:
    """A real logger whose forward input requires SHARED_KEY."""
    settings = LoggerSettings(
        forward=ForwardSettings(
            host=HOST, port=0, handshake=HandshakeSettings(shared_key=SHARED_KEY)
        )
    )
    app = create_app(settings)
    server = TestServer(app, host=HOST, port=0)
    await server.start_server()
    yield server, app[FORWARD].port
    await server.close()


@pytest.fixture
async def impostor() -> AsyncIterator[WrongDigestForwardStandIn]:
    server = WrongDigestForwardStandIn()
    await server.start()
    yield server
    await server.close()


async def stored(server: TestServer, app: str) -> list[str]:
    assert server.app is not None
    result = await server.app[COMPONENTS].store.read(app, ReadQuery(limit=-1))
    return [line[1:].decode().split(" ", 1)[1] for _, line in result.lines]


async def test_forward_client_accepts_the_real_logger(
    logger_with_key: tuple[TestServer, int],
) -> None:
    server, port = logger_with_key

    def send() -> None:
        with ForwardClient(HOST, port, shared_key=SHARED_KEY, timeout=TIMEOUT) as client:
            client.send("app.shop.web", [(time.time_ns(), {"log": "hello"})])

    await asyncio.to_thread(send)
    assert await stored(server, "shop") == ["shop[web]: hello"]


async def test_forward_client_refuses_a_wrong_pong_digest(
    impostor: WrongDigestForwardStandIn,
) -> None:
    def connect() -> None:
        with ForwardClient(HOST, impostor.port, shared_key=SHARED_KEY, timeout=TIMEOUT) as client:
            client.send("app.shop.web", [(time.time_ns(), {"log": "for the logger only"})])

    with pytest.raises(HandshakeFailed, match="PONG digest does not match") as raised:
        await asyncio.to_thread(connect)
    assert SHARED_KEY.decode() not in str(raised.value)
    assert impostor.pings == 1
    assert bytes(impostor.after_ping) == b""


async def test_platform_log_accepts_the_real_logger(
    logger_with_key: tuple[TestServer, int],
) -> None:
    server, port = logger_with_key
    writer = ForwardPlatformLog(
        f"tcp://{HOST}:{port}", shared_key=SHARED_KEY.decode(), timeout=TIMEOUT
    )
    await writer.write("shop", "app created by alice")
    assert await stored(server, "shop") == ["shop[controller]: app created by alice"]


async def test_platform_log_refuses_a_wrong_pong_digest(
    impostor: WrongDigestForwardStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    writer = ForwardPlatformLog(
        f"tcp://{HOST}:{impostor.port}", shared_key=SHARED_KEY.decode(), timeout=TIMEOUT
    )
    with caplog.at_level(logging.WARNING, logger="controller.platform_log"):
        await writer.write("shop", "app created by alice")  # best effort: never raises
    assert "HandshakeFailed: server's PONG digest does not match" in caplog.text
    assert SHARED_KEY.decode() not in caplog.text
    assert impostor.pings == 1
    assert bytes(impostor.after_ping) == b""
