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
import logging
import ssl
import time
from pathlib import Path
from typing import Any, Protocol

import msgpack

from logger.errors import LoggerError
from logger.forward.client import ForwardAddress, check_ack, check_pong, chunked_frame
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
        address = ForwardAddress.parse(forward_url)
        self._host, self._port = address.host, address.port
        self._tls = ssl.create_default_context(cafile=ca_file) if address.tls else None
        self._shared_key = shared_key.encode() if shared_key else None
        self._timeout = timeout

    async def write(self, app: str, message: str) -> None:
        try:
            await asyncio.wait_for(self._send(app, message), self._timeout)
        except (OSError, TimeoutError, ValueError, LoggerError) as error:
            # Our own errors say what failed and never carry the shared key.
            reason = f"{type(error).__name__}: {error}" if isinstance(error, LoggerError) else ""
            log.warning(
                "could not write a platform line for %s to %s:%d: %s",
                app,
                self._host,
                self._port,
                reason or type(error).__name__,
            )

    async def _send(self, app: str, message: str) -> None:
        # One connection per line: platform lines are rare (create, destroy, ...).
        reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._tls)
        unpacker = msgpack.Unpacker(raw=False)
        try:
            if self._shared_key is not None:
                helo = await _receive(reader, unpacker)
                sent = client_ping(helo, self._shared_key, "wf-controller")
                writer.write(sent.frame)
                check_pong(await _receive(reader, unpacker), sent)
            frame, chunk = chunked_frame(
                f"app.{app}.{SOURCE}", [(time.time_ns(), {"log": message})]
            )
            writer.write(frame)
            await writer.drain()
            check_ack(await _receive(reader, unpacker), chunk)
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
