"""Platform lines over the forward protocol (another process's logger) and
through an in-process ingestor; best effort when the logger is away."""

from __future__ import annotations

import logging

import pytest

from controller.platform_log import ForwardPlatformLog, IngestorPlatformLog
from logger.components import COMPONENTS
from tests.controller.conftest import Logger
from tests.support.services import free_port


async def test_forward_writes_a_controller_line(logger: Logger) -> None:
    writer = ForwardPlatformLog(f"tcp://127.0.0.1:{logger.forward_port}", timeout=5)
    await writer.write("shop", "scaled web to 3 by alice")
    assert await logger.lines("shop") == ["shop[controller]: scaled web to 3 by alice"]


async def test_ingestor_writes_the_same_line(logger: Logger) -> None:
    await IngestorPlatformLog(logger.app[COMPONENTS].ingestor).write("shop", "deployed v2")
    assert await logger.lines("shop") == ["shop[controller]: deployed v2"]


async def test_an_absent_logger_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    writer = ForwardPlatformLog(f"tcp://127.0.0.1:{free_port()}", timeout=2)
    with caplog.at_level(logging.WARNING, logger="controller.platform_log"):
        await writer.write("shop", "app created by alice")
    assert "could not write a platform line for shop" in caplog.text


def test_bad_forward_urls_are_refused() -> None:
    for url in ("http://x:1", "tcp://nohost", "tcp://:24224", "tcp://h:port"):
        with pytest.raises(ValueError, match="not a forward URL"):
            ForwardPlatformLog(url)
