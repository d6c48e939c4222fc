"""The logs API's follow, driven through the ingest pipeline directly."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from logger.app import create_app
from logger.components import COMPONENTS
from logger.config import ApiSettings, LoggerSettings
from logger.lines import platform_line

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.test_utils import TestClient
    from pytest_aiohttp import AiohttpClient


def make_app(**api: int | float) -> web.Application:
    return create_app(LoggerSettings(api=ApiSettings(**api)), forward=False)  # type: ignore[arg-type]


async def write(app: web.Application, count: int, start: int = 0) -> None:
    ingestor = app[COMPONENTS].ingestor
    for i in range(start, start + count):
        await ingestor.write_platform_line("shop", "web", f"m{i}")


async def test_history_then_live_without_gap_or_repeat(aiohttp_client: AiohttpClient) -> None:
    app = make_app()
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    await write(app, 50)

    async def produce() -> None:
        for start in range(50, 2050, 100):
            await write(app, 100, start)
            await asyncio.sleep(0)

    producer = asyncio.create_task(produce())
    response = await client.get(
        "/logs/shop", params={"follow": "true", "timeout": "1.5", "log_lines": "-1"}
    )
    assert response.status == 200
    body = await response.text()
    await producer
    got = [line.rsplit(": ", 1)[1] for line in body.splitlines()]
    assert got == [f"m{i}" for i in range(2050)]


async def test_follow_json_and_after_seq_resume(aiohttp_client: AiohttpClient) -> None:
    app = make_app()
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    await write(app, 5)
    first = await client.get("/logs/shop", params={"format": "json", "log_lines": "2"})
    rows = [json.loads(line) for line in (await first.text()).splitlines()]
    assert [row["message"] for row in rows] == ["m3", "m4"]
    assert (rows[0]["app"], rows[0]["proc"], rows[0]["instance"]) == ("shop", "web", "")
    await write(app, 3, 5)
    resumed = await client.get(
        "/logs/shop",
        params={"format": "json", "log_lines": "-1", "after_seq": str(rows[-1]["seq"])},
    )
    assert [json.loads(line)["message"] for line in (await resumed.text()).splitlines()] == [
        "m5",
        "m6",
        "m7",
    ]


async def test_slow_follower_is_told_how_many_lines_it_lost(
    aiohttp_client: AiohttpClient,
) -> None:
    app = make_app(follower_queue_lines=10)
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    # A filtered follow always queues (no direct writes), so its task, not
    # the client, is what falls behind here.
    response = await client.get(
        "/logs/shop", params={"follow": "true", "timeout": "1", "log_lines": "0", "proc": "web"}
    )
    await asyncio.sleep(0.05)  # the follower is subscribed once the headers are out
    # 30 lines arrive before the follower's task runs again: 20 are displaced.
    await app[COMPONENTS].ingestor.store_lines("shop", [_line(i) for i in range(30)])
    body = (await response.text()).splitlines()
    assert "shop[logger]: 20 lines dropped since" in body[0]
    assert [line.rsplit(": ", 1)[1] for line in body[1:]] == [f"m{i}" for i in range(20, 30)]
    metrics = await (await client.get("/metrics")).text()
    assert "logger_follower_dropped_lines_total 20.0" in metrics


async def test_a_client_that_stops_reading_moves_from_direct_writes_to_the_queue(
    aiohttp_client: AiohttpClient,
) -> None:
    """Written straight from ingest while it reads, queued (bounded, with a
    loss notice) once it stops, and straight again after: in order, nothing
    twice, every line either received or counted in a notice."""
    app = make_app(follower_queue_lines=50, follow_write_timeout=10)
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    hub = app[COMPONENTS].hub
    ingestor = app[COMPONENTS].ingestor
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = client.server.host, client.server.port
    await loop.sock_connect(sock, (host, port))
    request = f"GET /logs/shop?follow=true&timeout=2&log_lines=0 HTTP/1.1\r\nHost: {host}\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    received = bytearray()

    async def read_until(predicate: Callable[[bytes], bool], seconds: float) -> None:
        deadline = loop.time() + seconds
        while not predicate(bytes(received)):
            assert loop.time() < deadline, bytes(received[-300:])
            async with asyncio.timeout(deadline - loop.time()):
                data = await loop.sock_recv(sock, 1 << 16)
            if not data:
                break
            received.extend(data)

    try:
        await read_until(lambda data: b"\r\n\r\n" in data, 5)  # the headers: subscribed
        message = "x" * 1000
        for i in range(20):
            await ingestor.write_platform_line("shop", "web", f"{message} m{i}")
        await read_until(lambda data: data.count(b" m") >= 20, 5)
        # It stops reading: far more than the socket and the transport hold.
        total = 20
        for _ in range(30):
            for _ in range(100):
                await ingestor.write_platform_line("shop", "web", f"{message} m{total}")
                total += 1
            await asyncio.sleep(0)
        assert hub.dropped_lines > 0  # the queue did overflow
        await read_until(lambda data: data.endswith(b"\r\n0\r\n\r\n"), 10)
    finally:
        sock.close()
    numbers, dropped = _follow_body(bytes(received))
    assert numbers[:20] == list(range(20))
    assert numbers == sorted(set(numbers)), "out of order or repeated"
    assert dropped == hub.dropped_lines
    assert len(numbers) + dropped == total


def _follow_body(response: bytes) -> tuple[list[int], int]:
    """The numbers of the lines of a chunked follow response, and the lines
    its notices say were dropped."""
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"chunked" in head.lower()
    text = bytearray()
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            break
        text += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]
    numbers: list[int] = []
    dropped = 0
    for line in text.decode().splitlines():
        if "lines dropped since" in line:
            dropped += int(line.split(": ", 1)[1].split()[0])
        else:
            numbers.append(int(line.rsplit(" m", 1)[1]))
    return numbers, dropped


def _line(i: int) -> bytes:
    return platform_line("shop", "web", f"m{i}", 1_795_341_600_000_000_000)


async def test_plain_reads_health_and_errors(aiohttp_client: AiohttpClient) -> None:
    app = make_app()
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    assert (await client.get("/logs/shop")).status == 204
    assert await (await client.get("/healthz")).text() == "OK"
    assert (await client.get("/readyz")).status == 200
    for params in (
        {"log_lines": "x"},
        {"follow": "maybe"},
        {"since": "yesterday"},
        {"timeout": "0"},
    ):
        response = await client.get("/logs/shop", params=params)
        assert response.status == 400
        assert "detail" in await response.json()
    assert (await client.get("/logs/bad%20name")).status == 400
    await write(app, 3)
    assert (await client.delete("/logs/shop")).status == 204
    assert (await client.delete("/logs/shop")).status == 404
    assert (await client.get("/logs/shop")).status == 204


async def test_followers_that_never_read_end_at_their_timeout(
    aiohttp_client: AiohttpClient,
) -> None:
    app = make_app(follow_write_timeout=0.5)
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    hub = app[COMPONENTS].hub
    host, port = client.server.host, client.server.port
    request = f"GET /logs/shop?follow=true&timeout=1&log_lines=0 HTTP/1.1\r\nHost: {host}\r\n\r\n"
    stuck: list[socket.socket] = []
    for _ in range(5):  # clients that send a follow and never read a byte
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        sock.sendall(request.encode())
        stuck.append(sock)
    loop = asyncio.get_running_loop()
    subscribed_by = loop.time() + 5
    while hub.follower_count < 5:
        assert loop.time() < subscribed_by, hub.follower_count
        await asyncio.sleep(0.02)
    message = "x" * 1000
    ingestor = app[COMPONENTS].ingestor
    # Lines keep coming, far more than the sockets hold; every follower must
    # still be gone soon after its 1 s timeout (plus one write's deadline).
    ended_by = loop.time() + 4
    try:
        while hub.follower_count:
            assert loop.time() < ended_by, f"{hub.follower_count} followers outlived their timeout"
            for _ in range(200):
                await ingestor.write_platform_line("shop", "web", message)
            await asyncio.sleep(0.01)
    finally:
        for sock in stuck:
            sock.close()
