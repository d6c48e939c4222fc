"""The follow phase: send-to-read latency of many concurrent
`GET /logs/{app}?follow=true` readers while frames arrive at a steady rate;
the send time is embedded in every message."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import msgpack

from bench.logger_process import HOST, LoggerProcess
from bench.measure import Spread, process_cpu_seconds, weighted_percentile
from bench.workload import access_line, event_time, frame_body, frame_options, kube_record

# Same length as any time.time_ns() for centuries: replacing it keeps msgpack lengths valid.
SENT_PLACEHOLDER = b"sent_ns=" + b"0" * 19
SENT_STAMP = re.compile(rb"sent_ns=(\d{19})")
DROP_NOTICE = b'"proc":"logger"'


@dataclass
class FollowState:
    measure_from_ns: int = 0
    # One sample per (chunk, frame) pair, weighted by the lines it stands for.
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))
    weights: array[int] = field(default_factory=lambda: array("q"))
    received: int = 0
    notices: int = 0
    ready: int = 0
    expected: int = 0
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class FollowRun:
    sent_rate: float  # records/s the sender achieved
    expected_lines: int
    received_lines: int
    drop_notices: int
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    # p50 of the last tenth of the samples: far above p50 means a growing queue.
    late_p50_ms: float
    logger_cpu: float
    client_cpu: float  # this process: the sender and every follower


@dataclass
class FollowResults:
    followers: int
    apps: int
    offered_rate: float  # records/s asked of the sender
    runs: list[FollowRun]

    @property
    def fanout_rate(self) -> float:
        """Lines/s the logger renders and writes: each record reaches every
        follower of its app."""
        return self.offered_rate * self.followers / self.apps

    def spread(self, name: str) -> Spread:
        return Spread([float(getattr(run, name)) for run in self.runs])

    def total(self, name: str) -> int:
        return sum(int(getattr(run, name)) for run in self.runs)


def add_follow_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The follow phase's options, for every benchmark that runs it."""
    add = parser.add_argument
    add("--followers", type=int, default=200)
    add("--follow-apps", type=int, default=10)
    add("--follow-records", type=int, default=100, help="records per frame")
    add("--follow-interval-ms", type=float, default=10.0)
    add("--follow-seconds", type=float, default=5.0, help="measured, per run")
    add("--follow-repeats", type=int, default=3)
    add("--follow-warmup", type=float, default=1.0)
    add(
        "--follow-client",
        choices=("raw", "aiohttp"),
        default="raw",
        help="how the followers read: off the socket (cheapest), or aiohttp's client",
    )


class WholeLines:
    """Chunks read off a follow, cut after their last whole line: a stamp is
    never counted from half a line."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> tuple[bytes, int]:
        """The bytes to read now, and where their whole lines end (0: none yet)."""
        data = self._pending + chunk
        end = data.rfind(b"\n") + 1
        self._pending = data[end:]
        return data, end


def count_lines(state: FollowState, data: bytes, end: int, now: int) -> None:
    """Count the lines of data[:end] (whole lines), read at `now`."""
    # Every line of a chunk is read at the same moment and the lines of
    # one frame share a stamp, so count stamps in C rather than loop per
    # line in Python: a per-line loop made this client the bottleneck.
    state.notices += data.count(DROP_NOTICE, 0, end)
    for stamp, lines in Counter(SENT_STAMP.findall(data, 0, end)).items():
        state.received += lines
        sent = int(stamp)
        if sent >= state.measure_from_ns:
            state.latencies_ns.append(now - sent)
            state.weights.append(lines)
    if state.received >= state.expected:
        state.caught_up.set()


async def follow_one(session: aiohttp.ClientSession, url: str, state: FollowState) -> None:
    """A follow read by aiohttp's client (`--follow-client aiohttp`)."""
    async with session.get(url) as response:
        response.raise_for_status()
        # The follower is subscribed before the headers are sent.
        state.ready += 1
        whole = WholeLines()
        async for chunk in response.content.iter_any():
            now = time.time_ns()
            data, end = whole.feed(chunk)
            if end:
                count_lines(state, data, end, now)


class RawFollow(asyncio.Protocol):
    """A follow read straight off its socket (`--follow-client raw`, the
    default): 200 aiohttp responses in one process cost this client most of
    a core, and a client that serves its followers one after another adds
    its own queue to every latency. The chunked framing is not undone:
    stamps are counted in the raw bytes (a chunk holds whole lines)."""

    def __init__(self, request: bytes, state: FollowState) -> None:
        self._request = request
        self._state = state
        self._head = b""
        self._lines = WholeLines()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if self._head is not None:
            self._head += data
            head, found, data = self._head.partition(b"\r\n\r\n")
            if not found:
                return
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"follow answered {head.splitlines()[0]!r}")
            self._head = None  # type: ignore[assignment]
            self._state.ready += 1  # subscribed before the headers are sent
        data, end = self._lines.feed(data)
        if end:
            count_lines(self._state, data, end, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def follow_raw(port: int, path: str, state: FollowState) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        lambda: RawFollow(request, state), HOST, port
    )
    try:
        await protocol.closed
    finally:
        transport.close()


def follow_templates(count: int, records: int, apps: list[str], message_bytes: int) -> list[bytes]:
    """Frame bodies whose every message holds the placeholder for the send time."""
    base_ns = time.time_ns()
    bodies = []
    for t in range(count):
        entries = []
        for j in range(records):
            head = f"{SENT_PLACEHOLDER.decode()} {t:04d}-{j:04d} "
            log = head + access_line(t * records + j, message_bytes - 1 - len(head)) + "\n"
            app = apps[j % len(apps)]
            # The event time only names the line; latency comes from the stamp.
            entries.append([event_time(base_ns), kube_record(app, (j // len(apps)) % 3, log)])
        bodies.append(frame_body(entries))
    return bodies


async def send_steadily(
    port: int, bodies: list[bytes], frames: int, interval: float, records: int
) -> float:
    """Send `frames` frames on an absolute schedule `interval` apart (a late frame
    is followed at once by the next, so the average rate holds); returns the
    seconds the sending took. Acks are read and counted."""
    reader, writer = await asyncio.open_connection(HOST, port)
    acked = 0

    async def read_acks() -> None:
        nonlocal acked
        unpacker = msgpack.Unpacker(raw=False)
        while acked < frames:
            data = await reader.read(1 << 16)
            if not data:
                raise ConnectionError("the logger closed the forward connection")
            unpacker.feed(data)
            acked += sum(1 for _ in unpacker)

    acks = asyncio.create_task(read_acks())
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        for k in range(frames):
            delay = start + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = b"sent_ns=%019d" % time.time_ns()
            writer.write(bodies[k % len(bodies)].replace(SENT_PLACEHOLDER, stamp))
            writer.write(frame_options(f"follow-{k:08d}", records))
            await writer.drain()
        elapsed = loop.time() - start
        async with asyncio.timeout(30):
            await acks
        return elapsed
    finally:
        acks.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def measure_follow(
    args: argparse.Namespace, logger: LoggerProcess, sender: LoggerProcess | None = None
) -> FollowResults:
    """Followers read `logger`; frames go to `sender` (another replica), else to `logger`."""
    apps = [f"follow{i:02d}" for i in range(args.follow_apps)]
    bodies = follow_templates(20, args.follow_records, apps, args.message_bytes)
    runs = []
    for run in range(args.follow_repeats):
        runs.append(await follow_run(args, logger, apps, bodies, sender or logger))
        print(
            f"  run {run + 1}/{args.follow_repeats}: p50 {runs[-1].p50_ms:.1f} ms, "
            f"p99 {runs[-1].p99_ms:.1f} ms",
            file=sys.stderr,
        )
        await asyncio.sleep(1)  # let the logger finish with the closed follows
    offered = args.follow_records / (args.follow_interval_ms / 1000)
    return FollowResults(args.followers, len(apps), offered, runs)


async def follow_run(
    args: argparse.Namespace,
    logger: LoggerProcess,
    apps: list[str],
    bodies: list[bytes],
    sender: LoggerProcess,
) -> FollowRun:
    interval = args.follow_interval_ms / 1000
    frames = round((args.follow_warmup + args.follow_seconds) / interval)
    per_app = [len(range(i, args.follow_records, len(apps))) for i in range(len(apps))]
    # Follower i reads app i % len(apps).
    expected = sum(per_app[i % len(apps)] * frames for i in range(args.followers))
    state = FollowState(expected=expected)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        query = "follow=true&timeout=60&log_lines=0&format=json"
        paths = [f"/logs/{apps[i % len(apps)]}?{query}" for i in range(args.followers)]
        tasks = [
            asyncio.create_task(
                follow_raw(logger.http_port, path, state)
                if args.follow_client == "raw"
                else follow_one(session, logger.base_url + path, state)
            )
            for path in paths
        ]
        try:
            async with asyncio.timeout(30):
                while state.ready < args.followers:
                    for task in tasks:
                        if task.done():
                            task.result()  # a follow that failed early: raise its error
                            raise RuntimeError("a follow ended before any line was sent")
                    await asyncio.sleep(0.02)
            state.measure_from_ns = time.time_ns() + int(args.follow_warmup * 1e9)
            cpu_before = logger.cpu_seconds() + (
                sender.cpu_seconds() if sender is not logger else 0
            )
            own_cpu_before = process_cpu_seconds(os.getpid())
            wall_start = time.monotonic()
            sending = await send_steadily(
                sender.forward_port, bodies, frames, interval, args.follow_records
            )
            # Let the followers catch up, but not forever.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.caught_up.wait(), 15)
            wall = time.monotonic() - wall_start
            cpu_after = logger.cpu_seconds() + (sender.cpu_seconds() if sender is not logger else 0)
            logger_cpu = (cpu_after - cpu_before) / wall
            client_cpu = (process_cpu_seconds(os.getpid()) - own_cpu_before) / wall
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    if not state.latencies_ns:
        raise RuntimeError("no follow latency samples")
    ordered = sorted(zip(state.latencies_ns, state.weights, strict=True))
    samples = sum(state.weights)
    # Samples are appended as they arrive, so the last tenth is the end of the run.
    tail_start = len(state.latencies_ns) * 9 // 10
    late = sorted(zip(state.latencies_ns[tail_start:], state.weights[tail_start:], strict=True))
    return FollowRun(
        sent_rate=frames * args.follow_records / sending,
        expected_lines=expected,
        received_lines=state.received,
        drop_notices=state.notices,
        samples=samples,
        p50_ms=weighted_percentile(ordered, samples, 0.50) / 1e6,
        p99_ms=weighted_percentile(ordered, samples, 0.99) / 1e6,
        max_ms=ordered[-1][0] / 1e6,
        late_p50_ms=weighted_percentile(late, sum(w for _, w in late), 0.50) / 1e6,
        logger_cpu=logger_cpu,
        client_cpu=client_cpu,
    )
