"""Drains when sinks fail: down at start, dying mid-stream, overflowing the
buffer, accepting but never reading; ingest must not notice."""

from __future__ import annotations

import time
from pathlib import Path

from logger.drains.base import Drain
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.drains.state import DrainState
from logger.lines import format_timestamp
from tests.integration.drain_sinks import HttpsSink, StalledServer, stored_line
from tests.integration.rsyslog import Rsyslog, poll_until
from tests.support.drains import quick_settings, running

T0 = 1_795_000_000_123_456_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def settings_for(tmp_path: Path, ca_file: Path | None, **changes: object) -> DrainSettings:
    base = dict(buffer_lines=1000, batch_lines=10, batch_interval=0.01, retry_max=0.1)
    return quick_settings(tmp_path, ca_file, **{**base, **changes})


async def add(registry: DrainRegistry, url: str) -> Drain:
    view = await registry.add("shop", url)
    drain = registry.drain(view.id)
    assert drain is not None
    return drain


def lines(start: int, stop: int, size: int = 0) -> list[bytes]:
    pad = "p" * size
    return [
        stored_line("shop", "web.1", f"line {n}{pad}", T0 + n * 1000) for n in range(start, stop)
    ]


def syslog(number: int) -> bytes:
    ts = format_timestamp(T0 + number * 1000)
    return f"<14>1 {ts} shop shop web.1 - - line {number}".encode()


async def test_https_sink_down_at_start(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    await https_sink.stop()
    async with running(settings_for(tmp_path, ca_file)) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(0, 50))
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        assert drain.last_error == f"connection to 127.0.0.1:{https_sink.port} refused"
        await https_sink.start()
        assert await drain.wait_idle(5)
        assert drain.state is DrainState.CONNECTED
    assert https_sink.accepted_messages() == [syslog(n) for n in range(50)]


async def test_https_sink_dies_mid_stream_and_comes_back_within_the_buffer(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    async with running(settings_for(tmp_path, ca_file)) as (registry, metrics):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(0, 50))
        assert await drain.wait_idle(5)
        # It hangs up in the middle of a request, then goes away entirely.
        https_sink.answer(0)
        registry.deliver("shop", 0, lines(50, 60))
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        await https_sink.stop()
        registry.deliver("shop", 0, lines(60, 400))
        assert await poll_until(lambda: drain.retries >= 3, 5)
        await https_sink.start()
        assert await drain.wait_idle(10)
        labels = {"drain_id": drain.id, "app": "shop", "scheme": "https"}
        delivered = metrics.get_sample_value("logger_drain_delivered_lines_total", labels)
    # The hung-up request came again with the same frame id: a receiver can de-duplicate.
    hung_up = [request for request in https_sink.requests if request.status == 0]
    assert len(hung_up) == 1
    frame_id = hung_up[0].headers["Logplex-Frame-Id"]
    again = [r for r in https_sink.accepted if r.headers["Logplex-Frame-Id"] == frame_id]
    assert len(again) == 1
    assert again[0].body == hung_up[0].body
    assert https_sink.accepted_messages() == [syslog(n) for n in range(400)]
    assert (delivered, drain.dropped) == (400, {})


async def test_past_the_buffer_the_loss_is_counted_and_told_in_band(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, ca_file, buffer_lines=100)
    await https_sink.stop()
    async with running(settings, clock) as (registry, metrics):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(0, 10))  # taken as a batch, then retried
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        clock.now = T0 + 60 * 10**9
        registry.deliver("shop", 0, lines(10, 200))  # 10..99 displaced
        clock.now = T0 + 61 * 10**9
        registry.deliver("shop", 0, lines(200, 260))  # 100..159 displaced
        assert drain.buffered_lines == 100
        clock.now = T0 + 90 * 10**9
        await https_sink.start()
        assert await drain.wait_idle(5)
        labels = {"drain_id": drain.id, "app": "shop", "scheme": "https"}
        dropped = metrics.get_sample_value(
            "logger_drain_dropped_lines_total", {**labels, "reason": "buffer_overflow"}
        )
        delivered = metrics.get_sample_value("logger_drain_delivered_lines_total", labels)
        view = registry.list("shop")[0]
    notice = (
        f"<11>1 {format_timestamp(T0 + 90 * 10**9)} shop shop logger - - "
        "Error L10 (output buffer overflow): 150 lines dropped since "
        f"{format_timestamp(T0 + 60 * 10**9)} (buffer_overflow)"
    ).encode()
    assert https_sink.accepted_messages() == [
        *[syslog(n) for n in range(10)],
        notice,
        *[syslog(n) for n in range(160, 260)],
    ]
    assert (dropped, delivered) == (150, 110)
    assert (view.dropped, view.dropped_lines, view.delivered_lines) == (
        {"buffer_overflow": 150},
        150,
        110,
    )


async def test_a_sink_that_never_reads_slows_nothing_else(tmp_path: Path, rsyslog: Rsyslog) -> None:
    stalled = StalledServer()
    settings = settings_for(tmp_path, None, buffer_lines=20_000, batch_lines=500, send_timeout=0.3)
    rounds, per_round = 20, 1000
    try:
        async with running(settings) as (registry, _):
            stuck = await add(registry, f"syslog://127.0.0.1:{stalled.port}")
            healthy = await add(registry, f"syslog://127.0.0.1:{rsyslog.tcp_port}")
            durations = []
            for round_number in range(rounds):
                batch = lines(round_number * per_round, (round_number + 1) * per_round, 500)
                started = time.perf_counter()
                registry.deliver("shop", 0, batch)
                durations.append(time.perf_counter() - started)
                await poll_until(lambda: False, 0.005)
            assert max(durations) < 0.05, durations
            assert await healthy.wait_idle(20)
            assert await poll_until(lambda: stuck.state is DrainState.BACKING_OFF, 5)
            assert stuck.last_error == (
                f"127.0.0.1:{stalled.port} did not take a batch within 0.3s"
            )
            assert stuck.delivered_lines < rounds * per_round
            assert healthy.delivered_lines == rounds * per_round
            records = await rsyslog.wait_for(rounds * per_round, timeout=20)
    finally:
        stalled.close()
    assert [record.msg[: record.msg.index("p")] for record in records] == [
        f"line {n}" for n in range(rounds * per_round)
    ]
