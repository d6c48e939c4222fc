"""A request aiohttp cannot parse (here a request line past its 8 KiB limit)
is answered 400 and logged as one short warning per interval, without the
traceback and the request's bytes that aiohttp would log as an ERROR: a
client cannot fill the servers' log with them."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestServer

from controller.app import create_app as create_controller_app
from controller.settings import ControllerSettings
from foundation.bad_requests import SERVER_LOGGER, BadRequestLogFilter
from logger.app import create_app as create_logger_app
from logger.config import LoggerSettings


async def too_long_request(server: TestServer) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /logs/" + b"A" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = await reader.read(200)
    writer.close()
    return answer


async def test_a_malformed_request_is_one_short_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SERVER_LOGGER)
    server = TestServer(create_logger_app(LoggerSettings(), forward=False), host="127.0.0.1")
    await server.start_server()
    try:
        answers = [await too_long_request(server) for _ in range(3)]
    finally:
        await server.close()
    assert all(answer.split(b" ", 2)[1] == b"400" for answer in answers), answers
    records = [record for record in caplog.records if record.name == SERVER_LOGGER]
    assert [record.levelno for record in records] == [logging.WARNING]
    assert records[0].exc_info is None
    assert "AAAA" not in caplog.text
    assert "answered 400 (LineTooLong)" in records[0].getMessage()


def test_the_warning_counts_what_it_suppressed() -> None:
    now = [0.0]
    quiet = BadRequestLogFilter(interval=10, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        from aiohttp.http_exceptions import BadHttpMessage

        error = BadHttpMessage("bad")
        return logging.LogRecord(
            SERVER_LOGGER, logging.ERROR, __file__, 1, "Error handling request from %s",
            ("127.0.0.1",), (BadHttpMessage, error, None),
        )  # fmt: skip

    assert quiet.filter(record())
    assert not quiet.filter(record())
    assert not quiet.filter(record())
    now[0] = 11
    last = record()
    assert quiet.filter(last)
    assert (
        last.getMessage()
        == "malformed request from 127.0.0.1 answered 400 (BadHttpMessage) (2 more since)"
    )


def test_both_servers_install_it() -> None:
    create_logger_app(LoggerSettings(), forward=False)
    create_controller_app(ControllerSettings())
    filters = logging.getLogger(SERVER_LOGGER).filters
    assert sum(isinstance(found, BadRequestLogFilter) for found in filters) == 1
