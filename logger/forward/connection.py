"""One forward client connection: handshake, read, decode, ingest, ack."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from logger.errors import (
    FatalError,
    HandshakeFailed,
    OverBudget,
    RecoverableError,
    StoreUnavailable,
)
from logger.forward.admission import MemoryBudget, Slot
from logger.forward.handshake import PING_MAX_BYTES, ServerHandshake
from logger.forward.protocol import EventFrame, FrameSplitter, ack_message, decode_frame
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor
from logger.telemetry import RateLimitedLog, Telemetry

INPUT = "forward"
log = logging.getLogger("logger.forward")
# Compressed frames larger than this are decoded in a worker thread, where
# inflating (zlib releases the GIL) cannot stall the other connections;
# smaller ones cost less than the hop. An uncompressed frame is decoded on the
# loop: msgspec holds the GIL throughout, so a thread would only add the hop
# and GIL hand-offs (measured: 0.8x ingest on 100-app Forward frames).
OFF_LOOP_FRAME_BYTES = 64 << 10
# The options map, where `compressed` is, ends a frame: its key as msgpack.
_COMPRESSED_KEY = b"\xaacompressed"
_OPTIONS_TAIL = 512


class ForwardConnection:
    def __init__(
        self,
        settings: ForwardSettings,
        ingestor: Ingestor,
        telemetry: Telemetry,
        warnings: RateLimitedLog,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        slot: Slot,
        budget: MemoryBudget,
        decoder: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._telemetry = telemetry
        self._warnings = warnings
        self._reader = reader
        self._writer = writer
        self._slot = slot
        self._budget = budget
        self._held = 0  # bytes of this connection in the budget
        self._decoder = decoder
        # Before the handshake a client gets only what a PING needs.
        first_limit = PING_MAX_BYTES if settings.handshake is not None else settings.max_frame_bytes
        self._splitter = FrameSplitter(first_limit, settings.read_bytes)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    async def serve(self) -> None:
        """Run until the client leaves, idles out, or sends what must close it."""
        stage = "handshake"
        try:
            if self._settings.handshake is not None:
                await self._handshake()
            stage = "receiving"
            await self._receive()
        except FatalError as error:
            self._fail(error.reason, stage, str(error))
            if isinstance(error, OverBudget):
                self._writer.transport.abort()
        except StoreUnavailable as error:
            # Not stored, so not acked: closing makes the client send the
            # chunk again (here once the store is back, or to another replica).
            # Acks of the frames stored before it still go out with the close.
            self._fail(error.reason, "store", str(error))
        except TimeoutError:
            self._fail("idle_timeout" if stage == "receiving" else "handshake_timeout", stage, "")
            # Acks a client never read would make close() wait for them forever.
            self._writer.transport.abort()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to report
        finally:
            self._budget.resize(self._held, 0)
            self._held = 0
            self._writer.close()

    async def _handshake(self) -> None:
        assert self._settings.handshake is not None
        handshake = ServerHandshake(self._settings.handshake)
        self._writer.write(handshake.helo())
        async with asyncio.timeout(self._settings.handshake_timeout):
            await self._writer.drain()
            frame = None
            while frame is None:
                data = await self._reader.read(min(self._settings.read_bytes, PING_MAX_BYTES))
                if not data:
                    raise ConnectionResetError
                self._feed(data)
                frame = self._splitter.next_frame()
            outcome = handshake.check_ping(frame)
            self._writer.write(outcome.pong)
            await self._writer.drain()
        if not outcome.authenticated:
            raise HandshakeFailed(outcome.reason)
        self._slot.prove()
        self._splitter.max_frame_bytes = self._settings.max_frame_bytes

    async def _receive(self) -> None:
        settings = self._settings
        splitter = self._splitter
        ingest, ingest_wire = self._ingestor.ingest, self._ingestor.ingest_wire
        limit = settings.max_frame_bytes  # of a frame, and of an inflated payload
        # Frames fed together with the PING are already in the splitter.
        while True:
            while (frame := splitter.next_frame()) is not None:
                # The frame in hand counts until it is stored.
                self._account(splitter.pending_bytes + len(frame), force=True)
                off_loop = self._off_loop(frame)
                wire = None if off_loop else await ingest_wire(frame, INPUT, limit)
                if wire is not None:
                    self._slot.prove()
                    ack = ack_message(wire.chunk)
                else:
                    try:
                        event_frame = await self._decode(frame, off_loop)
                    except RecoverableError as error:
                        self._telemetry.error(error.reason, "decoding")
                        continue
                    if event_frame is None:
                        continue  # heartbeat
                    self._slot.prove()
                    await ingest(event_frame, INPUT, len(frame))
                    ack = event_frame.ack()
                if ack is not None:
                    self._writer.write(ack)
                    self._telemetry.acks.inc()
            self._account(splitter.pending_bytes, force=True)
            async with asyncio.timeout(settings.idle_timeout):
                # A client that stops reading its acks must not hold the connection forever.
                await self._writer.drain()
                data = await self._reader.read(settings.read_bytes)
            if not data:
                return
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._account(self._splitter.pending_bytes + len(data))
        self._splitter.feed(data)

    def _account(self, wanted: int, *, force: bool = False) -> None:
        if not self._budget.resize(self._held, wanted, force=force):
            raise OverBudget(
                f"{wanted} bytes would pass the {self._budget.limit} bytes all forward"
                " connections may hold (WF_FORWARD_BUFFER_MAX_BYTES)"
            )
        self._held = wanted

    def _off_loop(self, frame: bytes) -> bool:
        """Whether the frame is one to inflate and decode in the decoder's thread."""
        return (
            self._decoder is not None
            and len(frame) > OFF_LOOP_FRAME_BYTES
            and frame.find(_COMPRESSED_KEY, len(frame) - _OPTIONS_TAIL) >= 0
        )

    async def _decode(self, frame: bytes, off_loop: bool) -> EventFrame | None:
        max_payload = self._settings.max_frame_bytes
        if not off_loop:
            return decode_frame(frame, max_payload)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._decoder, decode_frame, frame, max_payload)

    def _fail(self, reason: str, stage: str, detail: str) -> None:
        self._telemetry.error(reason, stage)
        self._warnings.warning(
            reason, "closing forward connection from %s: %s %s", self.peer, reason, detail
        )
