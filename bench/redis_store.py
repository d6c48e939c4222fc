"""The Redis store against the memory store, in one run.

Run by hand (needs `redis-server` on the PATH), never by the test suite:

    .venv/bin/python bench/redis_store.py            # or: python -m bench.redis_store

1. Ingest: one logger process on the memory store and one on a fresh
   `redis-server`, the same pre-encoded frames (bench/workload.py) sent to
   each in turn, interleaved per repeat; records/s from first send to last
   ack (acks come only after Redis confirmed every line), and the CPU the
   logger and redis-server spent per 1000 records (what a busy machine
   does not distort as much as it does the rates). `--baseline TREE` adds
   a logger run from another checkout (on its own Redis database), in the
   same interleaving; `--workers N` adds `wf serve --workers N` on the same
   Redis (its forward connections spread over the workers by the kernel).
2. Follow across replicas: two logger processes on one Redis; frames go to
   replica A at a steady rate, the followers read replica B.
3. Redis memory per buffered line: `INFO memory` before and after filling
   rings with the same lines through the store.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry

from bench.follow_latency import add_follow_arguments, measure_follow
from bench.ingest_throughput import end_to_end_run, plan_sends
from bench.logger_process import LoggerProcess
from bench.measure import Spread, process_cpu_seconds
from bench.workload import access_line, workload_from
from logger.lines import platform_line
from logger.store.memory import StoreSettings
from logger.store.redis import RedisStore
from logger.store.redis_settings import RedisSettings


class RedisProcess:
    """A throwaway `redis-server` on a free loopback port, no persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server", path="/usr/bin:/usr/sbin:/usr/local/bin")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = tempfile.mkdtemp(prefix="wf-bench-redis-")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--phases", default="ingest,follow,memory")
    add("--records", type=int, default=200_000, help="records per ingest run")
    add("--records-per-frame", type=int, default=1000)
    add("--message-bytes", type=int, default=100)
    add("--apps", type=int, default=100)
    add("--apps-per-frame", type=int, default=100)
    add("--pool-frames", type=int, default=32)
    add("--connections", type=int, default=4)
    add("--window", type=int, default=8)
    add("--repeats", type=int, default=3)
    add("--timeout", type=float, default=120.0)
    add("--baseline", type=Path, help="another checkout: its Redis store measured too")
    add("--workers", type=int, default=0, help="also `wf serve --workers N` on Redis (N > 1)")
    add_follow_arguments(parser)
    add("--mem-apps", type=int, default=100)
    add("--mem-lines", type=int, default=1000)
    return parser.parse_args(argv)


class IngestFigures:
    """Per logger: records/s, and CPU ms per 1000 records of the logger and of redis-server."""

    def __init__(self, names: list[str]) -> None:
        self.rates: dict[str, list[float]] = {name: [] for name in names}
        self.logger_cpu: dict[str, list[float]] = {name: [] for name in names}
        self.redis_cpu: dict[str, list[float]] = {name: [] for name in names}

    def line(self, name: str) -> str:
        rate = Spread(self.rates[name]).median
        logger_ms = Spread(self.logger_cpu[name]).median
        redis_ms = Spread(self.redis_cpu[name]).median
        return (
            f"{name}: {rate:,.0f} records/s; CPU per 1000 records: logger {logger_ms:.2f} ms, "
            f"redis-server {redis_ms:.2f} ms"
        )


async def measure_ingest(args: argparse.Namespace, redis: RedisProcess) -> IngestFigures:
    workload = workload_from(args, args.apps_per_frame)
    frames = max(1, args.records // args.records_per_frame)
    records = frames * args.records_per_frame
    loggers = {
        "memory": LoggerProcess(),
        "redis": LoggerProcess(extra_env={"WF_REDIS_URL": redis.url}),
    }
    if args.baseline is not None:
        loggers["baseline redis"] = LoggerProcess(
            args.baseline.resolve(), extra_env={"WF_REDIS_URL": redis.url[:-1] + "1"}
        )
    if args.workers > 1:
        loggers[f"redis, {args.workers} workers"] = LoggerProcess(
            extra_env={"WF_REDIS_URL": redis.url, "WF_WORKERS": str(args.workers)},
            command=[sys.executable, "-m", "controller.cli.main", "serve", "--no-controller"],
        )
    figures = IngestFigures(list(loggers))
    try:
        for logger in loggers.values():
            await logger.wait_ready()
            warmup = plan_sends(workload, args.connections * args.window * 2, args.connections, "w")
            await end_to_end_run(logger, warmup, args.window, args.timeout)
        for run in range(args.repeats):
            for name, logger in loggers.items():
                plan = plan_sends(workload, frames, args.connections, f"{name}{run}")
                gc.collect()
                logger_cpu, redis_cpu = logger.cpu_seconds(), redis.cpu_seconds()
                elapsed, _ = await end_to_end_run(logger, plan, args.window, args.timeout)
                figures.rates[name].append(records / elapsed)
                per_thousand = 1e6 / records  # seconds -> ms per 1000 records
                figures.logger_cpu[name].append((logger.cpu_seconds() - logger_cpu) * per_thousand)
                figures.redis_cpu[name].append((redis.cpu_seconds() - redis_cpu) * per_thousand)
            print(
                f"  run {run + 1}/{args.repeats}: "
                + ", ".join(f"{name} {figures.rates[name][-1]:,.0f}/s" for name in loggers),
                file=sys.stderr,
            )
    finally:
        for logger in loggers.values():
            logger.stop()
    return figures


async def measure_follow_across(args: argparse.Namespace, redis: RedisProcess) -> None:
    a = LoggerProcess(extra_env={"WF_REDIS_URL": redis.url})
    b = LoggerProcess(extra_env={"WF_REDIS_URL": redis.url})
    try:
        await a.wait_ready()
        await b.wait_ready()
        results = await measure_follow(args, b, sender=a)
    finally:
        a.stop()
        b.stop()
    p50, p99 = results.spread("p50_ms"), results.spread("p99_ms")
    print(
        f"follow across replicas ({args.followers} followers at B, "
        f"{results.offered_rate:,.0f} records/s sent to A): "
        f"p50 {p50.median:.1f} ms, p99 {p99.median:.1f} ms (runs: "
        + ", ".join(f"{v:.1f}" for v in p99.values)
        + f"), lines {results.total('received_lines')}/{results.total('expected_lines')}, "
        f"drop notices {results.total('drop_notices')}"
    )


async def measure_memory(args: argparse.Namespace, redis: RedisProcess) -> None:
    store = RedisStore(
        StoreSettings(lines_per_app=args.mem_lines),
        RedisSettings(url=redis.url),
        CollectorRegistry(),
        "bench",
    )
    await store.start()
    try:
        await store.client.flushall()
        before = int((await store.client.info("memory"))["used_memory"])
        line_bytes = 0
        now = time.time_ns()
        for app in range(args.mem_apps):
            name = f"mem{app:04d}"
            for start in range(0, args.mem_lines, 1000):
                lines = [
                    platform_line(name, "web.x2x9z", access_line(n, args.message_bytes), now)
                    for n in range(start, min(start + 1000, args.mem_lines))
                ]
                line_bytes += sum(map(len, lines))
                await store.append(name, lines)
        after = int((await store.client.info("memory"))["used_memory"])
    finally:
        await store.close()
    count = args.mem_apps * args.mem_lines
    print(
        f"Redis memory per buffered line: {(after - before) / count:.0f} B "
        f"({count:,} lines of {line_bytes / count:.0f} B stored; used_memory +{after - before:,} B)"
    )


async def run(args: argparse.Namespace) -> None:
    phases = set(args.phases.split(","))
    redis = RedisProcess()
    try:
        if "ingest" in phases:
            print("ingest ...", file=sys.stderr)
            figures = await measure_ingest(args, redis)
            memory = Spread(figures.rates["memory"]).median
            print(f"ingest, medians of {args.repeats}:")
            for name in figures.rates:
                ratio = Spread(figures.rates[name]).median / memory
                print(f"  {figures.line(name)} ({ratio:.2f}x the memory store)")
        if "follow" in phases:
            print("follow latency across replicas ...", file=sys.stderr)
            await measure_follow_across(args, redis)
        if "memory" in phases:
            await measure_memory(args, redis)
    finally:
        redis.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
