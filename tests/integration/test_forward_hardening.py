"""What hostile and broken clients can no longer do to the forward input:
hold slots they have not earned, hold memory before the handshake or past
the shared budget, go unnoticed on the TLS port, starve the HTTP APIs of
file descriptors. Real sockets on loopback, a real logger (and a real
`wf serve` under a low `ulimit -n`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
import trustme

from tests.integration.forward_helpers import (
    BASE_NS,
    HOST,
    TIMEOUT,
    RawConnection,
    fixext8_time,
    message_frame,
    options_map,
)
from tests.integration.test_forward_server import (
    SHARED_KEY,
    StartLogger,
    handshake,
    handshake_settings,
    start_logger,
    tls_files,
)
from tests.integration.wf_serve import wf_serve

__all__ = ["start_logger", "tls_files"]  # fixtures used here
TAG = "app.shop.web"


def frame(text: str) -> bytes:
    return message_frame(TAG, fixext8_time(BASE_NS), {"log": text}, options_map(text))


async def open_from(port: int, source: str) -> RawConnection:
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
    return RawConnection(reader, writer)


async def close_all(connections: list[RawConnection]) -> None:
    for connection in connections:
        await connection.close()


async def test_silent_sockets_are_reaped_for_a_real_client(start_logger: StartLogger) -> None:
    logger = await start_logger(max_connections=4)
    silent = [await RawConnection.open(logger.port) for _ in range(4)]
    await logger.wait_for_metric(4, "logger_open_connections", input="forward")
    try:
        client = await RawConnection.open(logger.port)
        try:
            await client.send_and_ack(frame("real"), "real")
            # A client that has sent a frame keeps its slot: new silent ones reap each other.
            more = [await RawConnection.open(logger.port) for _ in range(6)]
            await client.send_and_ack(frame("still here"), "still here")
            await close_all(more)
        finally:
            await client.close()
        assert await silent[0].closed_by_peer() == b""
    finally:
        await close_all(silent)
    assert (
        await logger.metric(
            "logger_errors_total", error_type="unauthenticated_reaped", stage="accept"
        )
        >= 1
    )


async def test_unauthenticated_connections_have_their_own_cap(start_logger: StartLogger) -> None:
    logger = await start_logger(max_unauthenticated=2, handshake=handshake_settings())
    waiting = [await RawConnection.open(logger.port) for _ in range(3)]
    try:
        # The first never sent its PING: closed (after its HELO) to make room for the third.
        assert (await waiting[0].closed_by_peer()).startswith(b"\x92\xa4HELO")
        client = await RawConnection.open(logger.port)
        try:
            await handshake(client, SHARED_KEY)
            await client.send_and_ack(frame("after"), "after")
        finally:
            await client.close()
    finally:
        await close_all(waiting)
    assert await logger.wait_for_lines("shop", 1)


async def test_connections_per_address_are_capped(start_logger: StartLogger) -> None:
    logger = await start_logger(max_connections_per_address=2)
    first = [await open_from(logger.port, "127.0.0.1") for _ in range(2)]
    try:
        for index, connection in enumerate(first):
            await connection.send_and_ack(frame(f"one {index}"), f"one {index}")
        third = await open_from(logger.port, "127.0.0.1")
        try:
            assert await third.closed_by_peer() == b""
        finally:
            await third.close()
        other = await open_from(logger.port, "127.0.0.2")
        try:
            await other.send_and_ack(frame("other"), "other")
        finally:
            await other.close()
    finally:
        await close_all(first)
    assert (
        await logger.metric(
            "logger_errors_total", error_type="too_many_connections_from_address", stage="accept"
        )
        == 1
    )


async def test_before_the_handshake_only_a_ping_is_held(start_logger: StartLogger) -> None:
    logger = await start_logger(handshake=handshake_settings())
    connection = await RawConnection.open(logger.port)
    try:
        await connection.receive()  # HELO
        # The start of a 1 MiB bin where a PING should be.
        await connection.send(b"\x96\xa4PING\xc6" + (1 << 20).to_bytes(4, "big") + bytes(8192))
        assert await connection.closed_by_peer() == b""
    finally:
        await connection.close()
    assert (
        await logger.metric("logger_errors_total", error_type="frame_too_large", stage="handshake")
        == 1
    )


async def test_memory_budget_across_connections(
    start_logger: StartLogger, caplog: pytest.LogCaptureFixture
) -> None:
    logger = await start_logger(buffer_max_bytes=1 << 20, read_bytes=64 << 10)
    unfinished = b"\x92\xa1t\xc6" + (4 << 20).to_bytes(4, "big") + bytes(700 << 10)
    holder = await RawConnection.open(logger.port)
    second = await RawConnection.open(logger.port)
    client = await RawConnection.open(logger.port)
    try:
        await holder.send(unfinished)
        await logger.wait_for_metric(len(unfinished), "logger_forward_buffered_bytes")
        await second.send(unfinished)
        assert await second.closed_by_peer() == b""
        # Small frames still fit beside the one held.
        await client.send_and_ack(frame("small"), "small")
    finally:
        await close_all([holder, second, client])
    assert (
        await logger.metric(
            "logger_errors_total", error_type="buffer_budget_exceeded", stage="receiving"
        )
        == 1
    )
    assert "WF_FORWARD_BUFFER_MAX_BYTES" in caplog.text


async def test_plaintext_client_on_the_tls_port_is_counted_and_logged(
    start_logger: StartLogger,
    tls_files: tuple[trustme.CA, Path, Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, cert_path, key_path, _ = tls_files
    caplog.set_level(logging.WARNING, "logger")
    logger = await start_logger(tls_cert=cert_path, tls_key=key_path)
    for _ in range(3):
        plain = await RawConnection.open(logger.port)
        try:
            await plain.send(frame("plain"))
            assert await plain.closed_by_peer() == b""
        finally:
            await plain.close()
    await logger.wait_for_metric(
        3, "logger_errors_total", error_type="not_tls", stage="tls_handshake"
    )
    warnings = [record for record in caplog.records if "does not speak TLS" in record.getMessage()]
    assert len(warnings) == 1  # rate-limited
    assert "WF_FORWARD_TLS_CERT" in warnings[0].getMessage()


def _open_many(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sockets.append(socket.create_connection((HOST, port), timeout=TIMEOUT))
    return sockets


def test_http_apis_answer_while_the_forward_input_is_flooded(tmp_path: Path) -> None:
    with wf_serve(tmp_path, open_files=256) as server:
        port = int(server.forward_url.rsplit(":", 1)[1])
        flood = _open_many(port, 400)
        try:
            started = time.monotonic()
            for _ in range(5):
                answer = httpx.get(f"{server.logger_url}/healthz", timeout=TIMEOUT)
                assert answer.status_code == 200
                answer = httpx.get(f"{server.controller_url}/healthz", timeout=TIMEOUT)
                assert answer.status_code == 200
            assert time.monotonic() - started < TIMEOUT
            metrics = httpx.get(f"{server.logger_url}/metrics", timeout=TIMEOUT).text
        finally:
            for sock in flood:
                sock.close()
        log_text = server.log_path.read_text()
    assert "Traceback" not in log_text
    assert "forward connections capped at" in log_text
    assert _value(metrics, 'logger_open_connections{input="forward"}') <= 256


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{sample} not in the metrics")
