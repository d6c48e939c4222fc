"""Syslog over UDP: one RFC 5424 message per datagram (RFC 5426).

Messages longer than `WF_DRAIN_UDP_MAX_BYTES` are cut on a UTF-8 boundary
and counted (`logger_drain_truncated_lines_total`). UDP has no delivery
report: "delivered" means handed to the kernel. An ICMP error the kernel
reports (port unreachable) fails the next batch before it is sent, so the
drain backs off instead of sending blind. The endpoint is connected to an
address the destination policy checked (`logger.drains.transport`).
"""

from __future__ import annotations

import asyncio

from logger.drains.base import Batch
from logger.drains.destinations import DestinationPolicy
from logger.drains.errors import DeniedDestination, RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.sinks.syslog.encoder import SyslogEncoder
from logger.drains.telemetry import DrainMetrics
from logger.drains.transport import describe_connect_error, open_datagram
from logger.drains.url import DrainUrl


class _Errors(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.error: OSError | None = None
        self.lost = False

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.error = exc

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class UdpSyslogSink:
    """`syslog+udp://` drains."""

    linger = 0.0

    def __init__(
        self,
        url: DrainUrl,
        app: str,
        settings: DrainSettings,
        metrics: DrainMetrics,
        policy: DestinationPolicy | None = None,
    ) -> None:
        self._url = url
        self._settings = settings
        self._metrics = metrics
        self._policy = policy or settings.destination_policy()
        self._encoder = SyslogEncoder(app, settings.syslog.facility, settings.syslog.hostname)
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Errors | None = None

    @property
    def retries(self) -> int:
        return self._settings.syslog.retries

    async def confirm(self, idle: bool) -> None:
        """Nothing to confirm: UDP has no delivery report."""

    async def send(self, batch: Batch) -> int:
        transport, protocol = await self._endpoint()
        url = self._url
        if protocol.error is not None:
            reason = protocol.error.strerror or type(protocol.error).__name__
            protocol.error = None
            raise RetryableDelivery(f"{url.host}:{url.port} reported: {reason}", "connect")
        datagrams, truncated = self._encoder.datagrams(
            batch.lines, self._settings.syslog.udp_max_bytes
        )
        if truncated:
            self._metrics.truncated_lines.inc(truncated)
        sent = 0
        for index, datagram in enumerate(datagrams):
            transport.sendto(datagram)
            sent += len(datagram)
            if index % 256 == 255:
                await asyncio.sleep(0)  # let the loop flush what the kernel deferred
        return sent

    async def _endpoint(self) -> tuple[asyncio.DatagramTransport, _Errors]:
        if self._transport is not None and self._protocol is not None and not self._protocol.lost:
            return self._transport, self._protocol
        url = self._url
        timeout = self._settings.connect_timeout
        try:
            transport, protocol = await open_datagram(
                self._policy, url.host, url.port, _Errors, timeout=timeout
            )
        except DeniedDestination as error:
            raise RejectedDelivery(str(error), reason="destination_denied") from None
        except (OSError, TimeoutError) as error:
            kind, message = describe_connect_error(error, url.host, url.port, timeout)
            raise RetryableDelivery(message, kind) from None
        self._transport, self._protocol = transport, protocol
        return transport, protocol

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = self._protocol = None
