"""Drains of one app sharing their encoding: byte-identical streams over TCP.

Each drain writes to its own raw TCP receiver, which keeps every byte, so
the streams can be compared with what one encoder makes of the lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from logger.drains.registry import DrainRegistry
from logger.drains.syslog import SHARED_FRAMES_LINES, SyslogEncoder
from tests.integration.drain_sinks import stored_line
from tests.support.drains import quick_settings, running

T0 = 1_795_000_000_123_456_000
PROCESSES = [("web.x2x9z", b"o"), ("worker.a1b2c", b"e"), ("controller", b"-")]


class RawReceiver:
    """A TCP listener on 127.0.0.1 that keeps every byte it is sent."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.port = 0
        self._grew = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._read, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(1 << 16):
            self.data += chunk
            self._grew.set()
        writer.close()

    async def wait_for(self, size: int, timeout: float = 10.0) -> bytes:
        async with asyncio.timeout(timeout):
            while len(self.data) < size:
                self._grew.clear()
                await self._grew.wait()
        return bytes(self.data)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def receivers() -> AsyncIterator[list[RawReceiver]]:
    started = [RawReceiver() for _ in range(2)]
    for receiver in started:
        await receiver.start()
    yield started
    for receiver in started:
        await receiver.stop()


def lines_from(first: int, count: int) -> list[bytes]:
    return [
        stored_line("shop", proc, f"{proc} line {number:06d}", T0 + number * 1000, stream)
        for number in range(first, first + count)
        for proc, stream in [PROCESSES[number % len(PROCESSES)]]
    ]


async def add_tcp(registry: DrainRegistry, port: int) -> str:
    view = await registry.add("shop", f"syslog+tcp://127.0.0.1:{port}")
    return view.id


async def test_two_drains_of_an_app_send_byte_identical_streams(
    tmp_path: Path, receivers: list[RawReceiver]
) -> None:
    # More lines than the shared cache's two generations hold: the drains
    # take batches of different sizes (one offer at a time vs. lingering).
    lines = lines_from(0, 3 * SHARED_FRAMES_LINES)
    expected = SyslogEncoder("shop").frames(lines)
    async with running(quick_settings(tmp_path, batch_lines=300)) as (registry, _):
        ids = [await add_tcp(registry, receiver.port) for receiver in receivers]
        shared = registry.shared_frames("shop")
        assert shared is not None
        assert shared.sharers == 2
        for start in range(0, len(lines), 97):
            registry.deliver("shop", 0, lines[start : start + 97])
            if start % 970 == 0:
                await asyncio.sleep(0)
        for drain_id in ids:
            drain = registry.drain(drain_id)
            assert drain is not None
            assert await drain.wait_idle(10)
        for receiver in receivers:
            assert await receiver.wait_for(len(expected)) == expected
        assert shared.cached_lines <= 2 * SHARED_FRAMES_LINES
        assert [view.delivered_lines for view in registry.list("shop")] == [len(lines)] * 2


async def test_one_drain_removed_the_other_keeps_delivering(
    tmp_path: Path, receivers: list[RawReceiver]
) -> None:
    first, second = lines_from(0, 500), lines_from(500, 500)
    encoder = SyslogEncoder("shop")
    async with running(quick_settings(tmp_path)) as (registry, _):
        kept, removed = [await add_tcp(registry, receiver.port) for receiver in receivers]
        registry.deliver("shop", 0, first)
        for drain_id in (kept, removed):
            drain = registry.drain(drain_id)
            assert drain is not None
            assert await drain.wait_idle(10)
        assert await registry.remove("shop", removed)
        shared = registry.shared_frames("shop")
        assert shared is not None
        assert (shared.sharers, shared.cached_lines) == (1, 0)
        registry.deliver("shop", 0, second)
        drain = registry.drain(kept)
        assert drain is not None
        assert await drain.wait_idle(10)
        assert await receivers[0].wait_for(len(encoder.frames(first + second))) == (
            encoder.frames(first + second)
        )
        await asyncio.sleep(0.05)
        assert bytes(receivers[1].data) == encoder.frames(first)
        assert shared.cached_lines == 0
