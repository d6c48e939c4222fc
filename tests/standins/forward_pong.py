"""STAND-IN for a forward server that does not know the shared key.

Not the logger. It speaks just enough of the forward protocol v1 handshake
(https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1,
"Handshake Messages") to test a client's side of it: it sends a HELO with a
nonce, reads the PING, and answers a PONG that says "authenticated" with a
digest made from another key, as an impostor or a misconfigured peer would.
A client must refuse it and send nothing more; whatever it sends after the
PING is recorded in `after_ping`, and the connection is then closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import msgpack

WRONG_KEY = b"not the shared key"
HOSTNAME = "impostor"


class WrongDigestForwardStandIn:
    def __init__(self) -> None:
        self.after_ping = bytearray()
        self.pings = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonce = os.urandom(16)
        writer.write(msgpack.packb(["HELO", {"nonce": nonce, "auth": b"", "keepalive": True}]))
        unpacker = msgpack.Unpacker(raw=True)
        try:
            ping = await _next(reader, unpacker)
            self.pings += 1
            key_salt = ping[2]
            digest = hashlib.sha512(key_salt + HOSTNAME.encode() + nonce + WRONG_KEY).hexdigest()
            writer.write(msgpack.packb(["PONG", True, "", HOSTNAME, digest]))
            await writer.drain()
            # Whatever the client sends now, within a short while, is recorded.
            try:
                async with asyncio.timeout(0.5):
                    while data := await reader.read(65536):
                        self.after_ping += data
            except TimeoutError:
                pass
        finally:
            writer.close()


async def _next(reader: asyncio.StreamReader, unpacker: msgpack.Unpacker) -> list[bytes]:
    while True:
        try:
            message: list[bytes] = unpacker.unpack()
            return message
        except msgpack.OutOfData:
            data = await reader.read(65536)
            if not data:
                raise ConnectionResetError("the client closed before its PING") from None
            unpacker.feed(data)
