"""`--profile SECONDS`: microseconds per record of each in-process stage
(without a profiler), on the decoder's path and on the wire path, then the
in-process ingest under cProfile."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

from bench.in_process import (
    decode_only,
    ingest_in_process,
    route_only,
    route_wire_only,
    split_only,
)
from bench.workload import workload_from
from logger.app import build_components
from logger.config import LoggerSettings
from logger.routing import Router


def stage_breakdown(args: argparse.Namespace, apps_per_frame: int, runs: int = 5) -> None:
    """Microseconds per record added by each stage, from minimums of `runs`
    runs without a profiler (which inflates the many small calls of routing),
    on the decoder's path and on the wire path the compiled logger takes."""
    workload = workload_from(args, apps_per_frame)
    stream = workload.stream()
    forward = LoggerSettings().forward
    router = Router(LoggerSettings().max_line_bytes)
    ingestor = build_components(LoggerSettings()).ingestor
    passes = 3
    chains: dict[str, dict[str, list[float]]] = {
        "decoder's path": {"split": [], "+ decode": [], "+ route": []},
        "wire path": {"split": [], "+ route_wire": [], "+ store": []},
    }
    asyncio.run(ingest_in_process(ingestor, stream, 1, forward))  # rings at capacity
    for _ in range(runs):
        for chain in chains.values():
            elapsed, count = split_only(stream, passes, forward)
            chain["split"].append(elapsed / count)
        decoder, wire = chains["decoder's path"], chains["wire path"]
        elapsed, count = decode_only(stream, passes, forward)
        decoder["+ decode"].append(elapsed / count)
        elapsed, count = route_only(router, stream, passes, forward)
        decoder["+ route"].append(elapsed / count)
        elapsed, count = route_wire_only(router, stream, passes, forward)
        wire["+ route_wire"].append(elapsed / max(count, 1))
        elapsed, count = asyncio.run(ingest_in_process(ingestor, stream, passes, forward))
        wire["+ store"].append(elapsed / count)
    print(f"Stages, {apps_per_frame} apps per frame of {args.records_per_frame} records:")
    for title, stages in chains.items():
        print(f"  {title}:")
        previous = 0.0
        for name, values in stages.items():
            per_record = min(values) * 1e6
            print(
                f"    {name:14} {per_record:5.2f} us/record ({1e6 / per_record:10,.0f}/s),"
                f" this stage {per_record - previous:5.2f} us"
            )
            previous = per_record


def profile_ingest(args: argparse.Namespace) -> None:
    """Stage costs, then the in-process ingest (decode + route + store) under cProfile."""
    for apps_per_frame in sorted({args.apps_per_frame, 1}, reverse=True):
        stage_breakdown(args, apps_per_frame)
    stream = workload_from(args, args.apps_per_frame).stream()
    forward = LoggerSettings().forward
    ingestor = build_components(LoggerSettings()).ingestor

    async def loop_for(seconds: float) -> int:
        stored = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            stored += (await ingest_in_process(ingestor, stream, 1, forward))[1]
        return stored

    asyncio.run(loop_for(1.0))  # warm up: rings at capacity, caches filled
    profiler = cProfile.Profile()
    profiler.enable()
    start = time.perf_counter()
    stored = asyncio.run(loop_for(args.profile))
    elapsed = time.perf_counter() - start
    profiler.disable()
    print(f"{stored:,} records in {elapsed:.1f} s under cProfile ({stored / elapsed:,.0f}/s)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)
