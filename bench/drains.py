"""Drain benchmark: lines/s to rsyslogd over TCP, and ingest with drains attached.

Run by hand, never by the test suite (rsyslog must be installed):

    .venv/bin/python bench/drains.py --markdown     # or: python -m bench.drains

It starts rsyslogd on 127.0.0.1 the way the integration tests do
(tests/integration/rsyslog.py), with one TCP input per drain
(bench/drain_sinks.py). Two phases:

1. delivery (bench/drain_delivery.py): lines/s one `syslog+tcp://` drain
   writes to its socket (sent) and rsyslogd writes to its file (delivered),
   offered stored lines in chunks of 1,000 as ingest hands them over.
   Target: >= 100,000 lines/s delivered.
2. ingest: the in-process ingest rate with no drains and with 10 drains
   attached, for two placements of the drains (bench/drain_ingest.py), to
   each receiver `--sink` names: rsyslogd, and a child process that reads
   and discards (so that no receiver work competes for the cores).
   Target: with 10 drains >= 0.7x the rate with none.

The report is bench/drain_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `bench` and tests.integration.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.drain_delivery import DeliveryResults, measure_delivery
from bench.drain_ingest import PlacementResults, measure_placement, placements
from bench.drain_report import delivery_markdown, delivery_text, ingest_markdown, ingest_text
from bench.drain_sinks import DiscardSink, LineCounter, MultiPortRsyslog, running_rsyslog
from bench.measure import source_version

PHASES = ("delivery", "ingest")
SINKS = ("rsyslog", "discard")


async def measure_ingest(
    arguments: argparse.Namespace, sink: str, rsyslog: MultiPortRsyslog
) -> list[PlacementResults]:
    print(f"ingest with drains, to {sink} ...", file=sys.stderr)
    results = []
    if sink == "discard":
        with DiscardSink(arguments.drains) as discard:
            for placement in placements(arguments.drains, arguments.apps):
                results.append(
                    await measure_placement(
                        arguments, placement, discard.tcp_ports, None, discard.pid
                    )
                )
        return results
    for placement in placements(arguments.drains, arguments.apps):
        counter = LineCounter(rsyslog.output)
        results.append(
            await measure_placement(arguments, placement, rsyslog.tcp_ports, counter, rsyslog.pid)
        )
    return results


async def main(arguments: argparse.Namespace) -> None:
    phases = set(arguments.phases.split(","))
    load = [os.getloadavg()[0]]
    delivery: DeliveryResults | None = None
    ingest: dict[str, list[PlacementResults]] = {}
    async with running_rsyslog(arguments.drains) as rsyslog:
        if "delivery" in phases:
            delivery = await measure_delivery(arguments, rsyslog)
        if "ingest" in phases:
            for sink in arguments.sink.split(","):
                ingest[sink] = await measure_ingest(arguments, sink, rsyslog)
    load.append(os.getloadavg()[0])
    machine = (
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average {' -> '.join(f'{x:.2f}' for x in load)}"
    )
    out = [f"Drain benchmark at {source_version()} - {machine}", ""]
    if delivery is not None:
        out += delivery_text(delivery)
    for sink, results in ingest.items():
        out += ingest_text(arguments, sink, results)
    print("\n".join(out))
    if arguments.markdown:
        out = [
            "<!-- paste into docs/benchmarks.md -->",
            f"Measured {time.strftime('%Y-%m-%d')} at commit {source_version()} on {machine}.",
            "",
        ]
        if delivery is not None:
            out += delivery_markdown(delivery)
        for sink, results in ingest.items():
            out += ingest_markdown(arguments, sink, results)
        print("\n".join(out))


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--phases", default=",".join(PHASES), help="comma-separated: delivery,ingest")
    add("--markdown", action="store_true", help="also print a block for docs/benchmarks.md")
    add("--timeout", type=float, default=120.0, help="bound on any one run (s)")
    add("--message-bytes", type=int, default=100)
    delivery = parser.add_argument_group("delivery")
    delivery.add_argument("--lines", type=int, default=500_000)
    delivery.add_argument("--repeat", type=int, default=3)
    delivery.add_argument("--chunk", type=int, default=1000, help="lines per offer")
    delivery.add_argument("--batch-lines", type=int, default=0, help="0: the default setting")
    ingest = parser.add_argument_group("ingest")
    ingest.add_argument("--records", type=int, default=200_000, help="records per run")
    ingest.add_argument("--records-per-frame", type=int, default=1000)
    ingest.add_argument("--pool-frames", type=int, default=32, help="distinct frames")
    ingest.add_argument("--apps", type=int, default=100, help="apps of the spread placement")
    ingest.add_argument("--drains", type=int, default=10)
    ingest.add_argument("--ingest-repeats", type=int, default=5)
    ingest.add_argument(
        "--sink", default=",".join(SINKS), help="comma-separated receivers: rsyslog,discard"
    )
    arguments = parser.parse_args(argv)
    unknown = set(arguments.phases.split(",")) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    unknown = set(arguments.sink.split(",")) - set(SINKS)
    if unknown:
        parser.error(f"unknown sinks: {', '.join(sorted(unknown))}")
    if not 1 <= arguments.drains <= arguments.apps:
        parser.error("--drains must be between 1 and --apps")
    return arguments


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
