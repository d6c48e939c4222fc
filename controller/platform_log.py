"""Platform lines in an app's logs (`shop[controller]: app created by admin`).

Two ways to write them, one interface:

- `ForwardPlatformLog` speaks the forward protocol to the logger's input
  (tag `app.<app>.controller`, record `{"log": message}`), the same path as
  every other line, so it works when the logger is another process;
- `IngestorPlatformLog` hands the line to an in-process logger's ingestor
  (what `wf serve` uses: no socket, no TLS or shared key to configure).

Writing is best effort: a platform line that cannot be written is logged
and never fails the user's request.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import time
from pathlib import Path
from typing import Any, Protocol

import msgpack

from logger.forward.client import event_time
from logger.forward.handshake import client_ping
from logger.ingest import Ingestor

log = logging.getLogger("controller.platform_log")
SOURCE = "controller"


class PlatformLog(Protocol):
    async def write(self, app: str, message: str) -> None: ...


class IngestorPlatformLog:
    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor

    async def write(self, app: str, message: str) -> None:
        try:
            await self._ingestor.write_platform_line(app, SOURCE, message)
        except Exception:
            log.exception("could not write a platform line for %s", app)


class ForwardPlatformLog:
    def __init__(
        self,
        forward_url: str,
        *,
        shared_key: str | None = None,
        ca_file: Path | None = None,
        timeout: float = 5.0,
    ) -> None:
        scheme, _, address = forward_url.partition("://")
        host, _, port = address.rpartition(":")
        if scheme not in ("tcp", "tls") or not host or not port.isdigit():
            raise ValueError(f"not a forward URL (tcp:// or tls://host:port): {forward_url!r}")
        self._host, self._port = host, int(port)
        self._tls = ssl.create_default_context(cafile=ca_file) if scheme == "tls" else None
        self._shared_key = shared_key.encode() if shared_key else None
        self._timeout = timeout

    async def write(self, app: str, message: str) -> None:
        try:
            await asyncio.wait_for(self._send(app, message), self._timeout)
        except (OSError, TimeoutError, ValueError, msgpack.ExtraData) as error:
            log.warning(
                "could not write a platform line for %s to %s:%d: %s",
                app,
                self._host,
                self._port,
                type(error).__name__,
            )

    async def _send(self, app: str, message: str) -> None:
        # One connection per line: platform lines are rare (create, destroy, ...).
        reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._tls)
        unpacker = msgpack.Unpacker(raw=False)
        try:
            if self._shared_key is not None:
                helo = await _receive(reader, unpacker)
                ping, _ = client_ping(helo, self._shared_key, "wf-controller")
                writer.write(ping)
                pong = await _receive(reader, unpacker)
                if not (isinstance(pong, list) and len(pong) == 5 and pong[1] is True):
                    raise ValueError("the logger refused the handshake")
            chunk = base64.b64encode(os.urandom(16)).decode()
            entry = [event_time(time.time_ns()), {"log": message}]
            writer.write(msgpack.packb([f"app.{app}.{SOURCE}", [entry], {"chunk": chunk}]))
            await writer.drain()
            reply = await _receive(reader, unpacker)
            if not (isinstance(reply, dict) and reply.get("ack") == chunk):
                raise ValueError("the logger did not acknowledge the line")
        finally:
            writer.close()
            await asyncio.gather(writer.wait_closed(), return_exceptions=True)


async def _receive(reader: asyncio.StreamReader, unpacker: msgpack.Unpacker) -> Any:
    while True:
        try:
            return unpacker.unpack()
        except msgpack.OutOfData:
            data = await reader.read(65536)
            if not data:
                raise ConnectionResetError("the logger closed the connection") from None
            unpacker.feed(data)
