"""Logger ingest benchmark: throughput, baselines, memory per line, follow latency.

Run by hand, never by the test suite:

    .venv/bin/python bench/ingest.py --markdown     # or: python -m bench.ingest

One invocation measures, in this order:

1. End-to-end ingest (bench/ingest_throughput.py): `python -m logger` as a
   subprocess on 127.0.0.1 (bench/logger_process.py), fed pre-encoded
   Forward-mode frames (bench/workload.py) over several connections, each
   keeping a window of frames waiting for their acks; records/s from the
   first send to the last ack. Interleaved with each repeat, two in-process
   baselines on the same frames (bench/in_process.py): decode only
   (FrameSplitter + decode_frame) and decode + route + store
   (Ingestor.ingest, no sockets).
2. Memory per buffered line (bench/memory_per_line.py), in a fresh child
   process (so earlier phases leave no garbage behind): rings filled through
   the real decoder and Router, measured with tracemalloc and, in a second
   child, as RSS growth.
3. Follow latency (bench/follow_latency.py): many concurrent
   `GET /logs/{app}?follow=true` readers against the same logger while
   frames arrive at a steady rate; the send time is embedded in every
   message.

4. History (bench/history_ingest.py, phase `history`, not in the default
   set): ingest with the embedded history index on versus off in one run,
   the index's sustained docs/s and the lines it shed; `--history-baseline
   TREE` adds a logger from another checkout with history on, and
   `--history-variant NAME=VALUE` one of this tree with a setting changed,
   in the same interleaved runs.

`--profile SECONDS` instead runs the in-process ingest under cProfile and
prints the top functions (bench/profile_ingest.py). The report is
bench/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `bench.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.follow_latency import add_follow_arguments, measure_follow
from bench.history_ingest import measure_history_ingest
from bench.ingest_throughput import measure_ingest
from bench.logger_process import LoggerProcess
from bench.memory_per_line import measure_memory, memory_child
from bench.profile_ingest import profile_ingest
from bench.report import Report
from bench.workload import Carrier, EntryForm

PHASES = ("ingest", "memory", "follow")
EXTRA_PHASES = ("history",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--phases", default=",".join(PHASES), help="comma-separated: ingest,memory,follow")
    add("--markdown", action="store_true", help="also print a block for docs/benchmarks.md")
    add("--profile", type=float, metavar="SECONDS", help="only profile in-process ingest")
    add("--timeout", type=float, default=120.0, help="bound on any one run (s)")
    add(
        "--source",
        type=Path,
        help="the ingest and follow phases measure the logger of this tree (a git worktree)",
    )
    ingest = parser.add_argument_group("ingest")
    ingest.add_argument("--records", type=int, default=400_000, help="records per run")
    ingest.add_argument("--records-per-frame", type=int, default=1000)
    ingest.add_argument("--message-bytes", type=int, default=100, help="`log` length")
    ingest.add_argument("--apps", type=int, default=100)
    ingest.add_argument(
        "--apps-per-frame", type=int, help="apps mixed in one frame (default: all of --apps)"
    )
    ingest.add_argument("--pool-frames", type=int, default=32, help="distinct frames")
    ingest.add_argument(
        "--entry-form",
        choices=[form.value for form in EntryForm],
        default=EntryForm.PLAIN.value,
        help="plain [EventTime, record] or metadata [[EventTime, {}], record]",
    )
    ingest.add_argument(
        "--carrier", choices=[carrier.value for carrier in Carrier], default=Carrier.FORWARD.value
    )
    ingest.add_argument("--connections", type=int, default=4)
    ingest.add_argument("--window", type=int, default=8, help="unacked frames per connection")
    ingest.add_argument("--repeats", type=int, default=5)
    history = parser.add_argument_group("history")
    history.add_argument(
        "--history-baseline",
        metavar="TREE",
        help="also run history on from this checkout (e.g. a `git worktree` of the base commit)",
    )
    history.add_argument(
        "--history-variant",
        action="append",
        metavar="NAME=VALUE",
        help="also run history on with this setting changed (repeatable)",
    )
    memory = parser.add_argument_group("memory")
    memory.add_argument("--mem-apps", type=int, default=1000)
    memory.add_argument("--mem-lines", type=int, default=1000, help="lines per app")
    memory.add_argument("--mem-line-bytes", type=int, default=120, help="formatted line")
    memory.add_argument("--memory-child", choices=("tracemalloc", "rss"), help=argparse.SUPPRESS)
    add_follow_arguments(parser.add_argument_group("follow"))
    args = parser.parse_args(argv)
    args.apps_per_frame = min(args.apps_per_frame or args.apps, args.apps)
    unknown = set(args.phases.split(",")) - set(PHASES) - set(EXTRA_PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.follow_warmup + args.follow_seconds > 40:
        parser.error("follow warm-up + seconds must stay under the follows' 60 s timeout")
    return args


async def run_with_logger(args: argparse.Namespace, report: Report, phases: set[str]) -> None:
    logger = LoggerProcess(args.source) if args.source else LoggerProcess()
    try:
        await logger.wait_ready()
        if "ingest" in phases:
            print("ingest ...", file=sys.stderr)
            report.ingest = await measure_ingest(args, logger)
        if "follow" in phases:
            print("follow latency ...", file=sys.stderr)
            report.follow = await measure_follow(args, logger)
        if logger.process.poll() is not None:
            raise RuntimeError(f"logger died during the benchmark:\n{logger.output()}")
    finally:
        logger.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        result = memory_child(args.memory_child, args.mem_apps, args.mem_lines, args.mem_line_bytes)
        print(json.dumps(result))
        return
    if args.profile:
        profile_ingest(args)
        return
    phases = set(args.phases.split(","))
    report = Report(args, load=[os.getloadavg()[0]])
    if phases & {"ingest", "follow"}:
        asyncio.run(run_with_logger(args, report, phases))
    if "memory" in phases:
        print("memory ...", file=sys.stderr)
        report.memory = measure_memory(args)
    history = None
    if "history" in phases:
        print("history on vs off ...", file=sys.stderr)
        history = asyncio.run(measure_history_ingest(args))
    report.load.append(os.getloadavg()[0])
    print(report.text())
    if history is not None:
        print("\n".join(history.text()))
    if args.markdown:
        print("<!-- paste into docs/benchmarks.md -->")
        print(report.markdown())


if __name__ == "__main__":
    main()
