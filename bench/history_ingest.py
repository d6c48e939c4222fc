"""Ingest with the embedded history index on versus off, in one run.

Two `python -m logger` subprocesses, one with WF_HISTORY=off and one with
the embedded tantivy index in a temporary directory, fed the same frames in
interleaved repeats (bench/ingest_throughput.py's driver). For the one with
history on: the index's sustained docs/s (lines indexed from the first send
until its queue is empty) and the lines it shed because ingest ran faster.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.ingest_throughput import end_to_end_run, plan_sends
from bench.logger_process import LoggerProcess
from bench.measure import Spread, process_cpu_seconds
from bench.workload import workload_from


@dataclass
class HistoryIngestResults:
    records_per_run: int
    off: Spread
    on: Spread
    indexed_per_second: Spread
    shed_lines: int
    # CPU microseconds per record: the logger process itself, and (history on)
    # its writer child; a figure the other tenants' load does not move much.
    cpu_off: Spread
    cpu_on: Spread
    cpu_writer: Spread

    @property
    def ratio(self) -> float:
        return self.on.median / self.off.median

    def text(self) -> list[str]:
        return [
            f"history ingest ({self.records_per_run:,} records a run):",
            f"  history off: {self.off.median:,.0f} records/s "
            f"({self.off.low:,.0f}-{self.off.high:,.0f})",
            f"  embedded index on: {self.on.median:,.0f} records/s "
            f"({self.on.low:,.0f}-{self.on.high:,.0f}), {self.ratio:.2f}x of off",
            f"  index sustained: {self.indexed_per_second.median:,.0f} docs/s "
            f"({self.indexed_per_second.low:,.0f}-{self.indexed_per_second.high:,.0f}), "
            f"shed {self.shed_lines:,} lines in all",
            f"  logger CPU per record: off {self.cpu_off.median:.1f} us, "
            f"on {self.cpu_on.median:.1f} us (+ writer process {self.cpu_writer.median:.1f} us)",
        ]


async def scrape(logger: LoggerProcess) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{logger.base_url}/metrics") as reply,
    ):
        text = await reply.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            reason = sample.labels.get("reason", "")
            key = f"{sample.name}:{reason}" if reason else sample.name
            values[key] = values.get(key, 0.0) + sample.value
    return values


async def until_indexed(logger: LoggerProcess, timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        values = await scrape(logger)
        if values.get("logger_history_queued_lines", 0.0) == 0 or time.monotonic() > deadline:
            return values
        await asyncio.sleep(0.05)


def writer_cpu_seconds(logger: LoggerProcess) -> float:
    """CPU of the logger's child processes (the history writer)."""
    tasks = Path(f"/proc/{logger.process.pid}/task")
    children = {
        child for task in tasks.iterdir() for child in (task / "children").read_text().split()
    }
    return sum(process_cpu_seconds(int(child)) for child in children)


async def measure_history_ingest(args: argparse.Namespace) -> HistoryIngestResults:
    workload = workload_from(args, args.apps_per_frame)
    frames = max(1, args.records // args.records_per_frame)
    records = frames * args.records_per_frame
    with tempfile.TemporaryDirectory(prefix="wf-history-bench-") as directory:
        off = LoggerProcess()
        on = LoggerProcess(extra_env={"WF_HISTORY": "on", "WF_HISTORY_DIR": directory})
        try:
            await off.wait_ready()
            await on.wait_ready()
            warmup = plan_sends(workload, args.connections * args.window * 2, args.connections, "w")
            for logger in (off, on):
                await end_to_end_run(logger, warmup, args.window, args.timeout)
            await until_indexed(on, args.timeout)
            off_rates, on_rates, indexed_rates = [], [], []
            cpu_off, cpu_on, cpu_writer = [], [], []
            for run in range(args.repeats):
                plan = plan_sends(workload, frames, args.connections, f"run{run}")
                gc.collect()
                elapsed, cpu = await end_to_end_run(off, plan, args.window, args.timeout)
                off_rates.append(records / elapsed)
                cpu_off.append(cpu / records * 1e6)
                before = await scrape(on)
                started = time.perf_counter()
                writer_before = writer_cpu_seconds(on)
                elapsed, cpu = await end_to_end_run(on, plan, args.window, args.timeout)
                on_rates.append(records / elapsed)
                cpu_on.append(cpu / records * 1e6)
                after = await until_indexed(on, args.timeout)
                cpu_writer.append((writer_cpu_seconds(on) - writer_before) / records * 1e6)
                indexed = after.get("logger_history_indexed_lines_total", 0.0) - before.get(
                    "logger_history_indexed_lines_total", 0.0
                )
                indexed_rates.append(indexed / (time.perf_counter() - started))
                print(
                    f"  run {run + 1}/{args.repeats}: off {off_rates[-1]:,.0f}/s, "
                    f"on {on_rates[-1]:,.0f}/s, indexed {indexed_rates[-1]:,.0f} docs/s",
                    file=sys.stderr,
                )
            final = await scrape(on)
            shed = int(final.get("logger_discarded_events_total:history_queue_full", 0.0))
        finally:
            off.stop()
            on.stop()
    return HistoryIngestResults(
        records, Spread(off_rates), Spread(on_rates), Spread(indexed_rates), shed,
        Spread(cpu_off), Spread(cpu_on), Spread(cpu_writer),
    )  # fmt: skip
