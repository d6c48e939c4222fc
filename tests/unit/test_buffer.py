"""One bounded buffer: each overflow policy does what its docstring says, the
one notice format, the one loss counter, and the same notice from a
follower, a drain and a resume past what the store holds."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

from logger.app import create_app
from logger.buffer import (
    L10_BUFFER_OVERFLOW,
    BoundedBuffer,
    OverflowPolicy,
    loss_notice,
)
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.drains.base import Batch as DrainBatch
from logger.drains.base import Drain
from logger.drains.settings import DrainSettings
from logger.drains.telemetry import DrainTelemetry
from logger.drains.url import parse_drain_url
from logger.lines import format_timestamp, platform_line
from logger.store.base import ReadQuery
from logger.store.memory import MemoryStore, StoreSettings
from logger.tail import TailHub
from logger.telemetry import Telemetry

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient
    from pytest_aiohttp import AiohttpClient

T0 = 1_795_341_600_000_000_000
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"
# The one notice shape: marker, time, `app[logger]: `, an optional Logplex
# code, `N lines dropped since|before T (reason)`.
NOTICE = re.compile(
    rf"^(?P<stream>[-e]){STAMP} shop\[logger\]: (?:(?P<code>Error L1[01] \([a-z ]+\)): )?"
    rf"(?P<count>\d+) lines dropped (?:since|before) {STAMP} \((?P<reason>[a-z_]+)\)$"
)


class Losses:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, component: str, reason: str, lines: int) -> None:
        self.seen.append((component, reason, lines))


def lines(start: int, count: int) -> list[bytes]:
    return [platform_line("shop", "web", f"m{i}", T0) for i in range(start, start + count)]


def buffer(policy: OverflowPolicy, losses: Losses, capacity: int = 5) -> BoundedBuffer[list[bytes]]:
    return BoundedBuffer(
        capacity,
        policy,
        component="test",
        reason="full",
        on_loss=losses,
        weigh=lambda chunk: sum(map(len, chunk)),
        clock=lambda: T0,
    )


def held(queue: BoundedBuffer[list[bytes]]) -> list[bytes]:
    return [line for chunk in queue.take_all() for line in chunk]


def test_drop_oldest_drops_the_oldest_and_records_the_loss() -> None:
    losses = Losses()
    queue = buffer(OverflowPolicy.DROP_OLDEST, losses)
    assert queue.offer(lines(0, 3))
    assert queue.offer(lines(3, 4))  # 7 into 5: the two oldest go
    assert len(queue) == 5
    assert queue.bytes == sum(map(len, lines(2, 5)))
    assert losses.seen == [("test", "full", 2)]
    assert queue.lost == 2
    notice = queue.take_notice("shop")
    assert notice == loss_notice("shop", 2, T0, "full", T0)
    assert queue.take_notice("shop") is None  # told once
    assert held(queue) == lines(2, 5)


def test_drop_oldest_keeps_the_newest_of_a_chunk_larger_than_the_buffer() -> None:
    losses = Losses()
    queue = buffer(OverflowPolicy.DROP_OLDEST, losses)
    queue.offer(lines(0, 2))
    queue.offer(lines(2, 10))
    assert losses.seen == [("test", "full", 7)]
    assert held(queue) == lines(7, 5)


def test_refuse_newest_keeps_what_is_held_and_refuses_the_new() -> None:
    losses = Losses()
    queue = buffer(OverflowPolicy.REFUSE_NEWEST, losses)
    assert queue.offer(lines(0, 4))
    assert queue.offer(lines(4, 2)) is False
    assert len(queue) == 4
    assert losses.seen == [("test", "full", 2)]
    assert queue.take_notice("shop") is not None
    assert held(queue) == lines(0, 4)


async def test_block_makes_the_producer_wait_and_loses_nothing() -> None:
    losses = Losses()
    queue = buffer(OverflowPolicy.BLOCK, losses)
    queue.offer(lines(0, 4))
    with pytest.raises(BufferError):
        queue.offer(lines(4, 2))
    producer = asyncio.create_task(queue.put(lines(4, 2)))
    await asyncio.sleep(0)
    assert not producer.done()  # waiting for room
    assert [len(chunk) for chunk in queue.take(2)] == [2]
    async with asyncio.timeout(5):
        await producer
    assert held(queue) == lines(2, 4)
    assert losses.seen == []
    assert queue.take_notice("shop") is None


def test_take_slices_chunks_and_give_back_restores_the_front() -> None:
    queue = buffer(OverflowPolicy.DROP_OLDEST, Losses(), capacity=10)
    queue.offer(lines(0, 3))
    queue.offer(lines(3, 3))
    taken = queue.take(4)
    assert [line for chunk in taken for line in chunk] == lines(0, 4)
    assert len(queue) == 2
    queue.give_back(lines(3, 1))
    assert held(queue) == lines(3, 3)
    assert queue.bytes == 0


def test_the_notice_format() -> None:
    since = T0 + 1_250_000_000
    assert (
        loss_notice("shop", 1234, since, "reader_too_slow", T0 + 5 * 10**9)
        == (
            f"-{format_timestamp(T0 + 5 * 10**9)} shop[logger]: 1234 lines dropped since "
            f"{format_timestamp(since)} (reader_too_slow)"
        ).encode()
    )
    assert (
        loss_notice("shop", 4, since, "buffer_overflow", T0, L10_BUFFER_OVERFLOW)
        == (
            f"e{format_timestamp(T0)} shop[logger]: Error L10 (output buffer overflow): "
            f"4 lines dropped since {format_timestamp(since)} (buffer_overflow)"
        ).encode()
    )


class CollectingSink:
    linger = 0.0

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.sent = asyncio.Event()

    async def send(self, batch: DrainBatch) -> int:
        self.batches.append(list(batch.lines))
        self.sent.set()
        return sum(map(len, batch.lines))

    async def close(self) -> None:
        pass


async def test_a_follower_and_a_drain_overflow_give_the_same_notice_and_counter(
    tmp_path: Path,
) -> None:
    telemetry = Telemetry(CollectorRegistry())
    hub = TailHub(max_queued_lines=5, on_loss=telemetry.discarded)
    follower = hub.subscribe("shop")
    for start in range(0, 9, 3):
        hub.publish("shop", 100 + start, lines(start, 3))
    follower_notice, batches = follower.take()
    assert sum(len(batch.lines) for batch in batches) == 5

    settings = DrainSettings(state_file=None, buffer_lines=5, batch_lines=100)
    metrics = DrainTelemetry(telemetry.registry).for_drain("d1", "shop", "syslog")
    sink = CollectingSink()
    drain = Drain(
        "d1",
        "shop",
        parse_drain_url("syslog+tcp://127.0.0.1:9"),
        sink,
        settings,
        metrics,
        on_loss=telemetry.discarded,
    )
    for start in range(0, 9, 3):
        drain.offer(lines(start, 3))
    await drain.start()
    async with asyncio.timeout(5):
        await sink.sent.wait()
    await drain.close()
    drain_notice = sink.batches[0][0]

    assert follower_notice is not None
    shapes = [NOTICE.match(notice.decode()) for notice in (follower_notice, drain_notice)]
    assert all(shapes), (follower_notice, drain_notice)
    follower_shape, drain_shape = shapes
    assert follower_shape is not None
    assert drain_shape is not None
    assert (follower_shape["stream"], follower_shape["code"], follower_shape["count"]) == (
        "-",
        None,
        "4",
    )
    assert (drain_shape["stream"], drain_shape["code"], drain_shape["count"]) == (
        "e",
        L10_BUFFER_OVERFLOW,
        "4",
    )
    assert (follower_shape["reason"], drain_shape["reason"]) == (
        "reader_too_slow",
        "buffer_overflow",
    )
    value = telemetry.registry.get_sample_value
    assert (
        value(
            "logger_discarded_events_total", {"component": "follower", "reason": "reader_too_slow"}
        )
        == 4
    )
    assert (
        value("logger_discarded_events_total", {"component": "drain", "reason": "buffer_overflow"})
        == 4
    )


async def test_a_resume_past_the_ring_gets_one_notice_with_the_count(
    aiohttp_client: AiohttpClient,
) -> None:
    app = create_app(LoggerSettings(store=StoreSettings(lines_per_app=10)), forward=False)
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    ingestor = app[COMPONENTS].ingestor
    first = await ingestor.store_lines("shop", lines(0, 1))
    assert first == 1
    start = (await app[COMPONENTS].store.read("shop", _all())).lines[0][0]
    await ingestor.store_lines("shop", lines(1, 24))  # 25 lines in a ring of 10
    # Resume after the 3rd line: lines 4..15 (12) are gone, 10 are held.
    for output in ("text", "json"):
        reply = await client.get(
            "/logs/shop", params={"after_seq": str(start + 2), "format": output, "log_lines": "-1"}
        )
        assert reply.status == 200
        body = (await reply.text()).splitlines()
        assert len(body) == 11
        text = body[0] if output == "text" else _json_line(body[0])
        match = NOTICE.match("-" + text)
        assert match is not None, body[0]
        assert (match["count"], match["reason"]) == ("12", "no_longer_buffered")
        assert sum("lines dropped" in line for line in body) == 1
    # A resume within what is held gets no notice.
    latest = await client.get("/logs/shop", params={"after_seq": str(start + 20)})
    assert "lines dropped" not in await latest.text()


async def test_a_resume_past_an_evicted_ring_counts_its_lines() -> None:
    store = MemoryStore(StoreSettings(lines_per_app=100, max_bytes=60_000))
    await store.append("shop", lines(0, 50))
    start = (await store.read("shop", _all())).lines[0][0]
    await store.append("blog", [line * 20 for line in lines(0, 100)])  # evicts shop
    assert "shop" not in await store.apps()
    result = await store.read("shop", _query(after_seq=start + 9))
    assert (result.lines, result.gone) == ([], 40)
    await store.append("shop", lines(50, 5))
    again = await store.read("shop", _query(after_seq=start + 9))
    assert (len(again.lines), again.gone) == (5, 40)
    await store.delete("shop")
    assert (await store.read("shop", _query(after_seq=start + 9))).gone == 0


def _all() -> ReadQuery:
    return ReadQuery(limit=-1)


def _query(after_seq: int) -> ReadQuery:
    return ReadQuery(limit=-1, after_seq=after_seq)


def _json_line(raw: str) -> str:
    record = json.loads(raw)
    return f"{record['time']} {record['app']}[{record['proc']}]: {record['message']}"
