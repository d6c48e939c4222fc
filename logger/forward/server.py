"""The forward input's listeners: TCP (optionally TLS) and the UDP heartbeat."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from logger.forward.connection import INPUT, ForwardConnection
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor
from logger.telemetry import RateLimitedLog, Telemetry

log = logging.getLogger("logger.forward")


class _Heartbeat(asyncio.DatagramProtocol):
    """Answers a UDP heartbeat (one 0x00 byte) with 0x00, as in_forward does."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if data == b"\x00":
            self._transport.sendto(b"\x00", addr)


class ForwardServer:
    def __init__(self, settings: ForwardSettings, ingestor: Ingestor, telemetry: Telemetry) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._telemetry = telemetry
        self._warnings = RateLimitedLog()
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._open = telemetry.open_connections.labels(input=INPUT)

    @property
    def port(self) -> int:
        """The bound TCP port (useful when configured as 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        settings = self._settings
        ssl_context = settings.ssl_context()
        self._server = await asyncio.start_server(
            self._accept,
            settings.host,
            settings.port,
            ssl=ssl_context,
            # A client that never starts TLS is dropped as one that never sends its PING.
            ssl_handshake_timeout=settings.handshake_timeout if ssl_context else None,
            limit=settings.read_bytes,
        )
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            _Heartbeat, local_addr=(settings.host, self.port)
        )
        scheme = "tls" if settings.tls_cert else "tcp"
        auth = "shared key" if settings.handshake else "no shared key"
        log.info("forward input on %s://%s:%d (%s)", scheme, settings.host, self.port, auth)

    async def close(self) -> None:
        """Stop accepting and close every connection; a frame not yet stored is
        not acknowledged, so its client sends it again elsewhere."""
        if self._server is not None:
            self._server.close()
        if self._udp is not None:
            self._udp.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= self._settings.max_connections:
            self._telemetry.error("too_many_connections", "accept")
            self._warnings.warning(
                "too_many_connections",
                "refusing forward connection: %d open (WF_FORWARD_MAX_CONNECTIONS)",
                len(self._connections),
            )
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._open.inc()
        connection = ForwardConnection(
            self._settings, self._ingestor, self._telemetry, self._warnings, reader, writer
        )
        try:
            await connection.serve()
        except asyncio.CancelledError:
            pass  # shutdown
        except Exception:
            # A bug must cost one connection, never the process.
            self._telemetry.error("internal", "processing")
            log.exception("forward connection from %s failed", connection.peer)
        finally:
            self._open.dec()
            self._connections.discard(task)
