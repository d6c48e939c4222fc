"""Error bodies quote the client's input, but never more than a bounded amount."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from controller.api.errors import json_errors
from controller.errors import BadRequest
from foundation.echo import MAX_DETAIL_CHARS, capped
from logger.app import create_app
from logger.config import LoggerSettings

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient
    from pytest_aiohttp import AiohttpClient


def test_capped_keeps_short_messages_and_cuts_long_ones() -> None:
    assert capped("log_lines must be a whole number") == "log_lines must be a whole number"
    cut = capped("x" * 10_000)
    assert len(cut) == MAX_DETAIL_CHARS
    assert cut.endswith("...")


async def test_logger_bad_request_does_not_echo_kilobytes(aiohttp_client: AiohttpClient) -> None:
    client: TestClient = await aiohttp_client(  # type: ignore[type-arg]
        create_app(LoggerSettings(), forward=False)
    )
    for params in ({"log_lines": "9" * 6000 + "x"}, {"after_seq": "y" * 6000}):
        reply = await client.get("/logs/shop", params=params)
        assert reply.status == 400
        detail = (await reply.json())["detail"]
        assert len(detail) <= MAX_DETAIL_CHARS, len(detail)


async def test_controller_error_bodies_are_capped(aiohttp_client: AiohttpClient) -> None:
    async def echoing(request: web.Request) -> web.Response:
        raise BadRequest(f"no such thing: {request.query['name']}")

    app = web.Application(middlewares=[json_errors])
    app.router.add_get("/echo", echoing)
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    reply = await client.get("/echo", params={"name": "n" * 7000})
    assert reply.status == 400
    detail = (await reply.json())["detail"]
    assert detail.startswith("no such thing: nnn")
    assert len(detail) <= MAX_DETAIL_CHARS, len(detail)
