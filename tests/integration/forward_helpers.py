"""Helpers for driving a real logger's forward input over real sockets.

Frames are built byte by byte here (not with the product's encoder), so the
tests check the logger against the wire format itself. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import ssl
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

# The longest any single wait in these tests may take.
TIMEOUT = 5.0
HOST = "127.0.0.1"

# 2026-11-22T10:00:00.123456789Z, and how a line shows it.
BASE_SECONDS = int(dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.UTC).timestamp())
BASE_NS = BASE_SECONDS * 1_000_000_000 + 123_456_789
BASE_TEXT = "2026-11-22T10:00:00.123456+00:00"


def rfc3339(epoch_ns: int) -> str:
    """The contract's line timestamp: RFC 3339 UTC, microseconds, `+00:00`."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}+00:00"


# --- msgpack pieces, by hand ----------------------------------------------------


def array_header(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + struct.pack(">H", count)
    return b"\xdd" + struct.pack(">I", count)


def fixext8_time(epoch_ns: int) -> bytes:
    """EventTime as fixext8 (d7 00 + seconds + nanoseconds)."""
    return b"\xd7\x00" + struct.pack(">II", *divmod(epoch_ns, 1_000_000_000))


def ext8_time(epoch_ns: int) -> bytes:
    """EventTime as ext8 with an explicit length (c7 08 00 ...), also valid."""
    return b"\xc7\x08\x00" + struct.pack(">II", *divmod(epoch_ns, 1_000_000_000))


def integer_time(epoch_ns: int) -> bytes:
    return msgpack.packb(epoch_ns // 1_000_000_000)


def metadata_time(epoch_ns: int) -> bytes:
    """`[EventTime, {}]`, the form Fluent Bit >= 5.0.5 sends."""
    return b"\x92" + fixext8_time(epoch_ns) + b"\x80"


def entry(time_raw: bytes, record: object) -> bytes:
    return b"\x92" + time_raw + msgpack.packb(record)


def options_map(chunk: str | None = None, **extra: object) -> dict[str, object]:
    options: dict[str, object] = dict(extra)
    if chunk is not None:
        options["chunk"] = chunk
    return options


def message_frame(
    tag: str, time_raw: bytes, record: object, options: Mapping[str, object] | None = None
) -> bytes:
    parts = [msgpack.packb(tag), time_raw, msgpack.packb(record)]
    if options is not None:
        parts.append(msgpack.packb(dict(options)))
    return array_header(len(parts)) + b"".join(parts)


def forward_frame(
    tag: str, entries: Sequence[bytes], options: Mapping[str, object] | None = None
) -> bytes:
    parts = [msgpack.packb(tag), array_header(len(entries)) + b"".join(entries)]
    if options is not None:
        parts.append(msgpack.packb(dict(options)))
    return array_header(len(parts)) + b"".join(parts)


def packed_frame(
    tag: str,
    payload: bytes,
    options: Mapping[str, object] | None = None,
    *,
    as_str: bool = False,
) -> bytes:
    """PackedForward (or CompressedPackedForward when `options` says gzip);
    the payload as bin, or as a str32 holding bytes that need not be UTF-8."""
    carried = b"\xdb" + struct.pack(">I", len(payload)) + payload if as_str else _bin(payload)
    parts = [msgpack.packb(tag), carried]
    if options is not None:
        parts.append(msgpack.packb(dict(options)))
    return array_header(len(parts)) + b"".join(parts)


def _bin(payload: bytes) -> bytes:
    return b"\xc6" + struct.pack(">I", len(payload)) + payload


def ack_bytes(chunk: str) -> bytes:
    return msgpack.packb({"ack": chunk})


def gzip_members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(part) for part in parts)


# --- reading captures with plain msgpack, for expected values --------------------


@dataclass(frozen=True)
class CaptureEvent:
    epoch_ns: int
    log: str


@dataclass(frozen=True)
class CaptureContent:
    events: list[CaptureEvent]
    chunks: list[str]


def read_capture(data: bytes) -> CaptureContent:
    """What a capture file holds, decoded independently of the product."""
    unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
    unpacker.feed(data)
    events: list[CaptureEvent] = []
    chunks: list[str] = []
    for frame in unpacker:
        assert isinstance(frame, list)
        second = frame[1]
        if isinstance(second, list):
            pairs = second
            options = frame[2] if len(frame) > 2 else {}
        elif isinstance(second, bytes):
            options = frame[2] if len(frame) > 2 else {}
            payload = second
            if options.get(b"compressed") == b"gzip":
                payload = gzip.decompress(payload)
            entries = msgpack.Unpacker(raw=True, strict_map_key=False)
            entries.feed(payload)
            pairs = list(entries)
        else:
            pairs = [[second, frame[2]]]
            options = frame[3] if len(frame) > 3 else {}
        if options and b"chunk" in options:
            chunks.append(options[b"chunk"].decode())
        for raw_time, record in pairs:
            events.append(CaptureEvent(_capture_time(raw_time), record[b"log"].decode()))
    return CaptureContent(events, chunks)


def _capture_time(raw: Any) -> int:
    if isinstance(raw, list):
        raw = raw[0]
    if isinstance(raw, msgpack.ExtType):
        seconds, nanos = struct.unpack(">II", raw.data)
        return int(seconds) * 1_000_000_000 + int(nanos)
    assert isinstance(raw, int)
    return raw * 1_000_000_000


# --- a raw forward connection ------------------------------------------------------


class RawConnection:
    """One forward-protocol client connection over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._pending = bytearray()

    @classmethod
    async def open(cls, port: int, ssl_context: ssl.SSLContext | None = None) -> RawConnection:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection(
                HOST, port, ssl=ssl_context, server_hostname=HOST if ssl_context else None
            )
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        async with asyncio.timeout(TIMEOUT):
            await self.writer.drain()

    async def receive(self, timeout: float = TIMEOUT) -> Any:
        """The next msgpack object the logger sent."""
        async with asyncio.timeout(timeout):
            while True:
                unpacker = msgpack.Unpacker(raw=False)
                unpacker.feed(bytes(self._pending))
                try:
                    obj = unpacker.unpack()
                except msgpack.OutOfData:
                    await self._read_more()
                    continue
                del self._pending[: unpacker.tell()]
                return obj

    async def receive_exactly(self, count: int, timeout: float = TIMEOUT) -> bytes:
        async with asyncio.timeout(timeout):
            while len(self._pending) < count:
                await self._read_more()
        data = bytes(self._pending[:count])
        del self._pending[:count]
        return data

    async def send_and_ack(self, frame: bytes, chunk: str) -> None:
        """Send a frame with a `chunk` option; the reply must be its ack, byte for byte."""
        await self.send(frame)
        expected = ack_bytes(chunk)
        assert await self.receive_exactly(len(expected)) == expected

    async def closed_by_peer(self, timeout: float = TIMEOUT) -> bytes:
        """Wait until the logger closes this connection; what it sent meanwhile."""
        received = bytes(self._pending)
        self._pending.clear()
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, ssl.SSLError):
                    break
                if not data:
                    break
                received += data
        return received

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(TIMEOUT):
                await self.writer.wait_closed()

    async def _read_more(self) -> None:
        data = await self.reader.read(65536)
        if not data:
            raise ConnectionResetError("the logger closed the connection")
        self._pending += data


async def send_messages(
    port: int,
    tag: str,
    messages: Sequence[str],
    *,
    per_frame: int = 100,
    first_ns: int = BASE_NS,
    chunk_prefix: str = "c",
) -> None:
    """Send messages in ack'ed Forward frames, one millisecond apart in event time."""
    conn = await RawConnection.open(port)
    try:
        for start in range(0, len(messages), per_frame):
            entries = [
                entry(fixext8_time(first_ns + index * 1_000_000), {"log": messages[index]})
                for index in range(start, min(start + per_frame, len(messages)))
            ]
            chunk = f"{chunk_prefix}-{start}"
            await conn.send_and_ack(forward_frame(tag, entries, options_map(chunk)), chunk)
    finally:
        await conn.close()


async def steady_sender(
    port: int, stop: asyncio.Event, *, per_frame: int = 10, min_frames: int = 5
) -> list[str]:
    """A well-behaved client: ack'ed frames for app `steady` until `stop` is set.
    Returns every message it sent, in order."""
    conn = await RawConnection.open(port)
    sent: list[str] = []
    frame_number = 0
    try:
        while frame_number < min_frames or not stop.is_set():
            assert frame_number < 2000, "the steady sender was never stopped"
            messages = [f"steady {frame_number}-{i}" for i in range(per_frame)]
            entries = [entry(fixext8_time(BASE_NS), {"log": m}) for m in messages]
            chunk = f"steady-{frame_number}"
            frame = forward_frame("app.steady.web", entries, options_map(chunk))
            await conn.send_and_ack(frame, chunk)
            sent.extend(messages)
            frame_number += 1
            await asyncio.sleep(0.005)
    finally:
        await conn.close()
    return sent


# --- metrics ------------------------------------------------------------------------


def metric_value(text: str, sample: str, labels: Mapping[str, str] | None = None) -> float:
    """The value of one sample of a Prometheus exposition.

    The labels select as in PromQL's `sum(sample{labels})`: the sum of every
    series that has them (so a label added to a metric later, such as
    `component`, does not change what a test reads). A labelled series that
    was never touched is 0; a metric name the exposition does not know at
    all is an error (so a typo cannot pass)."""
    wanted = dict(labels or {}).items()
    known = False
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name not in (sample, sample.removesuffix("_total")):
            continue
        known = True
        for found in family.samples:
            if found.name == sample and wanted <= found.labels.items():
                total += float(found.value)
    if not known:
        raise KeyError(f"no metric {sample} in the exposition")
    return total


# --- the logger under test -------------------------------------------------------


@dataclass
class RunningLogger:
    client: TestClient[web.Request, web.Application]
    # The forward input's bound TCP (and UDP heartbeat) port.
    port: int

    async def lines(self, app: str, **params: str) -> list[str]:
        """GET /logs/{app} (all lines unless `log_lines` is given) as text lines."""
        query = {"log_lines": "-1", **params}
        response = await self.client.get(f"/logs/{app}", params=query)
        body = await response.text()
        if response.status == 204:
            assert body == ""
            return []
        assert response.status == 200, body
        assert body.endswith("\n")
        return body.splitlines()

    async def wait_for_lines(self, app: str, count: int, timeout: float = TIMEOUT) -> list[str]:
        """Poll until the app has at least `count` lines (for clients without acks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            lines = await self.lines(app)
            if len(lines) >= count:
                return lines
            if loop.time() > deadline:
                raise AssertionError(f"{app}: {len(lines)} lines after {timeout}s: {lines!r}")
            await asyncio.sleep(0.02)

    async def metric(self, sample: str, **labels: str) -> float:
        response = await self.client.get("/metrics")
        assert response.status == 200
        return metric_value(await response.text(), sample, labels)

    async def wait_for_metric(
        self, value: float, sample: str, timeout: float = TIMEOUT, **labels: str
    ) -> None:
        """Poll until a sample has `value` (for state that settles asynchronously)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.metric(sample, **labels)
            if found == value:
                return
            if loop.time() > deadline:
                raise AssertionError(f"{sample}{labels} is {found}, not {value}, after {timeout}s")
            await asyncio.sleep(0.02)
