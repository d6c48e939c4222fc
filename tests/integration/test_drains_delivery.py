"""What "delivered" means over TCP, and what a crash loses (counted at the next start)."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from logger.drains.registry import DrainRegistry
from logger.lines import format_timestamp
from tests.integration.rsyslog import poll_until
from tests.support.drains import quick_settings, running
from tests.support.services import free_port

T0 = 1_795_000_000_000_000_000


def lines(count: int) -> list[bytes]:
    return [
        b"o" + f"{format_timestamp(T0 + n * 1000)} shop[web.1]: line {n}".encode()
        for n in range(count)
    ]


@pytest.fixture
async def closing_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP server on 127.0.0.1 that accepts and closes every connection at
    once, without reading; yields its port and a list of accepted connections."""
    accepted: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.transport.abort()  # RST: nothing it was sent was read

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], accepted
    server.close()
    await server.wait_closed()


async def test_a_server_that_closes_every_connection_shows_nothing_delivered(
    tmp_path: Path, closing_server: tuple[int, list[int]]
) -> None:
    port, accepted = closing_server
    settings = quick_settings(tmp_path, None, syslog_retries=2, confirm_wait=0.2)
    async with running(settings) as (registry, metrics):
        view = await registry.add("shop", f"syslog+tcp://127.0.0.1:{port}")
        drain = registry.drain(view.id)
        assert drain is not None
        registry.deliver("shop", 0, lines(5))
        assert await poll_until(lambda: drain.dropped.get("retries_exhausted") == 5, 10)
        labels = {"drain_id": view.id, "app": "shop", "scheme": "syslog+tcp"}
        delivered = metrics.get_sample_value("logger_drain_delivered_lines_total", labels)
        shown = registry.list("shop")[0]
    assert len(accepted) >= 2  # it was written to, more than once
    assert delivered == 0
    assert (shown.delivered_lines, shown.dropped) == (0, {"retries_exhausted": 5})
    assert shown.last_error is not None
    assert shown.last_error.startswith(f"connection to 127.0.0.1:{port} ")


async def test_lines_a_crashed_run_held_are_counted_at_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"syslog+tcp://127.0.0.1:{free_port()}"
    settings = quick_settings(
        tmp_path, None, checkpoint_interval=0.1, retry_base=5.0, retry_max=5.0
    )
    checkpoint = tmp_path / "drains.json.pending"
    left_by_the_crash = tmp_path / "crash-copy"
    losses: list[tuple[str, str, int]] = []
    async with running(settings) as (first, _):
        view = await first.add("shop", dead)
        first.deliver("shop", 0, lines(7))
        assert await poll_until(checkpoint.exists, 5)
        assert json.loads(checkpoint.read_text())["drains"] == {
            view.id: {"app": "shop", "lines": 7}
        }
        # The file as a killed process leaves it: its last checkpoint.
        shutil.copy(checkpoint, left_by_the_crash)
    # A clean shutdown counts what is left (closed) and leaves no checkpoint.
    assert not checkpoint.exists()
    shutil.copy(left_by_the_crash, checkpoint)
    caplog.set_level(logging.WARNING, logger="logger.drains")
    metrics = CollectorRegistry()
    second = DrainRegistry(settings, metrics, on_loss=lambda *loss: losses.append(loss))
    await second.start()
    try:
        shown = second.get("shop", view.id)
        labels = {"drain_id": view.id, "app": "shop", "scheme": "syslog+tcp"}
        counted = metrics.get_sample_value(
            "logger_drain_dropped_lines_total", {**labels, "reason": "lost_at_crash"}
        )
    finally:
        await second.close()
    assert shown is not None
    assert shown.dropped == {"lost_at_crash": 7}
    assert counted == 7
    assert losses == [("drain", "lost_at_crash", 7)]
    assert f"drain {view.id} of shop: the previous run ended without shutting down" in caplog.text
    assert "could not deliver 7 lines" in caplog.text
    assert not checkpoint.exists()  # reported once
