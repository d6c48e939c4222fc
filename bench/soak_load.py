"""The soak's load, all in one asyncio loop: a forward sender with acks,
followers on the logs API, drain receivers (one of them flapping) and app
churn. Every message carries its send time (`sent_ns=`) so that a follower
or a receiver can tell its latency and count what it got."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgpack

from bench.follow_latency import SENT_STAMP, WholeLines
from bench.logger_process import HOST
from bench.workload import access_line, event_time, kube_record

RECORDS_PER_FRAME = 100
# One record in DRAINED_SHARE goes to a drained app, so that drains carry
# more than the 1/1000 of the load a uniform spread would give them.
DRAINED_SHARE = 10


def app_name(index: int) -> str:
    return f"soak-{index:04d}"


@dataclass
class Counts:
    """What the load saw since the last sample (reset by `take`)."""

    acked: int = 0
    ack_failures: int = 0
    followed: int = 0
    follow_restarts: int = 0
    drained: int = 0
    deleted: int = 0
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))
    totals: Counter[str] = field(default_factory=Counter)

    def take(self) -> Counts:
        taken = Counts(
            self.acked, self.ack_failures, self.followed, self.follow_restarts,
            self.drained, self.deleted, self.latencies_ns,
        )  # fmt: skip
        for name in ("acked", "ack_failures", "followed", "follow_restarts", "drained", "deleted"):
            self.totals[name] += getattr(self, name)
            setattr(self, name, 0)
        self.latencies_ns = array("q")
        return taken


@dataclass(frozen=True)
class Plan:
    apps: int
    followers: int
    drains: int
    rate: int  # records/s


def frame(plan: Plan, cursor: int, sent_ns: int) -> tuple[bytes, str]:
    """One Forward-mode frame of RECORDS_PER_FRAME records over the apps,
    asking for an ack; returns it with its chunk id."""
    entries: list[list[Any]] = []
    stamp = f"sent_ns={sent_ns:019d}"
    for j in range(RECORDS_PER_FRAME):
        n = cursor + j
        index = (n // DRAINED_SHARE) % plan.drains if j % DRAINED_SHARE == 0 else n % plan.apps
        app = app_name(index)
        log = f"{stamp} {access_line(n, 80)}"
        entries.append([event_time(sent_ns), kube_record(app, n % 3, log)])
    chunk = base64.b64encode(os.urandom(12)).decode()
    body = msgpack.packb(["soak", entries, {"chunk": chunk, "size": len(entries)}])
    return body, chunk


async def read_acks(
    reader: asyncio.StreamReader,
    waiting: dict[str, int],
    window: asyncio.Semaphore,
    counts: Counts,
) -> None:
    """Count the records of every ack, and free its frame's place in the window."""
    unpacker = msgpack.Unpacker(raw=False)
    while data := await reader.read(1 << 16):
        unpacker.feed(data)
        for reply in unpacker:
            chunk = reply.get("ack", "") if isinstance(reply, dict) else ""
            records = waiting.pop(chunk, None)
            if records is None:
                counts.ack_failures += 1
                continue
            counts.acked += records
            window.release()


async def send_forever(port: int, plan: Plan, counts: Counts, stop: asyncio.Event) -> None:
    """Frames on an absolute schedule at `plan.rate`, up to 8 waiting for
    their ack; a broken connection is reopened and counted."""
    interval = RECORDS_PER_FRAME / plan.rate
    cursor = 0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            counts.ack_failures += 1
            await asyncio.sleep(1)
            continue
        window = asyncio.Semaphore(8)
        waiting: dict[str, int] = {}

        acks = asyncio.create_task(read_acks(reader, waiting, window, counts))
        start = loop.time()
        sent = 0
        try:
            while not stop.is_set() and not acks.done():
                delay = start + sent * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await asyncio.wait_for(window.acquire(), 30)
                body, chunk = frame(plan, cursor, time.time_ns())
                waiting[chunk] = RECORDS_PER_FRAME
                writer.write(body)
                await writer.drain()
                cursor += RECORDS_PER_FRAME
                sent += 1
        except (OSError, TimeoutError):
            pass
        finally:
            counts.ack_failures += len(waiting)
            acks.cancel()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def follow_forever(
    session: aiohttp.ClientSession, url: str, app: str, counts: Counts, stop: asyncio.Event
) -> None:
    """A follower that reconnects when its follow's timeout ends it."""
    params = {"follow": "true", "timeout": "120", "log_lines": "0"}
    while not stop.is_set():
        try:
            async with session.get(f"{url}/logs/{app}", params=params) as response:
                whole = WholeLines()
                async for chunk in response.content.iter_any():
                    now = time.time_ns()
                    data, end = whole.feed(chunk)
                    for stamp, lines in Counter(SENT_STAMP.findall(data, 0, end)).items():
                        counts.followed += lines
                        counts.latencies_ns.extend([now - int(stamp)] * lines)
        except (TimeoutError, aiohttp.ClientError):
            await asyncio.sleep(1)
        counts.follow_restarts += 1


class DrainReceiver:
    """A TCP syslog receiver that counts stamped lines; `flap` makes it stop
    listening and drop its connections for a while."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, HOST, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.transport.abort()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while data := await reader.read(1 << 16):
                self.counts.drained += data.count(b"sent_ns=")
        except OSError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def flap(self, stop: asyncio.Event, every: float, down: float) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every - down)
                return
            await self.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), down)
            await self.start()


async def churn_apps(
    session: aiohttp.ClientSession, url: str, plan: Plan, counts: Counts, stop: asyncio.Event
) -> None:
    """Every 10 s, `DELETE /logs/{app}` of 20 apps that nobody follows or drains."""
    first = max(plan.followers, plan.drains)
    cursor = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 10)
            return
        for _ in range(20):
            app = app_name(first + cursor % (plan.apps - first))
            cursor += 1
            with contextlib.suppress(aiohttp.ClientError):
                async with session.delete(f"{url}/logs/{app}") as response:
                    if response.status in (204, 404):
                        counts.deleted += 1
