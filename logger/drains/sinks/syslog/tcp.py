"""Syslog over TCP and TLS: RFC 5424 messages, octet-counted (RFC 6587).

One long-lived connection per drain, opened to an address the destination
policy checked (`logger.drains.transport.open_stream`). Syslog has no
acknowledgement, so "delivered" means what TCP can tell: a batch counts as
delivered once it was written and the connection was seen alive afterwards,
either before the next write or, when the drain goes idle, after watching
the read side for `WF_DRAIN_SYSLOG_CONFIRM_WAIT` (`confirm`). A server that
closed or reset the connection meanwhile (a restart, a server that closes
every connection) did not confirm the batch: it is sent again on a new
connection, which can repeat part of it (at least once), and after
`WF_DRAIN_SYSLOG_RETRIES` attempts dropped and counted, never counted
delivered. A write that cannot finish within the send timeout (a server
that accepts but never reads) drops the connection and is retried too.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from logger.drains.base import Batch
from logger.drains.destinations import DestinationPolicy
from logger.drains.errors import DeniedDestination, RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.sinks.syslog.encoder import SharedFrames, SyslogEncoder
from logger.drains.transport import client_tls_context, describe_connect_error, open_stream
from logger.drains.url import DrainUrl

# Batches can be large; let the transport hold one without pausing early.
_WRITE_HIGH_WATER = 1 << 20
# What a syslog server might send back is never used; read it in small bites.
_READ_CHUNK = 4096


class TcpSyslogSink:
    """`syslog://`, `syslog+tcp://` and `syslog+tls://` drains."""

    def __init__(
        self,
        url: DrainUrl,
        app: str,
        settings: DrainSettings,
        frames: SharedFrames | None = None,
        policy: DestinationPolicy | None = None,
    ) -> None:
        """`frames`: the app's shared frames (DrainRegistry), else a private
        encoder; `policy`: the registry's, else one from `settings`."""
        self._url = url
        self._settings = settings
        self._policy = policy or settings.destination_policy()
        if frames is None:
            syslog = settings.syslog
            frames = SharedFrames(SyslogEncoder(app, syslog.facility, syslog.hostname))
        self._frames = frames
        self._tls: ssl.SSLContext | None = (
            client_tls_context(settings.ca_file) if url.transport == "tls" else None
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def linger(self) -> float:
        return self._settings.syslog.linger

    @property
    def retries(self) -> int:
        return self._settings.syslog.retries

    async def send(self, batch: Batch) -> int:
        data = self._frames.frames(batch.lines)
        writer = await self._connection()
        url = self._url
        try:
            writer.write(data)
            async with asyncio.timeout(self._settings.send_timeout):
                await writer.drain()
        except TimeoutError:
            self._drop_connection()
            raise RetryableDelivery(
                f"{url.host}:{url.port} did not take a batch within "
                f"{self._settings.send_timeout:g}s",
                "timeout",
            ) from None
        except (OSError, RuntimeError) as error:
            self._drop_connection()
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise RetryableDelivery(
                f"connection to {url.host}:{url.port} lost: {reason}", "disconnected"
            ) from None
        return len(data)

    async def confirm(self, idle: bool) -> None:
        """Raise RetryableDelivery unless the connection the last batch was
        written to is still alive; `idle`: watch its read side for up to
        WF_DRAIN_SYSLOG_CONFIRM_WAIT first (the drain has nothing to send)."""
        wait = self._settings.syslog.confirm_wait if idle else 0.0
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise self._unconfirmed()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if self._peer_closed(reader, writer):
                raise self._unconfirmed()
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                async with asyncio.timeout(left):
                    data = await reader.read(_READ_CHUNK)
            except TimeoutError:
                return
            except OSError:
                raise self._unconfirmed() from None
            if not data:
                raise self._unconfirmed()

    def _unconfirmed(self) -> RetryableDelivery:
        self._drop_connection()
        url = self._url
        return RetryableDelivery(
            f"connection to {url.host}:{url.port} closed before the last batch was confirmed",
            "disconnected",
        )

    @staticmethod
    def _peer_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        # EOF (the peer's FIN) or an error (RST) on the read side, or our side closing.
        return reader.at_eof() or reader.exception() is not None or writer.is_closing()

    async def _connection(self) -> asyncio.StreamWriter:
        writer, reader = self._writer, self._reader
        if writer is not None and reader is not None:
            # The server closed its side (a restart): reconnect before writing
            # rather than lose a batch into a dead socket.
            if not self._peer_closed(reader, writer):
                return writer
            self._drop_connection()
        url = self._url
        timeout = self._settings.connect_timeout
        try:
            reader, writer = await open_stream(
                self._policy, url.host, url.port, tls=self._tls, timeout=timeout
            )
        except DeniedDestination as error:
            raise RejectedDelivery(str(error), reason="destination_denied") from None
        except (OSError, TimeoutError) as error:
            kind, message = describe_connect_error(error, url.host, url.port, timeout)
            raise RetryableDelivery(message, kind) from None
        writer.transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._reader, self._writer = reader, writer
        return writer

    def _drop_connection(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
        self._reader = self._writer = None

    async def close(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            writer.transport.abort()
