"""The real logger on 127.0.0.1, driven through its forward input.

Clients: the `fluent-logger` package (sender, async sender, logging handler),
hand-built frames over asyncio streams, the real Fluent Bit and Fluentd
captures, TLS, the shared-key handshake and the UDP heartbeat. What is
checked: the exact lines the logs API serves, and the logger's own metrics.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgpack
import pytest
import trustme
from fluent import asyncsender, handler, sender
from pytest_aiohttp import AiohttpClient

from logger.app import FORWARD, create_app
from logger.config import ApiSettings, LoggerSettings
from logger.forward.client import ForwardClient
from logger.forward.handshake import HandshakeSettings
from logger.forward.settings import ForwardSettings
from logger.store.memory import StoreSettings
from tests.integration.forward_helpers import (
    BASE_NS,
    BASE_SECONDS,
    BASE_TEXT,
    HOST,
    TIMEOUT,
    RawConnection,
    RunningLogger,
    ack_bytes,
    entry,
    ext8_time,
    fixext8_time,
    forward_frame,
    gzip_members,
    integer_time,
    message_frame,
    metadata_time,
    options_map,
    packed_frame,
    read_capture,
    rfc3339,
    send_messages,
    steady_sender,
)
from tests.support.services import FIXTURES

SECOND = 1_000_000_000
KUBERNETES = {
    "pod_name": "shop-web-7d9f8b6c5-x2x9z",
    "namespace_name": "shop",
    "container_name": "shop-web",
    "labels": {"app": "shop", "type": "web"},
}
WEB = f"{BASE_TEXT} shop[web]: "
POD = f"{BASE_TEXT} shop[web.x2x9z]: "


class StartLogger(Protocol):
    async def __call__(
        self,
        *,
        max_line_bytes: int = ...,
        store: StoreSettings | None = ...,
        **forward: Any,
    ) -> RunningLogger: ...


@pytest.fixture
def start_logger(aiohttp_client: AiohttpClient) -> StartLogger:
    """Start a real logger: HTTP API through the test client, forward input on
    a free port of 127.0.0.1 (its cleanup context runs as in production)."""

    async def start(
        *,
        max_line_bytes: int = 16 << 10,
        store: StoreSettings | None = None,
        **forward: Any,
    ) -> RunningLogger:
        settings = LoggerSettings(
            forward=ForwardSettings(host=HOST, port=0, **forward),
            store=store or StoreSettings(),
            api=ApiSettings(host=HOST, port=0),
            max_line_bytes=max_line_bytes,
        )
        app = create_app(settings)
        client = await aiohttp_client(app)
        return RunningLogger(client, app[FORWARD].port)

    return start


def messages_of(lines: Sequence[str]) -> list[str]:
    """The message part of each served line."""
    return [line.split("]: ", 1)[1] for line in lines]


# --- 1. fluent-logger -----------------------------------------------------------------


async def test_fluent_sender_tag_convention_and_kubernetes_records(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger()
    now_ns = time.time_ns()
    cart_pod = {**KUBERNETES, "labels": {"app": "cart", "type": "web"}}
    by_namespace = {
        "pod_name": "shop-worker-5c8d-abcde",
        "namespace_name": "shop",
        "container_name": "shop-worker",
    }

    def emit_all() -> None:
        fluent = sender.FluentSender(
            "app.shop", host=HOST, port=logger.port, nanosecond_precision=True, timeout=TIMEOUT
        )
        try:
            at = sender.EventTime.from_unix_nano
            assert fluent.emit_with_time("web", at(now_ns), {"log": "GET / 200"})
            assert fluent.emit_with_time(None, at(now_ns + 1_000), {"log": "booted\n"})
            assert fluent.emit_with_time(
                "worker", at(now_ns + 2_000_000), {"message": "job done", "stream": "stderr"}
            )
            assert fluent.emit_with_time(
                None, at(now_ns + SECOND), {"log": "GET /cart 200", "kubernetes": KUBERNETES}
            )
            # The kubernetes label wins over the tag: this one belongs to `cart`.
            assert fluent.emit_with_time(
                "web", at(now_ns), {"log": "cart!", "kubernetes": cart_pod}
            )
            assert fluent.emit_with_time(
                None, at(now_ns + 2 * SECOND), {"log": "by namespace", "kubernetes": by_namespace}
            )
            # A float time becomes an EventTime; an int time is whole seconds.
            assert fluent.emit_with_time("web", BASE_SECONDS + 0.25, {"log": "float time"})
            assert fluent.emit_with_time("web", BASE_SECONDS, {"log": "integer time"})
        finally:
            fluent.close()

    await asyncio.to_thread(emit_all)
    lines = await logger.wait_for_lines("shop", 7)
    assert lines == [
        f"{rfc3339(now_ns)} shop[web]: GET / 200",
        f"{rfc3339(now_ns + 1_000)} shop[app]: booted",
        f"{rfc3339(now_ns + 2_000_000)} shop[worker]: job done",
        f"{rfc3339(now_ns + SECOND)} shop[web.x2x9z]: GET /cart 200",
        f"{rfc3339(now_ns + 2 * SECOND)} shop[shop-worker.abcde]: by namespace",
        "2026-11-22T10:00:00.250000+00:00 shop[web]: float time",
        "2026-11-22T10:00:00.000000+00:00 shop[web]: integer time",
    ]
    assert await logger.lines("cart") == [f"{rfc3339(now_ns)} cart[web.x2x9z]: cart!"]
    assert await logger.metric("logger_received_events_total", input="forward") == 8
    assert await logger.metric("logger_stored_lines_total") == 8


async def test_fluent_sender_emit_uses_the_current_time(start_logger: StartLogger) -> None:
    logger = await start_logger()
    before = time.time_ns()

    def emit() -> None:
        fluent = sender.FluentSender(
            "app.shop", host=HOST, port=logger.port, nanosecond_precision=True, timeout=TIMEOUT
        )
        try:
            assert fluent.emit("web", {"log": "now"})
        finally:
            fluent.close()

    await asyncio.to_thread(emit)
    after = time.time_ns()
    [line] = await logger.wait_for_lines("shop", 1)
    stamp, rest = line.split(" ", 1)
    assert rest == "shop[web]: now"
    assert rfc3339(before) <= stamp <= rfc3339(after)


async def test_fluent_async_sender_and_logging_handler(start_logger: StartLogger) -> None:
    logger = await start_logger()

    def emit_all() -> None:
        fluent = asyncsender.FluentSender(
            "app.shop", host=HOST, port=logger.port, nanosecond_precision=True, timeout=TIMEOUT
        )
        try:
            for index in range(3):
                at = sender.EventTime.from_unix_nano(BASE_NS + index * SECOND)
                assert fluent.emit_with_time("web", at, {"log": f"async {index}"})
        finally:
            fluent.close()  # flushes its queue and joins its thread
        fluent_handler = handler.FluentHandler(
            "app.shop.worker", host=HOST, port=logger.port, nanosecond_precision=True
        )
        fluent_handler.setFormatter(handler.FluentRecordFormatter())
        try:
            record = logging.LogRecord(
                "shop", logging.INFO, __file__, 1, "charged %d cents", (250,), None
            )
            record.created = BASE_SECONDS + 10.5
            fluent_handler.handle(record)
        finally:
            fluent_handler.close()

    await asyncio.to_thread(emit_all)
    lines = await logger.wait_for_lines("shop", 4)
    assert lines == [
        f"{BASE_TEXT} shop[web]: async 0",
        "2026-11-22T10:00:01.123456+00:00 shop[web]: async 1",
        "2026-11-22T10:00:02.123456+00:00 shop[web]: async 2",
        "2026-11-22T10:00:10.500000+00:00 shop[worker]: charged 250 cents",
    ]


# --- 2. raw frames -------------------------------------------------------------------

TAG = "app.shop.web"


def _payload(*messages: str) -> bytes:
    return b"".join(entry(fixext8_time(BASE_NS), {"log": m}) for m in messages)


RAW_FRAMES = [
    pytest.param(
        message_frame(TAG, fixext8_time(BASE_NS), {"log": "fixext8"}, options_map("m1")),
        "m1",
        [WEB + "fixext8"],
        id="message-fixext8",
    ),
    pytest.param(
        message_frame(TAG, ext8_time(BASE_NS), {"log": "ext8"}, options_map("m2")),
        "m2",
        [WEB + "ext8"],
        id="message-ext8",
    ),
    pytest.param(
        message_frame(TAG, integer_time(BASE_NS), {"log": "integer"}, options_map("m3")),
        "m3",
        ["2026-11-22T10:00:00.000000+00:00 shop[web]: integer"],
        id="message-integer-time",
    ),
    pytest.param(
        message_frame("shop", fixext8_time(BASE_NS), {"log": "k8s", "kubernetes": KUBERNETES}),
        None,
        [POD + "k8s"],
        id="message-kubernetes-no-options",
    ),
    pytest.param(
        message_frame(TAG, msgpack.packb(BASE_SECONDS + 0.25), {"log": "float"}, options_map("m5")),
        "m5",
        ["2026-11-22T10:00:00.250000+00:00 shop[web]: float"],
        id="message-float-time",
    ),
    pytest.param(
        forward_frame(
            TAG,
            [
                entry(fixext8_time(BASE_NS), {"log": "a"}),
                entry(ext8_time(BASE_NS + SECOND), {"log": "b"}),
                entry(integer_time(BASE_NS + 2 * SECOND), {"log": "c"}),
                entry(metadata_time(BASE_NS + 3 * SECOND), {"message": "d"}),
            ],
            options_map("f1", size=4),
        ),
        "f1",
        [
            WEB + "a",
            "2026-11-22T10:00:01.123456+00:00 shop[web]: b",
            "2026-11-22T10:00:02.000000+00:00 shop[web]: c",
            "2026-11-22T10:00:03.123456+00:00 shop[web]: d",
        ],
        id="forward-every-time-form",
    ),
    pytest.param(
        forward_frame(TAG, [entry(fixext8_time(BASE_NS), {"log": "no options"})]),
        None,
        [WEB + "no options"],
        id="forward-no-options",
    ),
    pytest.param(
        packed_frame(TAG, _payload("p1", "p2"), options_map("p-bin", size=2)),
        "p-bin",
        [WEB + "p1", WEB + "p2"],
        id="packed-forward-bin",
    ),
    pytest.param(
        packed_frame(
            TAG, _payload("s1", "s2"), options_map("p-str", compressed="text"), as_str=True
        ),
        "p-str",
        [WEB + "s1", WEB + "s2"],
        id="packed-forward-str",
    ),
    pytest.param(
        packed_frame(TAG, gzip_members(_payload("g1", "g2")), options_map("z1", compressed="gzip")),
        "z1",
        [WEB + "g1", WEB + "g2"],
        id="compressed-one-member",
    ),
    pytest.param(
        packed_frame(
            TAG,
            gzip_members(_payload("g1", "g2"), _payload("g3")),
            options_map("z2", compressed="gzip", size=3),
        ),
        "z2",
        [WEB + "g1", WEB + "g2", WEB + "g3"],
        id="compressed-two-members",
    ),
    pytest.param(
        forward_frame(
            TAG,
            [entry(fixext8_time(BASE_NS), {"log": "options"})],
            options_map(
                "u1", size=1, fluent_signal=0, unknown={"nested": [1, 2, {"x": None}]}, zz=b"\x00"
            ),
        ),
        "u1",
        [WEB + "options"],
        id="unknown-options-ignored",
    ),
]


@pytest.mark.parametrize(("frame", "chunk", "expected"), RAW_FRAMES)
async def test_raw_frame_modes(
    start_logger: StartLogger, frame: bytes, chunk: str | None, expected: list[str]
) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    try:
        if chunk is None:
            await conn.send(frame)
            lines = await logger.wait_for_lines("shop", len(expected))
        else:
            await conn.send_and_ack(frame, chunk)
            lines = await logger.lines("shop")  # no waiting: the ack means stored
    finally:
        await conn.close()
    assert lines == expected
    assert await logger.metric("logger_received_events_total", input="forward") == len(expected)
    assert await logger.metric("logger_received_bytes_total", input="forward") == len(frame)
    assert await logger.metric("logger_acks_sent_total") == (0 if chunk is None else 1)


CAPTURES = sorted((FIXTURES / "fluent-bit-5.1.1").glob("*.bin")) + sorted(
    (FIXTURES / "fluentd-1.18.0").glob("*.bin")
)


def test_every_capture_is_replayed() -> None:
    assert [path.name for path in CAPTURES] == [
        "fb-compressed-gzip.bin",
        "fb-forward-ack.bin",
        "fb-forward-default.bin",
        "fb-forward-no-metadata.bin",
        "fb-forward-time-integer.bin",
        "fb-message-dynamic-tag.bin",
        "fd-ack.bin",
        "fd-gzip.bin",
        "fd-packed.bin",
    ]


@pytest.mark.parametrize(
    "data", [path.read_bytes() for path in CAPTURES], ids=[path.name for path in CAPTURES]
)
async def test_capture_replayed_over_a_connection(start_logger: StartLogger, data: bytes) -> None:
    content = read_capture(data)
    expected = [
        f"{rfc3339(event.epoch_ns)} shop[web.x2x9z]: {event.log}" for event in content.events
    ]
    assert len(expected) == 5
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    try:
        await conn.send(data)
        if content.chunks:
            for chunk in content.chunks:
                wanted = ack_bytes(chunk)
                assert await conn.receive_exactly(len(wanted)) == wanted
            lines = await logger.lines("shop")  # readable as soon as acked
        else:
            lines = await logger.wait_for_lines("shop", 5)
    finally:
        await conn.close()
    assert lines == expected
    assert await logger.metric("logger_received_events_total", input="forward") == 5
    assert await logger.metric("logger_acks_sent_total") == len(content.chunks)


async def test_ack_is_sent_only_after_lines_are_readable(start_logger: StartLogger) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    sent: list[str] = []
    try:
        for number in range(10):
            messages = [f"frame {number} line {i}" for i in range(25)]
            entries = [entry(fixext8_time(BASE_NS), {"log": m}) for m in messages]
            chunk = f"chunk-{number}"
            await conn.send_and_ack(forward_frame(TAG, entries, options_map(chunk)), chunk)
            sent.extend(messages)
            assert messages_of(await logger.lines("shop")) == sent
    finally:
        await conn.close()
    assert await logger.metric("logger_acks_sent_total") == 10


async def test_frames_sent_in_one_write_are_each_acked_in_order(
    start_logger: StartLogger,
) -> None:
    """Acks of the frames stored from one read go out together: every one of
    them, in order, and a frame without a chunk asks for none."""
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    frames = []
    for number in range(12):
        chunk = f"burst-{number}" if number != 5 else None
        entries = [entry(fixext8_time(BASE_NS), {"log": f"burst {number}"})]
        frames.append(forward_frame(TAG, entries, options_map(chunk)))
    try:
        await conn.send(b"\xc0".join(frames))  # heartbeats between them, in one write
        acks = [await conn.receive() for _ in range(11)]
    finally:
        await conn.close()
    assert acks == [{"ack": f"burst-{n}"} for n in range(12) if n != 5]
    assert messages_of(await logger.lines("shop")) == [f"burst {n}" for n in range(12)]
    assert await logger.metric("logger_acks_sent_total") == 11


async def test_tcp_heartbeat_is_ignored(start_logger: StartLogger) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    try:
        await conn.send(b"\xc0")
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "after"}, options_map("h1"))
        await conn.send_and_ack(frame, "h1")
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "again"}, options_map("h2"))
        await conn.send_and_ack(b"\xc0\xc0" + frame + b"\xc0", "h2")
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "last"}, options_map("h3"))
        await conn.send_and_ack(frame, "h3")
    finally:
        await conn.close()
    assert await logger.lines("shop") == [WEB + "after", WEB + "again", WEB + "last"]
    assert await logger.metric("logger_received_events_total", input="forward") == 3
    assert (
        await logger.metric("logger_errors_total", error_type="malformed_frame", stage="receiving")
        == 0
    )


async def test_frames_arriving_byte_by_byte(start_logger: StartLogger) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    frames = [
        forward_frame(
            TAG, [entry(fixext8_time(BASE_NS), {"log": f"slow {n}"})], options_map(f"b{n}")
        )
        for n in range(2)
    ]
    try:
        for byte in b"".join(frames):
            await conn.send(bytes([byte]))
        for n in range(2):
            wanted = ack_bytes(f"b{n}")
            assert await conn.receive_exactly(len(wanted)) == wanted
    finally:
        await conn.close()
    assert await logger.lines("shop") == [WEB + "slow 0", WEB + "slow 1"]


# --- 3. handshake --------------------------------------------------------------------

SHARED_KEY = b"s3cret shared key"
SERVER_HOSTNAME = "logger-test"


def sha512_hex(*parts: bytes) -> str:
    return hashlib.sha512(b"".join(parts)).hexdigest()


async def handshake(
    conn: RawConnection,
    shared_key: bytes,
    *,
    username: bytes = b"",
    password: bytes = b"",
    then_send: bytes = b"",
) -> tuple[list[Any], str]:
    """Read the HELO, answer with a PING (computed here with hashlib) and
    return the PONG and the server digest a correct PONG must carry."""
    helo = await conn.receive()
    assert isinstance(helo, list)
    assert helo[0] == "HELO"
    assert set(helo[1]) == {"nonce", "auth", "keepalive"}
    nonce, auth_salt = helo[1]["nonce"], helo[1]["auth"]
    assert isinstance(nonce, bytes)
    assert len(nonce) == 16
    assert isinstance(auth_salt, bytes)
    salt = os.urandom(16)
    hostname = b"client-host"
    ping = [
        "PING",
        hostname.decode(),
        salt,
        sha512_hex(salt, hostname, nonce, shared_key),
        username,
        sha512_hex(auth_salt, username, password) if auth_salt else "",
    ]
    await conn.send(msgpack.packb(ping) + then_send)
    pong = await conn.receive()
    assert isinstance(pong, list)
    server_digest = sha512_hex(salt, SERVER_HOSTNAME.encode(), nonce, SHARED_KEY)
    return pong, server_digest


def handshake_settings(users: dict[bytes, bytes] | None = None) -> HandshakeSettings:
    return HandshakeSettings(
        shared_key=SHARED_KEY, server_hostname=SERVER_HOSTNAME, users=users or {}
    )


async def test_handshake_right_key(start_logger: StartLogger) -> None:
    logger = await start_logger(handshake=handshake_settings())
    conn = await RawConnection.open(logger.port)
    try:
        pong, digest = await handshake(conn, SHARED_KEY)
        assert pong == ["PONG", True, "", SERVER_HOSTNAME, digest]
        frame = message_frame(
            TAG, fixext8_time(BASE_NS), {"log": "authenticated"}, options_map("a")
        )
        await conn.send_and_ack(frame, "a")
    finally:
        await conn.close()
    assert await logger.lines("shop") == [WEB + "authenticated"]
    assert (
        await logger.metric("logger_errors_total", error_type="handshake_failed", stage="handshake")
        == 0
    )


async def test_handshake_wrong_key_is_refused_and_closed(start_logger: StartLogger) -> None:
    logger = await start_logger(handshake=handshake_settings())
    conn = await RawConnection.open(logger.port)
    try:
        # A frame pipelined right behind the PING must not be stored.
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "intruder"}, options_map("x"))
        pong, _ = await handshake(conn, b"wrong key", then_send=frame)
        assert pong == ["PONG", False, "shared_key mismatch", SERVER_HOSTNAME, ""]
        assert await conn.closed_by_peer() == b""
    finally:
        await conn.close()
    assert await logger.lines("shop") == []
    assert (
        await logger.metric("logger_errors_total", error_type="handshake_failed", stage="handshake")
        == 1
    )
    assert await logger.metric("logger_received_events_total", input="forward") == 0
    assert await logger.metric("logger_open_connections", input="forward") == 0


async def test_handshake_users(start_logger: StartLogger) -> None:
    users = {b"alice": b"wonderland", b"bob": b"builder"}
    logger = await start_logger(handshake=handshake_settings(users))
    # Right user and password.
    conn = await RawConnection.open(logger.port)
    try:
        pong, digest = await handshake(conn, SHARED_KEY, username=b"bob", password=b"builder")
        assert pong == ["PONG", True, "", SERVER_HOSTNAME, digest]
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "bob here"}, options_map("b"))
        await conn.send_and_ack(frame, "b")
    finally:
        await conn.close()
    # Wrong password, unknown user, and no user at all.
    for username, password in [(b"alice", b"builder"), (b"mallory", b"x"), (b"", b"")]:
        conn = await RawConnection.open(logger.port)
        try:
            pong, _ = await handshake(conn, SHARED_KEY, username=username, password=password)
            assert pong == ["PONG", False, "username/password mismatch", SERVER_HOSTNAME, ""]
            assert await conn.closed_by_peer() == b""
        finally:
            await conn.close()
    assert await logger.lines("shop") == [WEB + "bob here"]
    assert (
        await logger.metric("logger_errors_total", error_type="handshake_failed", stage="handshake")
        == 3
    )


async def test_handshake_skipped_by_the_client_is_refused(start_logger: StartLogger) -> None:
    logger = await start_logger(handshake=handshake_settings())
    conn = await RawConnection.open(logger.port)
    try:
        helo = await conn.receive()
        assert helo[0] == "HELO"
        await conn.send(message_frame(TAG, fixext8_time(BASE_NS), {"log": "no ping"}))
        assert await conn.closed_by_peer() == b""
    finally:
        await conn.close()
    assert await logger.lines("shop") == []
    assert (
        await logger.metric("logger_errors_total", error_type="handshake_failed", stage="handshake")
        == 1
    )


async def test_handshake_timeout(start_logger: StartLogger) -> None:
    logger = await start_logger(handshake=handshake_settings(), handshake_timeout=0.5)
    conn = await RawConnection.open(logger.port)
    started = time.monotonic()
    try:
        helo = await conn.receive()
        assert helo[0] == "HELO"
        assert await conn.closed_by_peer(timeout=3.0) == b""
    finally:
        await conn.close()
    assert 0.4 <= time.monotonic() - started < 3.0
    assert (
        await logger.metric(
            "logger_errors_total", error_type="handshake_timeout", stage="handshake"
        )
        == 1
    )
    assert await logger.metric("logger_open_connections", input="forward") == 0


# --- 4. TLS ---------------------------------------------------------------------------


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[trustme.CA, Path, Path, Path]:
    ca = trustme.CA()
    server_cert = ca.issue_cert(HOST, "localhost")
    cert_path, key_path, ca_path = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    for index, pem in enumerate(server_cert.cert_chain_pems):
        pem.write_to_path(str(cert_path), append=index > 0)
    server_cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return ca, cert_path, key_path, ca_path


async def test_tls_client_gets_acks_and_plain_client_is_closed(
    start_logger: StartLogger, tls_files: tuple[trustme.CA, Path, Path, Path]
) -> None:
    ca, cert_path, key_path, _ = tls_files
    logger = await start_logger(tls_cert=cert_path, tls_key=key_path)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    tls = await RawConnection.open(logger.port, context)
    try:
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "secure 1"}, options_map("t1"))
        await tls.send_and_ack(frame, "t1")
        plain = await RawConnection.open(logger.port)
        try:
            frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "plain"}, options_map("p"))
            await plain.send(frame)
            received = await plain.closed_by_peer()
            assert ack_bytes("p") not in received
        finally:
            await plain.close()
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": "secure 2"}, options_map("t2"))
        await tls.send_and_ack(frame, "t2")
        # A frame spread over many TLS records (100 KiB: 7 lines of at most 16 KiB).
        big = "y" * (100 << 10)
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": big}, options_map("t3"))
        await tls.send_and_ack(frame, "t3")
    finally:
        await tls.close()
    lines = await logger.lines("shop")
    assert lines[:2] == [WEB + "secure 1", WEB + "secure 2"]
    assert len(lines) == 9
    assert "".join(messages_of(lines[2:])) == big
    assert await logger.metric("logger_acks_sent_total") == 3


async def test_client_that_never_starts_tls_is_dropped_after_handshake_timeout(
    start_logger: StartLogger, tls_files: tuple[trustme.CA, Path, Path, Path]
) -> None:
    _, cert_path, key_path, _ = tls_files
    logger = await start_logger(tls_cert=cert_path, tls_key=key_path, handshake_timeout=0.5)
    silent = await RawConnection.open(logger.port)
    started = time.monotonic()
    try:
        assert await silent.closed_by_peer(timeout=3.0) == b""
    finally:
        await silent.close()
    assert time.monotonic() - started < 3.0


async def test_forward_client_over_tls_with_handshake(
    start_logger: StartLogger, tls_files: tuple[trustme.CA, Path, Path, Path]
) -> None:
    _, cert_path, key_path, ca_path = tls_files
    logger = await start_logger(
        tls_cert=cert_path, tls_key=key_path, handshake=handshake_settings()
    )

    def send() -> None:
        with ForwardClient(
            HOST,
            logger.port,
            shared_key=SHARED_KEY,
            tls=True,
            ca_file=str(ca_path),
            timeout=TIMEOUT,
        ) as client:
            client.send(TAG, [(BASE_NS, {"log": "one"}), (BASE_NS + SECOND, {"log": "two"})])

    await asyncio.to_thread(send)
    assert await logger.lines("shop") == [
        WEB + "one",
        "2026-11-22T10:00:01.123456+00:00 shop[web]: two",
    ]


# --- 5. UDP heartbeat -----------------------------------------------------------------


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received.append(data)
        self.arrived.set()


async def test_udp_heartbeat(start_logger: StartLogger) -> None:
    logger = await start_logger()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Datagrams, remote_addr=(HOST, logger.port)
    )
    try:
        transport.sendto(b"not a heartbeat")
        transport.sendto(b"\x00")
        await asyncio.wait_for(protocol.arrived.wait(), TIMEOUT)
        await asyncio.sleep(0.1)  # anything else would have arrived by now
        assert protocol.received == [b"\x00"]
    finally:
        transport.close()


# --- 6. bad input ---------------------------------------------------------------------

MAX_FRAME = 64 << 10


def _gzip_bomb() -> bytes:
    payload = entry(fixext8_time(BASE_NS), {"log": "0" * (4 << 20)})
    compressed = gzip.compress(payload, compresslevel=9)
    assert len(compressed) < MAX_FRAME
    return packed_frame("app.shop.web", compressed, {"compressed": "gzip"})


BAD_INPUT = [
    pytest.param(b"\xc1" * 32, "malformed_stream", id="garbage"),
    pytest.param(
        forward_frame(TAG, [entry(fixext8_time(BASE_NS), {"log": "x" * (MAX_FRAME + 1)})]),
        "frame_too_large",
        id="frame-too-large",
    ),
    pytest.param(_gzip_bomb(), "frame_too_large", id="gzip-bomb"),
    pytest.param(msgpack.packb(42), "malformed_frame", id="int"),
    pytest.param(msgpack.packb({"tag": "app.shop"}), "malformed_frame", id="map"),
    pytest.param(msgpack.packb(["app.shop"]), "malformed_frame", id="short-array"),
]


@pytest.mark.parametrize(("bad", "error_type"), BAD_INPUT)
async def test_bad_input_closes_only_its_connection(
    start_logger: StartLogger, bad: bytes, error_type: str
) -> None:
    logger = await start_logger(max_frame_bytes=MAX_FRAME)
    stop = asyncio.Event()
    steady = asyncio.create_task(steady_sender(logger.port, stop))
    try:
        await logger.wait_for_lines("steady", 20)
        conn = await RawConnection.open(logger.port)
        try:
            # A good frame first: it is stored and acked before the connection closes.
            good = message_frame(TAG, fixext8_time(BASE_NS), {"log": "good"}, options_map("g"))
            await conn.send(good + bad)
            assert await conn.closed_by_peer() == ack_bytes("g")
        finally:
            await conn.close()
        assert await logger.metric("logger_open_connections", input="forward") == 1
        lines_before = len(await logger.lines("steady"))
        await logger.wait_for_lines("steady", lines_before + 20)  # still flowing
    finally:
        stop.set()
    sent = await asyncio.wait_for(steady, TIMEOUT)
    assert messages_of(await logger.lines("steady")) == sent
    assert await logger.lines("shop") == [WEB + "good"]
    assert await logger.metric("logger_errors_total", error_type=error_type, stage="receiving") == 1
    assert await logger.metric("logger_acks_sent_total") == len(sent) // 10 + 1


def _sized(build: Callable[[str], bytes], size: int) -> bytes:
    """What `build(message)` makes, with the message padded to `size` bytes in all."""
    overhead = len(build("x" * 1000)) - 1000
    built = build("x" * (size - overhead))
    assert len(built) == size
    return built


def _plain_frame(message: str) -> bytes:
    return forward_frame(TAG, [entry(fixext8_time(BASE_NS), {"log": message})], options_map("z"))


def _inflating_to(size: int) -> bytes:
    payload = _sized(lambda message: entry(fixext8_time(BASE_NS), {"log": message}), size)
    return packed_frame(TAG, gzip.compress(payload), options_map("z", compressed="gzip"))


@pytest.mark.parametrize(
    ("frame", "accepted"),
    [
        pytest.param(_sized(_plain_frame, MAX_FRAME), True, id="frame-at-limit"),
        pytest.param(_sized(_plain_frame, MAX_FRAME + 1), False, id="frame-past-limit"),
        pytest.param(_inflating_to(MAX_FRAME), True, id="gzip-at-limit"),
        pytest.param(_inflating_to(MAX_FRAME + 1), False, id="gzip-past-limit"),
    ],
)
async def test_frame_size_limit_boundaries(
    start_logger: StartLogger, frame: bytes, accepted: bool
) -> None:
    logger = await start_logger(max_frame_bytes=MAX_FRAME)
    conn = await RawConnection.open(logger.port)
    try:
        await conn.send(frame)
        if accepted:
            assert await conn.receive_exactly(len(ack_bytes("z"))) == ack_bytes("z")
        else:
            assert await conn.closed_by_peer() == b""
    finally:
        await conn.close()
    lines = await logger.lines("shop")
    assert len(lines) == (4 if accepted else 0)  # 16 KiB lines
    assert set("".join(messages_of(lines))) <= {"x"}
    errors = await logger.metric(
        "logger_errors_total", error_type="frame_too_large", stage="receiving"
    )
    assert errors == (0 if accepted else 1)


async def test_invalid_entries_are_counted_and_the_rest_stored(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    try:
        entries = [
            entry(fixext8_time(BASE_NS), {"log": "first"}),
            entry(fixext8_time(BASE_NS), "a record that is a string"),
            entry(fixext8_time(BASE_NS), [1, 2, 3]),
            b"\x91" + fixext8_time(BASE_NS),  # an entry of one element
            entry(msgpack.packb("yesterday"), {"log": "bad time"}),
            entry(fixext8_time(BASE_NS), {"log": "last"}),
        ]
        await conn.send_and_ack(forward_frame(TAG, entries, options_map("e1")), "e1")
        message = message_frame(TAG, fixext8_time(BASE_NS), 12345, options_map("e2"))
        await conn.send_and_ack(message, "e2")
        # The connection is still usable.
        good = message_frame(TAG, fixext8_time(BASE_NS), {"log": "still open"}, options_map("e3"))
        await conn.send_and_ack(good, "e3")
    finally:
        await conn.close()
    assert await logger.lines("shop") == [WEB + "first", WEB + "last", WEB + "still open"]
    assert await logger.metric("logger_discarded_events_total", reason="invalid_entry") == 4
    assert await logger.metric("logger_discarded_events_total", reason="invalid_time") == 1
    assert await logger.metric("logger_received_events_total", input="forward") == 8
    assert await logger.metric("logger_stored_lines_total") == 3
    assert (
        await logger.metric("logger_errors_total", error_type="malformed_frame", stage="receiving")
        == 0
    )


async def test_records_without_an_app_are_discarded(start_logger: StartLogger) -> None:
    logger = await start_logger()
    no_labels = {"pod_name": "x-1", "container_name": "c"}
    conn = await RawConnection.open(logger.port)
    try:
        entries = [
            entry(fixext8_time(BASE_NS), {"log": "no app 1"}),
            entry(fixext8_time(BASE_NS), {"log": "routed", "kubernetes": KUBERNETES}),
            entry(fixext8_time(BASE_NS), {"log": "no app 2", "kubernetes": no_labels}),
        ]
        await conn.send_and_ack(forward_frame("kube.var.log", entries, options_map("n1")), "n1")
        # `app.` has no name, `application.shop` is not the convention, `kube` neither.
        for tag in ["app.", "application.shop", "kube"]:
            frame = message_frame(tag, fixext8_time(BASE_NS), {"log": "x"}, options_map(tag))
            await conn.send_and_ack(frame, tag)
        # A name that breaks the app-name rule has a reason of its own.
        for tag in ["app.bad name", "app.Shop.web"]:
            frame = message_frame(tag, fixext8_time(BASE_NS), {"log": "x"}, options_map(tag))
            await conn.send_and_ack(frame, tag)
    finally:
        await conn.close()
    assert await logger.lines("shop") == [POD + "routed"]
    assert await logger.lines("kube") == []
    assert await logger.lines("application") == []
    assert await logger.metric("logger_discarded_events_total", reason="no_app") == 5
    assert await logger.metric("logger_discarded_events_total", reason="invalid_app_name") == 2
    assert await logger.metric("logger_buffered_apps") == 1


async def test_idle_timeout(start_logger: StartLogger) -> None:
    logger = await start_logger(idle_timeout=0.5)
    stop = asyncio.Event()
    steady = asyncio.create_task(steady_sender(logger.port, stop))
    try:
        await logger.wait_for_lines("steady", 20)
        conn = await RawConnection.open(logger.port)
        started = time.monotonic()
        try:
            assert await conn.closed_by_peer(timeout=3.0) == b""
        finally:
            await conn.close()
        assert 0.4 <= time.monotonic() - started < 3.0
    finally:
        stop.set()
    sent = await asyncio.wait_for(steady, TIMEOUT)
    assert messages_of(await logger.lines("steady")) == sent
    assert (
        await logger.metric("logger_errors_total", error_type="idle_timeout", stage="receiving")
        == 1
    )


async def test_client_that_never_reads_its_acks_is_closed_after_idle_timeout(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger(idle_timeout=0.5, max_connections=1)
    stuck = await RawConnection.open(logger.port)
    # Large chunk ids make large acks: the logger's send buffer fills up fast.
    chunk = "c" * 60_000
    frame = forward_frame(TAG, [entry(fixext8_time(BASE_NS), {"log": "x"})], options_map(chunk))
    for _ in range(200):
        stuck.writer.write(frame)  # never drained, and nothing is ever read
    try:
        await logger.wait_for_metric(0, "logger_open_connections", timeout=3.0, input="forward")
        errors = await logger.metric(
            "logger_errors_total", error_type="idle_timeout", stage="receiving"
        )
        assert errors == 1
        # The slot is free again.
        other = await RawConnection.open(logger.port)
        try:
            good = message_frame(TAG, fixext8_time(BASE_NS), {"log": "next"}, options_map("n"))
            await other.send_and_ack(good, "n")
        finally:
            await other.close()
        # And the stuck connection is really gone, not left waiting for its acks to flush.
        await stuck.closed_by_peer(timeout=3.0)
    finally:
        stuck.writer.transport.abort()
    assert (await logger.lines("shop"))[-1] == WEB + "next"


async def test_max_connections(start_logger: StartLogger) -> None:
    logger = await start_logger(max_connections=2)

    def frame(text: str) -> bytes:
        return message_frame(TAG, fixext8_time(BASE_NS), {"log": text}, options_map(text))

    first = await RawConnection.open(logger.port)
    second = await RawConnection.open(logger.port)
    try:
        await first.send_and_ack(frame("first 1"), "first 1")
        await second.send_and_ack(frame("second 1"), "second 1")
        third = await RawConnection.open(logger.port)
        try:
            await third.send(frame("third"))
            assert await third.closed_by_peer() == b""
        finally:
            await third.close()
        assert (
            await logger.metric(
                "logger_errors_total", error_type="too_many_connections", stage="accept"
            )
            == 1
        )
        assert await logger.metric("logger_open_connections", input="forward") == 2
        await first.send_and_ack(frame("first 2"), "first 2")
        await second.send_and_ack(frame("second 2"), "second 2")
    finally:
        await first.close()
    # Once one leaves, a new connection is accepted again.
    await logger.wait_for_metric(1, "logger_open_connections", input="forward")
    fourth = await RawConnection.open(logger.port)
    try:
        await fourth.send_and_ack(frame("fourth"), "fourth")
        await second.send_and_ack(frame("second 3"), "second 3")
    finally:
        await fourth.close()
        await second.close()
    assert messages_of(await logger.lines("shop")) == [
        "first 1",
        "second 1",
        "first 2",
        "second 2",
        "fourth",
        "second 3",
    ]


# --- 7. long lines --------------------------------------------------------------------


async def test_long_message_is_split_into_lines(start_logger: StartLogger) -> None:
    logger = await start_logger(max_line_bytes=16 << 10)
    long_ascii = "".join(chr(ord("a") + index % 26) for index in range(40 << 10))
    long_utf8 = "€" * 14_000  # 42,000 bytes of 3-byte characters
    conn = await RawConnection.open(logger.port)
    try:
        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": long_ascii}, options_map("l1"))
        await conn.send_and_ack(frame, "l1")
        lines = await logger.lines("shop")
        assert len(lines) == 3
        assert all(line.startswith(WEB) for line in lines)
        pieces = [line[len(WEB) :] for line in lines]
        assert [len(piece) for piece in pieces] == [16 << 10, 16 << 10, 8 << 10]
        assert "".join(pieces) == long_ascii

        frame = message_frame(TAG, fixext8_time(BASE_NS), {"log": long_utf8}, options_map("l2"))
        await conn.send_and_ack(frame, "l2")
        lines = (await logger.lines("shop"))[3:]
        assert len(lines) == 3
        assert all(line.startswith(WEB) for line in lines)
        pieces = [line[len(WEB) :] for line in lines]
        assert all(len(piece.encode()) <= 16 << 10 for piece in pieces)
        assert "".join(pieces) == long_utf8
    finally:
        await conn.close()
    assert await logger.metric("logger_received_events_total", input="forward") == 2
    assert await logger.metric("logger_stored_lines_total") == 6


# --- 8. the logs API over real ingest -------------------------------------------------


async def test_follow_gets_history_then_live_lines_with_none_lost_or_repeated(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger(store=StoreSettings(lines_per_app=5000))
    history = [f"history {i}" for i in range(5)]
    await send_messages(logger.port, TAG, history)
    live = [f"live {i}" for i in range(2000)]
    # send_messages spaces event times 1 ms apart; the live lines all share BASE_NS.
    expected = [
        f"{rfc3339(BASE_NS + index * 1_000_000)} shop[web]: {m}" for index, m in enumerate(history)
    ] + [WEB + m for m in live]

    response = await logger.client.get(
        "/logs/shop", params={"follow": "true", "timeout": "2", "log_lines": "-1"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    first = [
        (await asyncio.wait_for(response.content.readline(), TIMEOUT)).decode()
        for _ in range(len(history))
    ]

    late_follow: asyncio.Task[Any] | None = None

    async def ingest() -> None:
        nonlocal late_follow
        conn = await RawConnection.open(logger.port)
        try:
            for number in range(20):
                batch = live[number * 100 : (number + 1) * 100]
                entries = [entry(fixext8_time(BASE_NS), {"log": m}) for m in batch]
                chunk = f"live-{number}"
                await conn.send_and_ack(forward_frame(TAG, entries, options_map(chunk)), chunk)
                if number == 9:  # a second follow starts in the middle of the ingest
                    late_follow = asyncio.create_task(
                        logger.client.get(
                            "/logs/shop",
                            params={
                                "follow": "true",
                                "timeout": "1.5",
                                "log_lines": "-1",
                                "format": "json",
                            },
                        )
                    )
                await asyncio.sleep(0)
        finally:
            await conn.close()

    ingesting = asyncio.create_task(ingest())
    rest = await asyncio.wait_for(response.read(), TIMEOUT)
    await asyncio.wait_for(ingesting, TIMEOUT)
    followed = [line.rstrip("\n") for line in first] + rest.decode().splitlines()
    assert followed == expected

    assert late_follow is not None
    late_response = await asyncio.wait_for(late_follow, TIMEOUT)
    assert late_response.status == 200
    records = [json.loads(line) for line in (await late_response.read()).decode().splitlines()]
    assert [record["message"] for record in records] == history + live
    seqs = [record["seq"] for record in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert await logger.metric("logger_follower_dropped_lines_total") == 0
    assert await logger.metric("logger_followers") == 0


async def test_follow_with_a_proc_filter(start_logger: StartLogger) -> None:
    logger = await start_logger()
    worker = {
        **KUBERNETES,
        "pod_name": "shop-worker-6f-abcde",
        "labels": {"app": "shop", "type": "worker"},
    }

    def frame(chunk: str, *records: dict[str, Any]) -> bytes:
        entries = [entry(fixext8_time(BASE_NS), record) for record in records]
        return forward_frame(TAG, entries, options_map(chunk))

    conn = await RawConnection.open(logger.port)
    try:
        await conn.send_and_ack(
            frame(
                "h",
                {"log": "old web", "kubernetes": KUBERNETES},
                {"log": "old worker", "kubernetes": worker},
            ),
            "h",
        )
        response = await logger.client.get(
            "/logs/shop", params={"follow": "true", "timeout": "0.7", "proc": "worker"}
        )
        assert response.status == 200
        line = await asyncio.wait_for(response.content.readline(), TIMEOUT)
        assert line == f"{BASE_TEXT} shop[worker.abcde]: old worker\n".encode()
        await conn.send_and_ack(
            frame(
                "l",
                {"log": "new web", "kubernetes": KUBERNETES},
                {"log": "new worker", "kubernetes": worker},
            ),
            "l",
        )
        rest = await asyncio.wait_for(response.read(), TIMEOUT)
    finally:
        await conn.close()
    assert rest == f"{BASE_TEXT} shop[worker.abcde]: new worker\n".encode()


async def test_json_format_fields(start_logger: StartLogger) -> None:
    logger = await start_logger()
    conn = await RawConnection.open(logger.port)
    try:
        entries = [
            entry(
                fixext8_time(BASE_NS), {"log": "out", "stream": "stdout", "kubernetes": KUBERNETES}
            ),
            entry(
                fixext8_time(BASE_NS + SECOND),
                {"log": "err", "stream": "stderr", "kubernetes": KUBERNETES},
            ),
            entry(fixext8_time(BASE_NS + 2 * SECOND), {"log": "tagged"}),
        ]
        await conn.send_and_ack(forward_frame(TAG, entries, options_map("j")), "j")
    finally:
        await conn.close()
    response = await logger.client.get("/logs/shop", params={"format": "json"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in (await response.text()).splitlines()]
    first_seq = records[0]["seq"]
    assert isinstance(first_seq, int)
    assert records == [
        {
            "seq": first_seq,
            "time": BASE_TEXT,
            "app": "shop",
            "proc": "web",
            "instance": "x2x9z",
            "stream": "stdout",
            "message": "out",
        },
        {
            "seq": first_seq + 1,
            "time": "2026-11-22T10:00:01.123456+00:00",
            "app": "shop",
            "proc": "web",
            "instance": "x2x9z",
            "stream": "stderr",
            "message": "err",
        },
        {
            "seq": first_seq + 2,
            "time": "2026-11-22T10:00:02.123456+00:00",
            "app": "shop",
            "proc": "web",
            "instance": "",
            "stream": "",
            "message": "tagged",
        },
    ]


async def test_proc_filter_is_a_prefix(start_logger: StartLogger) -> None:
    logger = await start_logger()
    worker = {
        **KUBERNETES,
        "pod_name": "shop-worker-6f-abcde",
        "labels": {"app": "shop", "type": "worker"},
    }
    other_web = {**KUBERNETES, "pod_name": "shop-web-7d9f8b6c5-qwert"}
    conn = await RawConnection.open(logger.port)
    try:
        entries = [
            entry(fixext8_time(BASE_NS), {"log": "w1", "kubernetes": KUBERNETES}),
            entry(fixext8_time(BASE_NS), {"log": "k1", "kubernetes": worker}),
            entry(fixext8_time(BASE_NS), {"log": "w2", "kubernetes": other_web}),
            entry(fixext8_time(BASE_NS), {"log": "t1"}),
            entry(fixext8_time(BASE_NS), {"log": "w3", "kubernetes": KUBERNETES}),
        ]
        await conn.send_and_ack(forward_frame(TAG, entries, options_map("p")), "p")
    finally:
        await conn.close()
    assert messages_of(await logger.lines("shop", proc="web")) == ["w1", "w2", "t1", "w3"]
    assert messages_of(await logger.lines("shop", proc="web.x2")) == ["w1", "w3"]
    assert messages_of(await logger.lines("shop", proc="worker")) == ["k1"]
    assert messages_of(await logger.lines("shop", proc="web", log_lines="2")) == ["t1", "w3"]
    assert await logger.lines("shop", proc="nothing") == []


async def test_since_filter(start_logger: StartLogger) -> None:
    logger = await start_logger()
    messages = [f"second {k}" for k in range(5)]
    conn = await RawConnection.open(logger.port)
    try:
        entries = [
            entry(fixext8_time(BASE_NS + k * SECOND), {"log": m}) for k, m in enumerate(messages)
        ]
        await conn.send_and_ack(forward_frame(TAG, entries, options_map("s")), "s")
    finally:
        await conn.close()
    assert messages_of(await logger.lines("shop", since="2026-11-22T10:00:02Z")) == messages[2:]
    assert (
        messages_of(await logger.lines("shop", since="2026-11-22T11:00:03+01:00")) == messages[3:]
    )
    assert (
        messages_of(await logger.lines("shop", since="2026-11-22T10:00:03.123456Z")) == messages[3:]
    )
    assert (
        messages_of(await logger.lines("shop", since="2026-11-22T10:00:03.123457Z")) == messages[4:]
    )
    assert (
        messages_of(await logger.lines("shop", since="2026-11-22T10:00:01Z", log_lines="1"))
        == messages[4:]
    )
    assert await logger.lines("shop", since="2026-11-23T00:00:00Z") == []


async def test_after_seq_resumes_without_a_gap(start_logger: StartLogger) -> None:
    logger = await start_logger()
    first_batch = [f"first {i}" for i in range(5)]
    await send_messages(logger.port, TAG, first_batch)
    response = await logger.client.get("/logs/shop", params={"format": "json", "log_lines": "-1"})
    records = [json.loads(line) for line in (await response.text()).splitlines()]
    seqs = [record["seq"] for record in records]
    assert [record["message"] for record in records] == first_batch
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert messages_of(await logger.lines("shop", after_seq=str(seqs[2]))) == first_batch[3:]
    assert await logger.lines("shop", after_seq=str(seqs[4])) == []

    second_batch = [f"second {i}" for i in range(3)]
    await send_messages(logger.port, TAG, second_batch, chunk_prefix="d")
    assert messages_of(await logger.lines("shop", after_seq=str(seqs[4]))) == second_batch
    response = await logger.client.get(
        "/logs/shop", params={"format": "json", "after_seq": str(seqs[4])}
    )
    resumed = [json.loads(line)["seq"] for line in (await response.text()).splitlines()]
    assert resumed == [seqs[4] + 1, seqs[4] + 2, seqs[4] + 3]
    # A follow resumes from the same point.
    response = await logger.client.get(
        "/logs/shop", params={"follow": "true", "timeout": "0.3", "after_seq": str(seqs[4])}
    )
    assert messages_of((await response.text()).splitlines()) == second_batch


async def test_delete_then_no_content(start_logger: StartLogger) -> None:
    logger = await start_logger()
    await send_messages(logger.port, TAG, ["one", "two"])
    assert len(await logger.lines("shop")) == 2
    response = await logger.client.delete("/logs/shop")
    assert response.status == 204
    response = await logger.client.get("/logs/shop")
    assert response.status == 204
    assert await response.read() == b""
    response = await logger.client.delete("/logs/shop")
    assert response.status == 404
    assert await response.json() == {"detail": "no logs for shop"}
    assert await logger.metric("logger_buffered_lines") == 0
    # The app comes back with new lines only.
    await send_messages(logger.port, TAG, ["three"], chunk_prefix="again")
    assert messages_of(await logger.lines("shop")) == ["three"]


async def test_log_lines_limits(start_logger: StartLogger) -> None:
    logger = await start_logger()
    messages = [f"line {i}" for i in range(150)]
    await send_messages(logger.port, TAG, messages)
    response = await logger.client.get("/logs/shop")
    assert response.status == 200
    assert messages_of((await response.text()).splitlines()) == messages[-100:]
    assert messages_of(await logger.lines("shop", log_lines="-1")) == messages
    assert messages_of(await logger.lines("shop", log_lines="5")) == messages[-5:]
    assert messages_of(await logger.lines("shop", log_lines="500")) == messages


@pytest.mark.parametrize(
    ("path", "params", "about"),
    [
        ("/logs/shop", {"log_lines": "abc"}, "log_lines"),
        ("/logs/shop", {"log_lines": "-2"}, "log_lines"),
        ("/logs/shop", {"since": "yesterday"}, "since"),
        ("/logs/shop", {"since": "2026-11-22T10:00:00"}, "since"),
        ("/logs/shop", {"format": "xml"}, "format"),
        ("/logs/shop", {"follow": "true", "timeout": "-1"}, "timeout"),
        ("/logs/shop", {"follow": "true", "timeout": "soon"}, "timeout"),
        ("/logs/shop", {"follow": "maybe"}, "follow"),
        ("/logs/shop", {"after_seq": "x"}, "after_seq"),
        ("/logs/-shop", {}, "'-shop'"),
    ],
)
async def test_bad_parameters_are_400_with_detail(
    start_logger: StartLogger, path: str, params: dict[str, str], about: str
) -> None:
    logger = await start_logger()
    await send_messages(logger.port, TAG, ["present"])
    response = await logger.client.get(path, params=params)
    assert response.status == 400
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.json()
    assert list(body) == ["detail"]
    assert body["detail"].startswith(about)


async def test_health_and_readiness(start_logger: StartLogger) -> None:
    logger = await start_logger()
    for path in ("/healthz", "/readyz"):
        response = await logger.client.get(path)
        assert response.status == 200
        assert await response.text() == "OK"
