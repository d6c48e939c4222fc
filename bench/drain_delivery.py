"""The delivery phase: lines/s one process delivers to rsyslogd over one
`syslog+tcp://` drain.

One drain through a DrainRegistry with default settings (except a buffer
large enough that nothing is dropped), offered pre-built stored lines from 8
processes in chunks of 1,000 (as ingest hands them over), yielding to the
loop between chunks. Two figures per run:

- sent: lines/s from the first offer until the drain is idle (every batch
  written to the socket), the drain's own cost;
- delivered: lines/s from the first offer until rsyslogd has written every
  line to its output file, end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry

from bench.drain_sinks import LineCounter, MultiPortRsyslog
from bench.measure import Spread
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.lines import format_timestamp

# The target from the drains issue, lines/s delivered to one TCP syslog drain.
DELIVERY_TARGET = 100_000
T0 = 1_795_000_000_000_000_000
PROCESSES = [f"web.{suffix}" for suffix in ("x2x9z", "a1b2c", "q8w7e", "m3n4b")] + [
    f"worker.{suffix}" for suffix in ("z9y8x", "k7j6h", "p5o4i", "u3t2r")
]


@dataclass
class DeliveryResults:
    lines: int  # per run
    line_bytes: int
    sent: Spread  # lines/s
    delivered: Spread  # lines/s


def build_lines(count: int, message_bytes: int) -> list[bytes]:
    filler = "x" * max(0, message_bytes - 30)
    lines = []
    for number in range(count):
        process = PROCESSES[number % len(PROCESSES)]
        stream = "o" if number % 5 else "e"
        text = (
            f"{format_timestamp(T0 + number * 1000)} shop[{process}]: GET /item/{number} {filler}"
        )
        lines.append(stream.encode() + text.encode())
    return lines


async def one_run(
    rsyslog: MultiPortRsyslog, settings: DrainSettings, lines: list[bytes], chunk: int
) -> tuple[float, float]:
    registry = DrainRegistry(settings, CollectorRegistry())
    await registry.start()
    try:
        view = await registry.add("shop", f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}")
        drain = registry.drain(view.id)
        assert drain is not None
        counter = LineCounter(rsyslog.output)
        started = time.perf_counter()
        for start in range(0, len(lines), chunk):
            registry.deliver("shop", 0, lines[start : start + chunk])
            await asyncio.sleep(0)
        if not await drain.wait_idle(120):
            raise RuntimeError("the drain did not finish within 120 s")
        sent = time.perf_counter() - started
        for _ in range(120_000):
            if counter.poll() >= len(lines):
                break
            await asyncio.sleep(0.001)
        delivered = time.perf_counter() - started
        if counter.count != len(lines) or drain.dropped:
            raise RuntimeError(f"rsyslog wrote {counter.count} lines, dropped {drain.dropped}")
        return len(lines) / sent, len(lines) / delivered
    finally:
        await registry.close()


async def measure_delivery(
    arguments: argparse.Namespace, rsyslog: MultiPortRsyslog
) -> DeliveryResults:
    lines = build_lines(arguments.lines, arguments.message_bytes)
    defaults = DrainSettings(state_file=None)
    settings = replace(
        defaults,
        buffer_lines=arguments.lines + 1,
        batch_lines=arguments.batch_lines or defaults.batch_lines,
    )
    print(
        f"python {platform.python_version()}, {arguments.lines} lines of "
        f"{len(lines[0])} bytes, batch_lines={settings.batch_lines}, "
        f"batch_bytes={settings.batch_bytes}, chunk={arguments.chunk}"
    )
    sent_rates, delivered_rates = [], []
    for run in range(1, arguments.repeat + 1):
        sent, delivered = await one_run(rsyslog, settings, lines, arguments.chunk)
        sent_rates.append(sent)
        delivered_rates.append(delivered)
        print(f"run {run}: sent {sent:,.0f} lines/s, delivered {delivered:,.0f} lines/s")
    print(
        f"median: sent {statistics.median(sent_rates):,.0f} lines/s, "
        f"delivered {statistics.median(delivered_rates):,.0f} lines/s "
        "(one syslog+tcp drain to rsyslogd on 127.0.0.1)"
    )
    return DeliveryResults(
        arguments.lines, len(lines[0]), Spread(sent_rates), Spread(delivered_rates)
    )
