"""One forward client connection: handshake, read, decode, ingest, ack."""

from __future__ import annotations

import asyncio
import logging

from logger.errors import FatalError, HandshakeFailed, RecoverableError, StoreUnavailable
from logger.forward.handshake import ServerHandshake
from logger.forward.protocol import FrameSplitter, decode_frame
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor
from logger.telemetry import RateLimitedLog, Telemetry

INPUT = "forward"
log = logging.getLogger("logger.forward")


class ForwardConnection:
    def __init__(
        self,
        settings: ForwardSettings,
        ingestor: Ingestor,
        telemetry: Telemetry,
        warnings: RateLimitedLog,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._telemetry = telemetry
        self._warnings = warnings
        self._reader = reader
        self._writer = writer
        self._splitter = FrameSplitter(settings.max_frame_bytes, settings.read_bytes)
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
            self._writer.close()

    async def _handshake(self) -> None:
        assert self._settings.handshake is not None
        handshake = ServerHandshake(self._settings.handshake)
        self._writer.write(handshake.helo())
        async with asyncio.timeout(self._settings.handshake_timeout):
            await self._writer.drain()
            frame = None
            while frame is None:
                data = await self._reader.read(self._settings.read_bytes)
                if not data:
                    raise ConnectionResetError
                self._splitter.feed(data)
                frame = self._splitter.next_frame()
            outcome = handshake.check_ping(frame)
            self._writer.write(outcome.pong)
            await self._writer.drain()
        if not outcome.authenticated:
            raise HandshakeFailed(outcome.reason)

    async def _receive(self) -> None:
        settings = self._settings
        splitter = self._splitter
        ingest = self._ingestor.ingest
        # Frames fed together with the PING are already in the splitter.
        while True:
            while (frame := splitter.next_frame()) is not None:
                try:
                    event_frame = decode_frame(frame, settings.max_frame_bytes)
                except RecoverableError as error:
                    self._telemetry.error(error.reason, "decoding")
                    continue
                if event_frame is None:
                    continue  # heartbeat
                await ingest(event_frame, INPUT, len(frame))
                ack = event_frame.ack()
                if ack is not None:
                    self._writer.write(ack)
                    self._telemetry.acks.inc()
            async with asyncio.timeout(settings.idle_timeout):
                # A client that stops reading its acks must not hold the connection forever.
                await self._writer.drain()
                data = await self._reader.read(settings.read_bytes)
            if not data:
                return
            splitter.feed(data)

    def _fail(self, reason: str, stage: str, detail: str) -> None:
        self._telemetry.error(reason, stage)
        self._warnings.warning(
            reason, "closing forward connection from %s: %s %s", self.peer, reason, detail
        )
