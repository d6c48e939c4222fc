"""A small blocking forward-protocol client, for `wf emit` and demos.

It sends Forward-mode frames with a `chunk` option and waits for each ack,
so a successful `send` means the logger has stored the lines. TLS and the
shared-key handshake are supported; this is the same wire format Fluent Bit
speaks, not a private one.
"""

from __future__ import annotations

import base64
import hmac
import os
import socket
import ssl
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgpack

from logger.errors import ForwardError, HandshakeFailed
from logger.forward.handshake import ClientPing, client_ping


@dataclass(frozen=True)
class ForwardAddress:
    """Where a forward client connects: `tcp://host:port` or `tls://host:port`."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> ForwardAddress:
        scheme, _, address = url.partition("://")
        host, _, port = address.rpartition(":")
        if scheme not in ("tcp", "tls") or not host or not port.isdigit():
            raise ValueError(f"not a forward URL (tcp:// or tls://host:port): {url!r}")
        return cls(host, int(port), scheme == "tls")


def event_time(epoch_ns: int) -> msgpack.ExtType:
    """EventTime: msgpack ext type 0, big-endian seconds then nanoseconds."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def chunked_frame(tag: str, records: list[tuple[int, dict[str, Any]]]) -> tuple[bytes, str]:
    """A Forward-mode frame asking for an ack, and the chunk id the ack must carry."""
    chunk = base64.b64encode(os.urandom(16)).decode()
    entries = [[event_time(epoch_ns), record] for epoch_ns, record in records]
    return msgpack.packb([tag, entries, {"chunk": chunk, "size": len(entries)}]), chunk


def check_ack(reply: object, chunk: str) -> None:
    if not (isinstance(reply, dict) and reply.get("ack") == chunk):
        raise ForwardError(f"unexpected reply instead of an ack: {reply!r}")


def check_pong(pong: object, sent: ClientPing) -> None:
    """Raises HandshakeFailed unless the server accepted our PING and proved,
    with the PONG's digest over our salt and its nonce, that it knows the
    shared key too (a server that does not is not the logger)."""
    if not (isinstance(pong, list) and len(pong) == 5 and pong[0] == "PONG"):
        raise HandshakeFailed("server did not answer the PING with a PONG")
    if pong[1] is not True:
        raise HandshakeFailed(f"server refused the handshake: {pong[2]}")
    server_hostname, digest = pong[3], pong[4]
    if not (isinstance(server_hostname, str | bytes) and isinstance(digest, str | bytes)):
        raise HandshakeFailed("server's PONG has no hostname or digest string")
    hostname = server_hostname.encode() if isinstance(server_hostname, str) else server_hostname
    received = digest.encode() if isinstance(digest, str) else digest
    if not hmac.compare_digest(sent.expected_pong_digest(hostname), received.lower()):
        raise HandshakeFailed(
            "server's PONG digest does not match the shared key: it is not the logger "
            "or its shared key differs"
        )


class ForwardClient:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        shared_key: bytes | None = None,
        hostname: str = "wf-emit",
        username: bytes = b"",
        password: bytes = b"",
        tls: bool = False,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            context = ssl.create_default_context(cafile=ca_file)
            sock = context.wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self._unpacker = msgpack.Unpacker(raw=False)
        if shared_key is not None:
            self._handshake(shared_key, hostname, username, password)

    def send(self, tag: str, records: list[tuple[int, dict[str, Any]]]) -> None:
        """Send one Forward-mode frame and wait until the logger acks it."""
        frame, chunk = chunked_frame(tag, records)
        self._sock.sendall(frame)
        check_ack(self._receive(), chunk)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> ForwardClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _handshake(
        self, shared_key: bytes, hostname: str, username: bytes, password: bytes
    ) -> None:
        helo = self._receive()
        sent = client_ping(helo, shared_key, hostname, username, password)
        self._sock.sendall(sent.frame)
        check_pong(self._receive(), sent)

    def _receive(self) -> Any:
        while True:
            try:
                return self._unpacker.unpack()
            except msgpack.OutOfData:
                data = self._sock.recv(65536)
                if not data:
                    raise ConnectionResetError("the logger closed the connection") from None
                self._unpacker.feed(data)
