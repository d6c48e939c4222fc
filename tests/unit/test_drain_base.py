"""The shared drain shape, with a scripted sink: buffer, batches, retries, drops."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from logger.drains.base import INTERNAL_RETRIES, Batch, Drain, backoff_delay, retry_delay
from logger.drains.errors import RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.state import DrainState
from logger.drains.telemetry import DrainTelemetry
from logger.drains.url import parse_drain_url
from logger.lines import format_timestamp

T0 = 1_795_000_000_000_000_000
SETTINGS = DrainSettings(
    state_file=None,
    buffer_lines=5,
    batch_lines=3,
    batch_bytes=1024,
    batch_interval=0.0,
    retry_base=0.001,
    retry_max=0.004,
)
LABELS = {"drain_id": "d1", "app": "shop", "scheme": "syslog+tcp"}


def line(number: int) -> bytes:
    return b"o" + f"{format_timestamp(T0 + number * 1000)} shop[web.1]: line {number}".encode()


class ScriptedSink:
    """Records every attempt; raises the scripted errors in order, then succeeds."""

    def __init__(self, *outcomes: Exception, linger: float = 0.0) -> None:
        self.outcomes = list(outcomes)
        self.attempts: list[tuple[str, list[bytes]]] = []
        self.linger = linger
        self.gate: asyncio.Event | None = None
        self.closed = False

    async def send(self, batch: Batch) -> int:
        if self.gate is not None:
            await self.gate.wait()
        self.attempts.append((batch.frame_id, list(batch.lines)))
        if self.outcomes:
            raise self.outcomes.pop(0)
        return sum(len(item) for item in batch.lines)

    async def close(self) -> None:
        self.closed = True

    @property
    def delivered(self) -> list[bytes]:
        """Lines of the successful attempts (the last attempt of each frame)."""
        last: dict[str, list[bytes]] = {}
        for frame_id, lines in self.attempts:
            last[frame_id] = lines
        return [item for lines in last.values() for item in lines]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_drain(
    sink: ScriptedSink,
    registry: CollectorRegistry,
    clock: Clock,
    settings: DrainSettings = SETTINGS,
) -> Drain:
    metrics = DrainTelemetry(registry).for_drain("d1", "shop", "syslog+tcp")
    url = parse_drain_url("syslog+tcp://127.0.0.1:5140")
    return Drain("d1", "shop", url, sink, settings, metrics, clock=clock, rng=random.Random(7))


@pytest.fixture
async def closing() -> AsyncIterator[list[Drain]]:
    drains: list[Drain] = []
    yield drains
    for drain in drains:
        await drain.close()


def value(registry: CollectorRegistry, name: str, **extra: str) -> float | None:
    return registry.get_sample_value(name, {**LABELS, **extra})


async def test_lines_are_delivered_in_order_in_batches(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink()
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    await drain.start()
    drain.offer([line(0), line(1), line(2), line(3)])
    assert await drain.wait_idle(2)
    assert [lines for _, lines in sink.attempts] == [[line(0), line(1), line(2)], [line(3)]]
    assert drain.state is DrainState.CONNECTED
    assert drain.delivered_lines == 4
    assert value(metrics_registry, "logger_drain_delivered_lines_total") == 4
    total = sum(len(line(n)) for n in range(4))
    assert value(metrics_registry, "logger_drain_delivered_bytes_total") == total
    assert value(metrics_registry, "logger_drain_state", state="connected") == 1
    assert value(metrics_registry, "logger_drain_state", state="idle") == 0
    assert value(metrics_registry, "logger_drain_buffer_lines") == 0
    assert value(metrics_registry, "logger_drain_buffer_capacity_lines") == 5


async def test_overflow_displaces_oldest_and_next_batch_says_so(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink()
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    drain.offer([line(n) for n in range(4)])
    clock.now = T0 + 5_000_000_000
    drain.offer([line(n) for n in range(4, 6)])  # 1 displaced, since T0+5s
    clock.now = T0 + 7_000_000_000
    drain.offer([line(n) for n in range(6, 9)])  # 3 more displaced
    assert drain.buffered_lines == 5
    assert value(metrics_registry, "logger_drain_buffer_lines") == 5
    assert drain.dropped == {"buffer_overflow": 4}
    assert (
        value(metrics_registry, "logger_drain_dropped_lines_total", reason="buffer_overflow") == 4
    )
    clock.now = T0 + 9_000_000_000
    await drain.start()
    assert await drain.wait_idle(2)
    notice = (
        "e" + format_timestamp(T0 + 9_000_000_000) + " shop[logger]: Error L10 (output buffer "
        f"overflow): 4 lines dropped since {format_timestamp(T0 + 5_000_000_000)} "
        "(buffer_overflow)"
    ).encode()
    assert sink.delivered == [notice, *[line(n) for n in range(4, 9)]]
    # The notice travels with the first batch but is not counted as a delivered line.
    assert [len(lines) for _, lines in sink.attempts] == [4, 2]
    assert drain.delivered_lines == 5


async def test_an_offer_larger_than_the_buffer_keeps_its_newest_lines(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink()
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    drain.offer([line(0), line(1)])
    drain.offer([line(n) for n in range(2, 14)])
    assert drain.buffered_lines == 5
    assert drain.dropped == {"buffer_overflow": 9}
    await drain.start()
    assert await drain.wait_idle(2)
    assert sink.delivered[1:] == [line(n) for n in range(9, 14)]
    assert b"9 lines dropped since" in sink.delivered[0]


async def test_retryable_errors_resend_the_same_batch_with_the_same_frame_id(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink(
        RetryableDelivery("connection to 127.0.0.1:5140 refused", "connect"),
        RetryableDelivery("127.0.0.1:5140 did not take a batch within 1s", "timeout"),
    )
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    await drain.start()
    drain.offer([line(0), line(1)])
    assert await drain.wait_idle(2)
    frame_ids = {frame_id for frame_id, _ in sink.attempts}
    assert len(sink.attempts) == 3
    assert len(frame_ids) == 1
    assert all(lines == [line(0), line(1)] for _, lines in sink.attempts)
    assert drain.retries == 2
    assert drain.last_error == "127.0.0.1:5140 did not take a batch within 1s"
    assert drain.last_error_at == format_timestamp(T0)
    assert drain.state is DrainState.CONNECTED
    assert value(metrics_registry, "logger_drain_retries_total", kind="connect") == 1
    assert value(metrics_registry, "logger_drain_retries_total", kind="timeout") == 1
    assert value(metrics_registry, "logger_drain_last_error_timestamp_seconds") == T0 / 1e9
    assert drain.delivered_lines == 2


async def test_a_rejected_batch_is_dropped_with_its_status_and_sending_goes_on(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink(RejectedDelivery("h:1 answered HTTP 400 Bad Request", 400))
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    await drain.start()
    drain.offer([line(0), line(1), line(2)])
    assert await drain.wait_idle(2)
    drain.offer([line(3)])
    assert await drain.wait_idle(2)
    assert drain.dropped == {"http_400": 3}
    assert value(metrics_registry, "logger_drain_dropped_lines_total", reason="http_400") == 3
    assert drain.delivered_lines == 1
    assert drain.retries == 0
    assert drain.last_error == "h:1 answered HTTP 400 Bad Request"
    assert [lines for _, lines in sink.attempts] == [[line(0), line(1), line(2)], [line(3)]]


async def test_a_sink_bug_is_retried_not_fatal(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    sink = ScriptedSink(ZeroDivisionError("secret-in-message"))
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    await drain.start()
    drain.offer([line(0)])
    assert await drain.wait_idle(2)
    assert drain.last_error == "internal error (ZeroDivisionError)"
    assert value(metrics_registry, "logger_drain_retries_total", kind="internal") == 1
    assert drain.delivered_lines == 1


async def test_a_persistent_sink_bug_is_logged_retried_twice_then_dropped(
    metrics_registry: CollectorRegistry,
    clock: Clock,
    closing: list[Drain],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = ScriptedSink(*[ZeroDivisionError("secret-in-message") for _ in range(3)])
    drain = make_drain(sink, metrics_registry, clock)
    closing.append(drain)
    await drain.start()
    with caplog.at_level(logging.WARNING, logger="logger.drains"):
        drain.offer([line(0), line(1)])
        assert await drain.wait_idle(2)
        drain.offer([line(2)])
        assert await drain.wait_idle(2)
    assert len(sink.attempts) == 1 + INTERNAL_RETRIES + 1
    assert drain.dropped == {"internal_error": 2}
    assert value(metrics_registry, "logger_drain_dropped_lines_total", reason="internal_error") == 2
    assert value(metrics_registry, "logger_drain_retries_total", kind="internal") == 2
    assert drain.delivered_lines == 1
    tracebacks = [r for r in caplog.records if "failed with a bug" in r.getMessage()]
    assert len(tracebacks) == 1  # once per change of state, not per attempt
    assert "in send" in tracebacks[0].getMessage()  # where the bug is
    assert "secret-in-message" not in caplog.text


async def test_backing_off_state_while_the_sink_fails(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    settings = replace(SETTINGS, retry_base=10.0, retry_max=10.0)
    sink = ScriptedSink(RetryableDelivery("connection to 127.0.0.1:5140 refused", "connect"))
    drain = make_drain(sink, metrics_registry, clock, settings)
    closing.append(drain)
    await drain.start()
    drain.offer([line(0)])
    for _ in range(100):
        if drain.state is DrainState.BACKING_OFF:
            break
        await asyncio.sleep(0.005)
    assert drain.state is DrainState.BACKING_OFF
    assert value(metrics_registry, "logger_drain_state", state="backing_off") == 1
    assert value(metrics_registry, "logger_drain_state", state="idle") == 0
    assert drain.view().to_json()["state"] == "backing_off"


async def test_linger_waits_for_a_fuller_batch(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    settings = replace(SETTINGS, buffer_lines=100, batch_lines=4)
    sink = ScriptedSink(linger=0.3)
    drain = make_drain(sink, metrics_registry, clock, settings)
    closing.append(drain)
    await drain.start()
    started = time.monotonic()
    drain.offer([line(0)])
    await asyncio.sleep(0.01)
    drain.offer([line(1)])
    assert await drain.wait_idle(2)
    waited = time.monotonic() - started
    assert [len(lines) for _, lines in sink.attempts] == [2]
    assert 0.25 <= waited < 1.5
    started = time.monotonic()
    drain.offer([line(n) for n in range(2, 6)])  # a full batch goes at once
    assert await drain.wait_idle(2)
    assert time.monotonic() - started < 0.2
    assert [len(lines) for _, lines in sink.attempts] == [2, 4]


async def test_batches_are_cut_by_bytes(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    settings = replace(SETTINGS, buffer_lines=100, batch_lines=100, batch_bytes=1024)
    sink = ScriptedSink()
    drain = make_drain(sink, metrics_registry, clock, settings)
    closing.append(drain)
    big = [b"o" + f"{format_timestamp(T0)} shop[web.1]: {n:03d}".encode() + b"x" * 400
           for n in range(7)]  # fmt: skip
    huge = b"o" + f"{format_timestamp(T0)} shop[web.1]: ".encode() + b"y" * 2000
    drain.offer([*big, huge])
    await drain.start()
    assert await drain.wait_idle(2)
    # 2 lines of ~440 bytes fit in 1024; a line over the limit travels alone.
    assert [len(lines) for _, lines in sink.attempts] == [2, 2, 2, 1, 1]
    assert sink.delivered == [*big, huge]


async def test_offer_never_waits_on_a_stuck_sink(
    metrics_registry: CollectorRegistry, clock: Clock, closing: list[Drain]
) -> None:
    settings = replace(SETTINGS, buffer_lines=1000, batch_lines=100, batch_bytes=1 << 20)
    sink = ScriptedSink()
    sink.gate = asyncio.Event()  # send() blocks until released
    drain = make_drain(sink, metrics_registry, clock, settings)
    closing.append(drain)
    await drain.start()
    lines = [line(n) for n in range(500)]
    for _ in range(200):
        drain.offer(lines)
        await asyncio.sleep(0)
    assert drain.buffered_lines == 1000
    # The sender holds one batch of 100; the rest of 100,000 offered lines overflowed.
    assert drain.dropped == {"buffer_overflow": 100_000 - 1000 - 100}
    sink.gate.set()
    assert await drain.wait_idle(5)
    assert drain.delivered_lines == 1100
    assert drain.delivered_lines + sum(drain.dropped.values()) == 100_000


async def test_close_flushes_then_counts_what_is_left(
    metrics_registry: CollectorRegistry, clock: Clock
) -> None:
    sink = ScriptedSink()
    drain = make_drain(sink, metrics_registry, clock)
    await drain.start()
    drain.offer([line(0), line(1)])
    await drain.close(flush_timeout=2)
    assert sink.delivered == [line(0), line(1)]
    assert drain.dropped == {}
    assert sink.closed
    assert drain.state is DrainState.CLOSED
    drain.offer([line(2)])  # ignored once closed
    assert drain.buffered_lines == 0

    stuck = ScriptedSink()
    stuck.gate = asyncio.Event()
    other = make_drain(stuck, CollectorRegistry(), clock)
    await other.start()
    other.offer([line(n) for n in range(5)])
    await asyncio.sleep(0.01)
    await other.close(flush_timeout=0.05)
    assert other.dropped == {"closed": 5}


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0), (60, 30.0)]:
        for _ in range(50):
            delay = backoff_delay(attempt, 0.5, 30.0, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_retry_after_is_honoured_up_to_the_maximum() -> None:
    rng = random.Random(1)
    assert retry_delay(0, 5.0, SETTINGS, rng) == SETTINGS.retry_max
    settings = replace(SETTINGS, retry_base=0.1, retry_max=60.0)
    assert retry_delay(0, 5.0, settings, rng) == 5.0
    assert 0.05 <= retry_delay(0, None, settings, rng) <= 0.1


def test_repr_and_view_show_only_the_redacted_url(
    metrics_registry: CollectorRegistry, clock: Clock
) -> None:
    metrics = DrainTelemetry(metrics_registry).for_drain("d1", "shop", "https")
    url = parse_drain_url("https://user:hunter2@sink.example.com/in?token=tok-abc")
    drain = Drain("d1", "shop", url, ScriptedSink(), SETTINGS, metrics, clock=clock)
    assert repr(drain) == (
        "Drain(id='d1', app='shop', url='https://***@sink.example.com/in?token=***')"
    )
    view = drain.view().to_json()
    assert view == {
        "id": "d1",
        "app": "shop",
        "url": "https://***@sink.example.com/in?token=***",
        "scheme": "https",
        "created_at": format_timestamp(T0),
        "state": "idle",
        "last_error": None,
        "last_error_at": None,
        "delivered_lines": 0,
        "delivered_bytes": 0,
        "dropped_lines": 0,
        "dropped": {},
        "retries": 0,
        "buffered_lines": 0,
        "buffer_capacity": 5,
    }
