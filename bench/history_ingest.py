"""Ingest with the embedded history index on versus off, in one run.

Two `python -m logger` subprocesses, one with WF_HISTORY=off and one with
the embedded tantivy index in a temporary directory, fed the same frames in
interleaved repeats (bench/ingest_throughput.py's driver). For the one with
history on: the index's sustained docs/s (lines indexed from the first send
until its queue is empty) and the lines it shed because ingest ran faster.

`--history-baseline TREE` adds a third logger, history on, run from another
checkout (say, the commit before a change), in the same interleaved runs:
before and after measured under the same load. The ratio to "off" is given
two ways: of the medians, and the median of each run's own ratio (a run's
two measurements are seconds apart, so the other tenants' load moves them
together). `--history-variant NAME=VALUE` (repeatable) adds a logger of
this tree with history on and one setting changed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.ingest_throughput import Send, end_to_end_run, plan_sends
from bench.logger_process import LoggerProcess
from bench.measure import Spread, process_cpu_seconds
from bench.workload import workload_from


@dataclass
class Arm:
    """One logger under test and what each run measured of it."""

    label: str
    logger: LoggerProcess
    history: bool
    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the logger's, us per record
    writer_cpu: list[float] = field(default_factory=list)  # its writer child's
    indexed_rates: list[float] = field(default_factory=list)
    shed_lines: int = 0


@dataclass
class HistoryIngestResults:
    records_per_run: int
    off: Arm
    on: list[Arm]

    def text(self) -> list[str]:
        off = Spread(self.off.rates)
        lines = [
            f"history ingest ({self.records_per_run:,} records a run):",
            f"  history off: {off.median:,.0f} records/s ({off.low:,.0f}-{off.high:,.0f}), "
            f"logger CPU {Spread(self.off.cpu).median:.1f} us/record",
        ]
        for arm in self.on:
            rates, indexed = Spread(arm.rates), Spread(arm.indexed_rates)
            paired = Spread([a / b for a, b in zip(arm.rates, self.off.rates, strict=True)])
            lines += [
                f"  {arm.label}: {rates.median:,.0f} records/s ({rates.low:,.0f}-{rates.high:,.0f})"
                f", {rates.median / off.median:.2f}x of off (median of each run's ratio "
                f"{paired.median:.2f}x, {paired.low:.2f}-{paired.high:.2f})",
                f"    index sustained: {indexed.median:,.0f} docs/s "
                f"({indexed.low:,.0f}-{indexed.high:,.0f}), shed {arm.shed_lines:,} lines in all",
                f"    logger CPU {Spread(arm.cpu).median:.1f} us/record "
                f"(+ writer process {Spread(arm.writer_cpu).median:.1f} us)",
            ]
        return lines


async def scrape(logger: LoggerProcess) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{logger.base_url}/metrics") as reply,
    ):
        text = await reply.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            # Losses are keyed by component and reason: `...:history:queue_full`.
            labels = [sample.labels[k] for k in ("component", "reason") if k in sample.labels]
            key = ":".join([sample.name, *labels])
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


async def run_arm(arm: Arm, plan: list[list[Send]], records: int, args: argparse.Namespace) -> str:
    before = await scrape(arm.logger) if arm.history else {}
    started = time.perf_counter()
    writer_before = writer_cpu_seconds(arm.logger) if arm.history else 0.0
    elapsed, cpu = await end_to_end_run(arm.logger, plan, args.window, args.timeout)
    arm.rates.append(records / elapsed)
    arm.cpu.append(cpu / records * 1e6)
    if not arm.history:
        return f"{arm.label} {arm.rates[-1]:,.0f}/s"
    after = await until_indexed(arm.logger, args.timeout)
    arm.writer_cpu.append((writer_cpu_seconds(arm.logger) - writer_before) / records * 1e6)
    indexed = after.get("logger_history_indexed_lines_total", 0.0) - before.get(
        "logger_history_indexed_lines_total", 0.0
    )
    arm.indexed_rates.append(indexed / (time.perf_counter() - started))
    return f"{arm.label} {arm.rates[-1]:,.0f}/s (indexed {arm.indexed_rates[-1]:,.0f} docs/s)"


async def measure_history_ingest(args: argparse.Namespace) -> HistoryIngestResults:
    workload = workload_from(args, args.apps_per_frame)
    frames = max(1, args.records // args.records_per_frame)
    records = frames * args.records_per_frame
    with contextlib.ExitStack() as stack:

        def index_dir() -> str:
            return stack.enter_context(tempfile.TemporaryDirectory(prefix="wf-history-bench-"))

        off = Arm("history off", LoggerProcess(), history=False)
        on = [
            Arm(
                "embedded index on",
                LoggerProcess(extra_env={"WF_HISTORY": "on", "WF_HISTORY_DIR": index_dir()}),
                history=True,
            )
        ]
        if args.history_baseline:
            baseline = LoggerProcess(
                source=Path(args.history_baseline),
                extra_env={"WF_HISTORY": "on", "WF_HISTORY_DIR": index_dir()},
            )
            on.append(Arm(f"on, {args.history_baseline}", baseline, history=True))
        for setting in args.history_variant or []:
            name, _, value = setting.partition("=")
            variant = LoggerProcess(
                extra_env={"WF_HISTORY": "on", "WF_HISTORY_DIR": index_dir(), name: value}
            )
            on.append(Arm(f"on, {setting}", variant, history=True))
        arms = [off, *on]
        try:
            for arm in arms:
                await arm.logger.wait_ready()
            warmup = plan_sends(workload, args.connections * args.window * 2, args.connections, "w")
            for arm in arms:
                await end_to_end_run(arm.logger, warmup, args.window, args.timeout)
                if arm.history:
                    await until_indexed(arm.logger, args.timeout)
            for run in range(args.repeats):
                plan = plan_sends(workload, frames, args.connections, f"run{run}")
                said = []
                for arm in arms:
                    gc.collect()
                    said.append(await run_arm(arm, plan, records, args))
                print(f"  run {run + 1}/{args.repeats}: " + ", ".join(said), file=sys.stderr)
            for arm in on:
                final = await scrape(arm.logger)
                arm.shed_lines = int(
                    final.get("logger_discarded_events_total:history:queue_full", 0)
                )
        finally:
            for arm in arms:
                arm.logger.stop()
    return HistoryIngestResults(records, off, on)
