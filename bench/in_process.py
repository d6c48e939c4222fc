"""In-process baselines on pre-encoded frames, no sockets: the splitter
alone, decode only, decode + route, the wire path (decode and route from the
bytes), and ingest with the store (`Ingestor.ingest_wire`, else `ingest`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from logger.forward.protocol import FrameSplitter, decode_frame
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor
from logger.routing import Router


def stream_reads(stream: bytes, passes: int, read_bytes: int) -> Iterator[bytes]:
    """The stream cut as the server's reads cut it (`read_bytes` at most each)."""
    for _ in range(passes):
        for offset in range(0, len(stream), read_bytes):
            yield stream[offset : offset + read_bytes]


def _timed(
    stream: bytes, passes: int, forward: ForwardSettings, per_frame: Callable[[bytes], int]
) -> tuple[float, int]:
    """Seconds to cut the stream into frames and run `per_frame` on each, and
    the sum of what it returned."""
    splitter = FrameSplitter(forward.max_frame_bytes, forward.read_bytes)
    total = 0
    start = time.perf_counter()
    for data in stream_reads(stream, passes, forward.read_bytes):
        splitter.feed(data)
        while (raw := splitter.next_frame()) is not None:
            total += per_frame(raw)
    return time.perf_counter() - start, total


def split_only(stream: bytes, passes: int, forward: ForwardSettings) -> tuple[float, int]:
    """The frame splitter alone; the records it cut out (counted by decoding
    each frame once, outside the timing)."""
    elapsed, _ = _timed(stream, passes, forward, lambda raw: 1)
    records = decode_only(stream, 1, forward)[1] * passes
    return elapsed, records


def decode_only(stream: bytes, passes: int, forward: ForwardSettings) -> tuple[float, int]:
    def records(raw: bytes) -> int:
        frame = decode_frame(raw, forward.max_frame_bytes)
        return 0 if frame is None else len(frame.entries)

    return _timed(stream, passes, forward, records)


def route_only(
    router: Router, stream: bytes, passes: int, forward: ForwardSettings
) -> tuple[float, int]:
    def routed(raw: bytes) -> int:
        frame = decode_frame(raw, forward.max_frame_bytes)
        return 0 if frame is None else router.route(frame.tag, frame.entries).accepted

    return _timed(stream, passes, forward, routed)


def route_wire_only(
    router: Router, stream: bytes, passes: int, forward: ForwardSettings
) -> tuple[float, int]:
    """The wire path (`Router.route_wire`): decode and route from the bytes."""

    def routed(raw: bytes) -> int:
        wire = router.route_wire(raw, forward.max_frame_bytes)
        return 0 if wire is None else wire.batch.accepted

    return _timed(stream, passes, forward, routed)


async def ingest_in_process(
    ingestor: Ingestor, stream: bytes, passes: int, forward: ForwardSettings
) -> tuple[float, int]:
    splitter = FrameSplitter(forward.max_frame_bytes, forward.read_bytes)
    stored = 0
    start = time.perf_counter()
    for data in stream_reads(stream, passes, forward.read_bytes):
        splitter.feed(data)
        while (raw := splitter.next_frame()) is not None:
            # As the forward connection does: the wire path first, when compiled.
            wire = await ingestor.ingest_wire(raw, "forward", forward.max_frame_bytes)
            if wire is not None:
                stored += sum(map(len, wire.batch.lines.values()))
                continue
            frame = decode_frame(raw, forward.max_frame_bytes)
            if frame is not None:
                stored += await ingestor.ingest(frame, "forward", len(raw))
    return time.perf_counter() - start, stored
