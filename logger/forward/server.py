"""The forward input's listeners: TCP (optionally TLS) and the UDP heartbeat.

A new socket is held unread (`_Holding`) until it has a slot
(`logger.forward.admission`); with TLS, the handshake is then done here
rather than by the listener, so that a client that is refused costs no TLS
work and one that does not speak TLS is counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from prometheus_client import Gauge

from logger.forward.admission import ConnectionSlots, MemoryBudget, Slot, SlotLimits
from logger.forward.connection import INPUT, ForwardConnection
from logger.forward.fd_limits import connection_cap, raise_fd_limit
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor
from logger.telemetry import RateLimitedLog, Telemetry

log = logging.getLogger("logger.forward")
# What OpenSSL says when the first bytes are not a TLS record.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE"}
)
_ACCEPT_FAILED = "socket.accept() out of system resource"
DECODER_THREADS = 2


class _Heartbeat(asyncio.DatagramProtocol):
    """Answers a UDP heartbeat (one 0x00 byte) with 0x00, as in_forward does."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if data == b"\x00":
            self._transport.sendto(b"\x00", addr)


class _Holding(asyncio.Protocol):
    """A new connection, not read from, until the server has admitted it."""

    def __init__(self, server: ForwardServer) -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        socket_transport = cast(asyncio.Transport, transport)
        socket_transport.pause_reading()
        self._server._admit(socket_transport)

    def data_received(self, data: bytes) -> None:  # pragma: no cover - reading is paused
        pass


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
        self._ssl_context: ssl.SSLContext | None = None
        self._slots = ConnectionSlots(
            SlotLimits(
                settings.max_connections,
                settings.max_connections_per_address,
                settings.max_unauthenticated,
            )
        )
        self._budget = MemoryBudget(settings.buffer_max_bytes)
        Gauge(
            "logger_forward_buffered_bytes",
            "Bytes of unfinished and in-process frames all forward connections hold"
            " (bounded by WF_FORWARD_BUFFER_MAX_BYTES).",
            registry=telemetry.registry,
        ).set_function(lambda: self._budget.used)
        unproven = Gauge(
            "logger_forward_unauthenticated_connections",
            "Forward connections that have not yet authenticated or sent a valid frame.",
            registry=telemetry.registry,
        )
        unproven.set_function(lambda: self._slots.unproven)
        self._decoder: ThreadPoolExecutor | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (useful when configured as 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def slots(self) -> ConnectionSlots:
        return self._slots

    async def start(self) -> None:
        settings = self._settings
        self._ssl_context = settings.ssl_context()
        fd_limit = raise_fd_limit()
        cap = connection_cap(settings.max_connections, fd_limit, settings.reserved_fds)
        if cap < settings.max_connections:
            log.warning(
                "forward connections capped at %d, not %d: the open files limit is %d and %d"
                " are kept for the rest (WF_FORWARD_RESERVED_FDS)",
                cap,
                settings.max_connections,
                fd_limit,
                settings.reserved_fds,
            )
        limits = self._slots.limits
        self._slots.limits = SlotLimits(cap, limits.max_per_address, min(limits.max_unproven, cap))
        loop = asyncio.get_running_loop()
        self._watch_accept_errors(loop)
        self._decoder = ThreadPoolExecutor(DECODER_THREADS, thread_name_prefix="forward-decode")
        self._server = await loop.create_server(
            lambda: _Holding(self),
            settings.host,
            settings.port,
            backlog=1024,
            reuse_port=settings.reuse_port,
        )
        self._udp, _ = await loop.create_datagram_endpoint(
            _Heartbeat, local_addr=(settings.host, self.port), reuse_port=settings.reuse_port
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
        if self._decoder is not None:
            self._decoder.shutdown(wait=False, cancel_futures=True)

    def _admit(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        slot, reaped, refusal = self._slots.admit(address, transport.abort)
        for _ in reaped:
            self._telemetry.error("unauthenticated_reaped", "accept")
        if reaped:
            self._warnings.warning(
                "unauthenticated_reaped",
                "closed %d forward connection(s) that had not authenticated or sent a frame,"
                " to admit a new one (WF_FORWARD_MAX_UNAUTHENTICATED, WF_FORWARD_MAX_CONNECTIONS)",
                len(reaped),
            )
        if slot is None:
            self._refuse(transport, address, refusal)
            return
        task = asyncio.get_running_loop().create_task(self._run(transport, slot))
        self._connections.add(task)
        self._open.inc()
        task.add_done_callback(self._ended)

    def _refuse(self, transport: asyncio.Transport, address: str, reason: str) -> None:
        self._telemetry.error(reason, "accept")
        if reason == "too_many_connections_from_address":
            self._warnings.warning(
                reason,
                "refusing forward connection from %s: %d open from that address"
                " (WF_FORWARD_MAX_CONNECTIONS_PER_ADDRESS)",
                address,
                self._slots.limits.max_per_address,
            )
        else:
            self._warnings.warning(
                reason,
                "refusing forward connection from %s: %d open (WF_FORWARD_MAX_CONNECTIONS)",
                address,
                self._slots.open,
            )
        transport.abort()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._connections.discard(task)
        self._open.dec()

    async def _run(self, transport: asyncio.Transport, slot: Slot) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self._settings.read_bytes)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        peer = transport.get_extra_info("peername")
        try:
            if self._ssl_context is not None:
                tls = await self._start_tls(transport, protocol, peer)
                if tls is None:
                    return
                transport = tls
            else:
                transport.set_protocol(protocol)
            protocol.connection_made(transport)
            transport.resume_reading()
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            connection = ForwardConnection(
                self._settings,
                self._ingestor,
                self._telemetry,
                self._warnings,
                reader,
                writer,
                slot=slot,
                budget=self._budget,
                decoder=self._decoder,
            )
            await connection.serve()
        except asyncio.CancelledError:
            transport.abort()  # shutdown
        except Exception:
            # A bug must cost one connection, never the process.
            self._telemetry.error("internal", "processing")
            log.exception("forward connection from %s failed", peer)
            transport.abort()
        finally:
            slot.release()

    async def _start_tls(
        self, transport: asyncio.Transport, protocol: asyncio.StreamReaderProtocol, peer: Any
    ) -> asyncio.Transport | None:
        assert self._ssl_context is not None
        loop = asyncio.get_running_loop()
        timeout = self._settings.handshake_timeout
        try:
            # A client that never starts TLS is dropped as one that never sends its PING.
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    transport,
                    protocol,
                    self._ssl_context,
                    server_side=True,
                    ssl_handshake_timeout=timeout,
                )
        except ssl.SSLError as error:
            transport.abort()
            if error.reason in _NOT_TLS_REASONS:
                self._telemetry.error("not_tls", "tls_handshake")
                self._warnings.warning(
                    "not_tls",
                    "closing forward connection from %s: it does not speak TLS (%s). The"
                    " forward input has WF_FORWARD_TLS_CERT set: check that the client"
                    " enables TLS (Fluent Bit: tls on; Fluentd: transport tls) and its port",
                    _address(peer),
                    error.reason,
                )
            else:
                self._telemetry.error("tls_handshake_failed", "tls_handshake")
                self._warnings.warning(
                    "tls_handshake_failed",
                    "closing forward connection from %s: TLS handshake failed (%s); check the"
                    " client's TLS version, ciphers and that it trusts this certificate",
                    _address(peer),
                    error.reason,
                )
            return None
        except (TimeoutError, ConnectionError, OSError):
            self._telemetry.error("handshake_timeout", "tls_handshake")
            transport.abort()
            return None
        return tls

    def _watch_accept_errors(self, loop: asyncio.AbstractEventLoop) -> None:
        """asyncio reports an accept that failed for want of descriptors with a
        traceback, once per listener per second: one counted, rate-limited
        warning instead (asyncio itself pauses accepting for a second)."""
        previous = loop.get_exception_handler()

        def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == _ACCEPT_FAILED:
                self._telemetry.error("accept_failed", "accept")
                self._warnings.warning(
                    "accept_failed",
                    "cannot accept connections: %s; new clients wait. Raise the open files"
                    " limit (ulimit -n) or lower WF_FORWARD_MAX_CONNECTIONS",
                    context.get("exception"),
                )
                return
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handle)


def _address(peer: Any) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
