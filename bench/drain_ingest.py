"""Ingest rate with drains attached, in process.

The same work as bench/in_process.py's decode + route + store baseline
(`build_components(LoggerSettings())`, `Ingestor.ingest` on pre-encoded
frames from bench/workload.py), with a `DrainRegistry` subscribed to the
Ingestor as the logger subscribes it: once with no drains, once with
`syslog+tcp://` drains to real TCP receivers (rsyslogd, or a sink that reads
and discards; bench/drain_sinks.py). The drains' senders (batching, RFC 5424
encoding, socket writes) run in the same event loop, so they take their
share of the one core as they do in the logger. The loop yields once per
256 KiB read, as a forward connection does between reads; the runs without
drains yield the same way.

Two placements of the drains:

- spread: every frame mixes the workload's apps (100 by default) and one
  drain sits on each of 10 of them: 10% of the lines go to one drain each
  (some apps have a drain, the common case);
- every line: a workload of one app with all 10 drains on it: every line
  goes to 10 drains (the worst case).

Each run with drains gives two times from the first frame: until the last
frame is stored (ingest), and until every drain has written everything to
its socket (sent, `Drain.wait_sent`: a TCP drain counts a batch delivered
only after it sees the connection alive afterwards, up to
WF_DRAIN_SYSLOG_CONFIRM_WAIT later when idle, which is not sending time).
Runs with and without drains alternate, and the ratios are taken per pair.
With rsyslogd, a third time: until rsyslogd has written every line to its
file (not part of the ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry

from bench.drain_sinks import LineCounter
from bench.in_process import stream_reads
from bench.measure import Spread, process_cpu_seconds
from bench.workload import ingest_workload
from logger.app import build_components
from logger.config import LoggerSettings
from logger.drains.base import Drain
from logger.drains.destinations import HostList
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.forward.protocol import FrameSplitter, decode_frame
from logger.forward.settings import ForwardSettings
from logger.ingest import Ingestor

# The target from the drains issue: ingest with 10 drains >= 0.7x without.
TARGET_RATIO = 0.7


@dataclass(frozen=True)
class Placement:
    name: str
    apps: int  # apps in the workload, all of them in every frame
    drain_apps: tuple[str, ...]  # the app of each drain

    def describe(self) -> str:
        drains = len(self.drain_apps)
        if len(set(self.drain_apps)) == 1:
            return f"{drains} drains on the workload's only app (every line to {drains} drains)"
        share = 1 / self.apps
        return (
            f"{drains} drains on {drains} of {self.apps} apps, one each "
            f"({len(self.drain_apps) * share:.0%} of lines to one drain each)"
        )


LOOPBACK = HostList.parse("127.0.0.0/8", "WF_DRAINS_ALLOW_DESTINATIONS")


def placements(drains: int, apps: int) -> list[Placement]:
    step = max(1, apps // drains)
    spread = tuple(f"app{i * step:03d}" for i in range(drains))
    return [Placement("spread", apps, spread), Placement("every line", 1, ("app000",) * drains)]


@dataclass
class PassTimes:
    records: int
    ingest: float  # seconds until the last frame was stored
    sent: float  # seconds until every drain was idle as well
    peak_buffered: int  # most lines one drain held at a yield


async def timed_pass(
    ingestor: Ingestor,
    stream: bytes,
    passes: int,
    forward: ForwardSettings,
    drains: Sequence[Drain],
    timeout: float,
) -> PassTimes:
    splitter = FrameSplitter(forward.max_frame_bytes, forward.read_bytes)
    stored = 0
    peak = 0
    start = time.perf_counter()
    async with asyncio.timeout(timeout):
        for data in stream_reads(stream, passes, forward.read_bytes):
            splitter.feed(data)
            while (raw := splitter.next_frame()) is not None:
                frame = decode_frame(raw, forward.max_frame_bytes)
                if frame is not None:
                    stored += await ingestor.ingest(frame, "forward", len(raw))
            if drains:
                peak = max(peak, *(drain.buffered_lines for drain in drains))
            # A forward connection waits for its next read here: other tasks run.
            await asyncio.sleep(0)
        ingested = time.perf_counter() - start
        for drain in drains:
            await drain.wait_sent(timeout)
        sent = time.perf_counter() - start
    return PassTimes(stored, ingested, sent, peak)


@dataclass
class PlacementResults:
    placement: Placement
    records_per_run: int
    drain_lines_per_run: int  # lines handed to the drains, all drains together
    plain: Spread  # records/s without drains
    ingested: Spread  # records/s with drains, until the last frame was stored
    sent: Spread  # records/s with drains, until every drain was idle
    written: Spread | None  # records/s until rsyslogd wrote every line
    ingest_ratio: Spread  # per pair of runs
    sent_ratio: Spread
    peak_buffered: int
    dropped: int
    own_cpu: Spread  # cores this process kept busy during the runs with drains
    receiver_cpu: Spread | None  # cores the receiver kept busy meanwhile


async def wait_written(counter: LineCounter, lines: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while counter.poll() < lines:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the receiver wrote {counter.count} of {lines} lines in time")
        await asyncio.sleep(0.002)


async def measure_placement(
    args: argparse.Namespace,
    placement: Placement,
    ports: Sequence[int],
    counter: LineCounter | None,
    receiver_pid: int | None,
) -> PlacementResults:
    workload = ingest_workload(
        args.pool_frames, args.records_per_frame, placement.apps, placement.apps,
        args.message_bytes,
    )  # fmt: skip
    stream = workload.stream()
    frames = max(1, args.records // args.records_per_frame)
    passes = max(1, round(frames / args.pool_frames))
    forward = LoggerSettings().forward
    drain_count = len(placement.drain_apps)
    records_per_run = passes * args.pool_frames * args.records_per_frame
    # Large enough that nothing is displaced: the peak shows what a default buffer would hold.
    settings = replace(
        DrainSettings(state_file=None),
        per_app=drain_count,
        buffer_lines=records_per_run + 1,
        # The whole run may be buffered (as buffer_lines), on rsyslogd's 127.0.0.1.
        max_buffer_bytes=1 << 40,
        allow_destinations=LOOPBACK,
    )
    plain = build_components(LoggerSettings())
    empty = DrainRegistry(settings, CollectorRegistry())
    drained = build_components(LoggerSettings())
    registry = DrainRegistry(settings, CollectorRegistry())
    for components, subscriber in ((plain, empty), (drained, registry)):
        await subscriber.start()
        components.ingestor.add_subscriber(subscriber)
    try:
        drains: list[Drain] = []
        for app, port in zip(placement.drain_apps, ports, strict=False):
            view = await registry.add(app, f"syslog+tcp://127.0.0.1:{port}")
            drain = registry.drain(view.id)
            assert drain is not None
            drains.append(drain)
        if len(drains) < drain_count:
            raise RuntimeError(f"{drain_count} drains need as many receiver ports")

        def delivered() -> int:
            return sum(drain.delivered_lines for drain in drains)

        # Warm up untimed: rings at capacity, caches filled, drains connected.
        await timed_pass(plain.ingestor, stream, 1, forward, (), args.timeout)
        await timed_pass(drained.ingestor, stream, 1, forward, drains, args.timeout)
        if counter is not None:
            await wait_written(counter, counter.count + delivered(), args.timeout)
            counter.truncate()
        plain_rates, ingested, sent, written = [], [], [], []
        ingest_ratio, sent_ratio = [], []
        own_cpu, receiver_cpu = [], []
        peak = 0
        lines_per_run = 0
        for run in range(args.ingest_repeats):
            gc.collect()
            base = await timed_pass(plain.ingestor, stream, passes, forward, (), args.timeout)
            gc.collect()
            before = delivered()
            own_before = process_cpu_seconds(os.getpid())
            receiver_before = process_cpu_seconds(receiver_pid) if receiver_pid else 0.0
            start = time.perf_counter()
            timed = await timed_pass(
                drained.ingestor, stream, passes, forward, drains, args.timeout
            )
            own_cpu.append((process_cpu_seconds(os.getpid()) - own_before) / timed.sent)
            if receiver_pid:
                receiver_after = process_cpu_seconds(receiver_pid)
                receiver_cpu.append((receiver_after - receiver_before) / timed.sent)
            lines_per_run = delivered() - before
            if counter is not None:
                await wait_written(counter, counter.count + lines_per_run, args.timeout)
                written.append(timed.records / (time.perf_counter() - start))
                counter.truncate()  # (b) writes gigabytes otherwise
            plain_rates.append(base.records / base.ingest)
            ingested.append(timed.records / timed.ingest)
            sent.append(timed.records / timed.sent)
            ingest_ratio.append(ingested[-1] / plain_rates[-1])
            sent_ratio.append(sent[-1] / plain_rates[-1])
            peak = max(peak, timed.peak_buffered)
            print(
                f"  {placement.name} run {run + 1}/{args.ingest_repeats}: no drains "
                f"{plain_rates[-1]:,.0f}/s; {drain_count} drains: ingest {ingested[-1]:,.0f}/s, "
                f"sent {sent[-1]:,.0f}/s ({sent_ratio[-1]:.2f}x)",
                file=sys.stderr,
            )
        dropped = sum(sum(drain.dropped.values()) for drain in drains)
        return PlacementResults(
            placement, records_per_run, lines_per_run, Spread(plain_rates), Spread(ingested),
            Spread(sent), Spread(written) if written else None, Spread(ingest_ratio),
            Spread(sent_ratio), peak, dropped, Spread(own_cpu),
            Spread(receiver_cpu) if receiver_cpu else None,
        )  # fmt: skip
    finally:
        for components, subscriber in ((plain, empty), (drained, registry)):
            components.ingestor.remove_subscriber(subscriber)
            await subscriber.close()
