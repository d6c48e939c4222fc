"""Syslog over TCP and TLS: RFC 5424 messages, octet-counted (RFC 6587).

One long-lived connection per drain. A batch is written as one buffer and
counts as delivered once the kernel took it (syslog has no acknowledgement);
a connection the server closed is noticed before writing (EOF on the read
side) and replaced, so a server restart between batches loses nothing.
A write that cannot finish within the send timeout (a server that accepts
but never reads) drops the connection and retries the whole batch on a new
one, which can repeat part of it: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

from logger.drains.base import Batch
from logger.drains.errors import RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.syslog import SharedFrames, SyslogEncoder
from logger.drains.url import DrainUrl

# Batches can be large; let the transport hold one without pausing early.
_WRITE_HIGH_WATER = 1 << 20


def client_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """System trust store plus the operator's CA file (WF_DRAIN_CA_FILE),
    with hostname verification: drains never skip certificate checks."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def describe_connect_error(
    error: BaseException, host: str, port: int, timeout: float
) -> tuple[str, str]:
    """A (kind, message) for a failed connection, naming host and port only."""
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or error.reason or "verification failed"
        return "tls", f"TLS certificate verification failed for {host}:{port}: {detail}"
    if isinstance(error, ssl.SSLError):
        return "tls", f"TLS handshake with {host}:{port} failed: {error.reason or 'SSL error'}"
    if isinstance(error, socket.gaierror):
        return "dns", f"cannot resolve host {host}: {error.strerror or 'lookup failed'}"
    if isinstance(error, TimeoutError):
        return "timeout", f"timed out connecting to {host}:{port} after {timeout:g}s"
    if isinstance(error, ConnectionRefusedError):
        return "connect", f"connection to {host}:{port} refused"
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        return "connect", f"cannot connect to {host}:{port}: {reason}"
    return "connect", f"cannot connect to {host}:{port}: {type(error).__name__}"


class TcpSyslogSink:
    """`syslog://`, `syslog+tcp://` and `syslog+tls://` drains."""

    def __init__(
        self,
        url: DrainUrl,
        app: str,
        settings: DrainSettings,
        frames: SharedFrames | None = None,
    ) -> None:
        """`frames`: the app's shared frames (DrainRegistry), else a private encoder."""
        self._url = url
        self._settings = settings
        if frames is None:
            frames = SharedFrames(
                SyslogEncoder(app, settings.syslog_facility, settings.syslog_hostname)
            )
        self._frames = frames
        self._tls = client_tls_context(settings.ca_file) if url.transport == "tls" else None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def linger(self) -> float:
        return self._settings.syslog_linger

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

    async def _connection(self) -> asyncio.StreamWriter:
        writer, reader = self._writer, self._reader
        if writer is not None and reader is not None:
            # The server closed its side (a restart): reconnect before writing
            # rather than lose a batch into a dead socket.
            if not reader.at_eof() and not writer.is_closing():
                return writer
            self._drop_connection()
        url = self._url
        timeout = self._settings.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    url.host,
                    url.port,
                    ssl=self._tls,
                    server_hostname=url.host if self._tls else None,
                    ssl_handshake_timeout=timeout if self._tls else None,
                )
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
