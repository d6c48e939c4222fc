"""Ingest side by side: the same pre-encoded frames, in interleaved rounds in one
invocation, to the logger and to the real peers (Fluent Bit 5.1.1 `-i forward
-o null`, Fluentd 1.18 `in_forward` -> `out_null`), and optionally to the
logger of another source tree (`--baseline DIR`, e.g. a `git worktree` of an
older commit) for a before/after in one run.

    .venv/bin/python bench/side_by_side.py      # prints markdown tables
    .venv/bin/python bench/side_by_side.py --baseline /tmp/wf-before --receivers logger
    .venv/bin/python bench/side_by_side.py --pure-twin --with-memory-and-follow

`--pure-twin` also runs this tree's logger with its pure-Python routing loop
(`WF_PURE_PYTHON=1`), so the compiled loop's gain is measured in the same
rounds. `--with-memory-and-follow` then measures, in the same invocation,
memory per buffered line and follow latency with 200 followers while
ingesting (bench/ingest.py's phases, with its defaults).

Each case is one entry form (`plain` `[EventTime, record]`, `metadata`
`[[EventTime, {}], record]`: Fluent Bit 5's default), one carrier (Forward
mode, or gzip CompressedPackedForward) and one mix of apps per frame (`one`:
what Fluent Bit's tail input sends, one tag per container, so one pod's
records in each frame; `mixed`: 100 apps, three pods each, in every frame).
Every frame asks for an ack (`chunk`), and a run's rate is records/s from
the first send to the last ack, so every receiver does the same work: read,
decode, hand on, ack. Fluentd 1.18 rejects the `metadata` form, so it is
sent the `plain` form of the same records, and the report says so.

What each peer really does with a frame differs, and the report cannot hide
it: Fluent Bit's in_forward appends the (inflated) msgpack to a chunk without
building records; Fluentd keeps a gzip payload as a lazy event stream that
`out_null` never reads, so its gzip figures are acks of bytes never inflated.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ingest
from bench.ingest_throughput import end_to_end_run, plan_sends
from bench.measure import Spread, source_version
from bench.memory_per_line import measure_memory
from bench.receivers import (
    FluentBitReceiver,
    FluentdReceiver,
    NamedLogger,
    Receiver,
    fluent_bit_binary,
    fluentd_binary,
)
from bench.report import Report
from bench.workload import Carrier, EntryForm, Workload, ingest_workload
from logger.routing import IMPLEMENTATION, PURE_SWITCH

RECEIVERS = ("logger", "fluent-bit", "fluentd")
MIXES = {"one": 1, "mixed": 100}


@dataclass(frozen=True)
class Case:
    form: EntryForm
    carrier: Carrier
    mix: str

    @property
    def title(self) -> str:
        apps = "one pod per frame" if self.mix == "one" else "100 apps in every frame"
        return f"{self.form.value} entries, {self.carrier.value}, {apps}"


@dataclass
class Row:
    receiver: str
    rates: list[float] = field(default_factory=list)
    cores: list[float] = field(default_factory=list)
    note: str = ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--receivers", default=",".join(RECEIVERS), help="comma-separated: " + ",".join(RECEIVERS))
    add("--baseline", type=Path, help="also measure the logger of this source tree")
    add("--pure-twin", action="store_true", help="also this logger with WF_PURE_PYTHON=1")
    add(
        "--with-memory-and-follow",
        action="store_true",
        help="then memory per line and follow latency (bench/ingest.py phases)",
    )
    add("--forms", default="plain,metadata", help="comma-separated: plain,metadata")
    add("--carriers", default="forward,gzip", help="comma-separated: forward,gzip")
    add("--mixes", default="one,mixed", help="comma-separated: one,mixed")
    add("--records", type=int, default=200_000, help="records per run")
    add("--records-per-frame", type=int, default=1000)
    add("--message-bytes", type=int, default=100)
    add("--pool-frames", type=int, default=32, help="distinct frames")
    add("--connections", type=int, default=2)
    add("--window", type=int, default=8, help="unacked frames per connection")
    add("--repeats", type=int, default=5)
    add("--timeout", type=float, default=180.0, help="bound on any one run (s)")
    args = parser.parse_args(argv)
    args.receivers = args.receivers.split(",")
    if unknown := set(args.receivers) - set(RECEIVERS):
        parser.error(f"unknown receivers: {', '.join(sorted(unknown))}")
    args.cases = [
        Case(EntryForm(form), Carrier(carrier), mix)
        for form, carrier, mix in itertools.product(
            args.forms.split(","), args.carriers.split(","), args.mixes.split(",")
        )
    ]
    return args


def start_receivers(args: argparse.Namespace) -> list[Receiver]:
    receivers: list[Receiver] = []
    if "logger" in args.receivers:
        receivers.append(NamedLogger(f"logger {source_version()}"))
    if args.pure_twin:
        receivers.append(
            NamedLogger(f"logger {source_version()} pure Python", extra_env={PURE_SWITCH: "1"})
        )
    if args.baseline is not None:
        receivers.append(NamedLogger(f"logger {tree_version(args.baseline)}", args.baseline))
    peers: dict[str, tuple[Callable[[], Receiver], Path]] = {
        "fluent-bit": (FluentBitReceiver, fluent_bit_binary()),
        "fluentd": (FluentdReceiver, fluentd_binary()),
    }
    for name, (kind, binary) in peers.items():
        if name not in args.receivers:
            continue
        if not binary.exists():
            print(f"{name}: {binary} not found, left out", file=sys.stderr)
            continue
        receivers.append(kind())
    return receivers


def tree_version(tree: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    )
    return done.stdout.strip() or tree.name


def workload(args: argparse.Namespace, case: Case, form: EntryForm) -> Workload:
    apps = MIXES[case.mix]
    return ingest_workload(
        args.pool_frames, args.records_per_frame, 100, apps, args.message_bytes,
        form, case.carrier, pod_per_frame=case.mix == "one",
    )  # fmt: skip


async def measure_case(
    args: argparse.Namespace, case: Case, receivers: list[Receiver]
) -> list[Row]:
    frames = max(1, args.records // args.records_per_frame)
    records = frames * args.records_per_frame
    native = workload(args, case, case.form)
    plain = native if case.form is EntryForm.PLAIN else workload(args, case, EntryForm.PLAIN)
    rows = []
    sent: dict[str, Workload] = {}
    for receiver in receivers:
        fluentd = isinstance(receiver, FluentdReceiver)
        sent[receiver.name] = plain if fluentd else native
        notes = []
        if fluentd and plain is not native:
            notes.append("sent the plain form")
        if fluentd and case.carrier is Carrier.GZIP:
            notes.append("out_null never inflates gzip")
        note = "; ".join(notes)
        rows.append(Row(receiver.name, note=note))
    for receiver in receivers:  # warm-up, untimed
        warm = plan_sends(
            sent[receiver.name], args.connections * args.window * 2, args.connections, "warm"
        )
        await end_to_end_run(receiver, warm, args.window, args.timeout)
    for run in range(args.repeats):
        # A different receiver goes first in each round, so drift in the
        # machine's load does not always favour the same one.
        order = receivers[run % len(receivers) :] + receivers[: run % len(receivers)]
        for receiver in order:
            row = next(row for row in rows if row.receiver == receiver.name)
            plan = plan_sends(sent[receiver.name], frames, args.connections, f"r{run}")
            gc.collect()
            await until_idle(receivers)
            elapsed, cpu = await end_to_end_run(receiver, plan, args.window, args.timeout)
            row.rates.append(records / elapsed)
            row.cores.append(cpu / elapsed)
        summary = ", ".join(f"{row.receiver} {row.rates[-1]:,.0f}/s" for row in rows)
        print(f"  {case.title}, run {run + 1}/{args.repeats}: {summary}", file=sys.stderr)
    return rows


# A receiver is idle once it used less than this share of a core over a
# window: Fluent Bit acks a chunk before its engine hands it to `null`, so
# without the wait its backlog ran beside the next receiver's run and took
# CPU from it (5-18% of a core, seen at one-second sampling).
IDLE_SHARE = 0.02
IDLE_WINDOW = 0.2
IDLE_WAIT_LIMIT = 10.0


async def until_idle(receivers: list[Receiver]) -> None:
    """Return once no receiver is still working off an earlier run."""
    deadline = time.monotonic() + IDLE_WAIT_LIMIT
    before = sum(receiver.cpu_seconds() for receiver in receivers)
    while time.monotonic() < deadline:
        await asyncio.sleep(IDLE_WINDOW)
        now = sum(receiver.cpu_seconds() for receiver in receivers)
        if now - before < IDLE_SHARE * IDLE_WINDOW:
            return
        before = now
    print(f"  (receivers busy after {IDLE_WAIT_LIMIT:g} s; measuring anyway)", file=sys.stderr)


async def run(args: argparse.Namespace) -> list[tuple[Case, list[Row]]]:
    receivers = start_receivers(args)
    results = []
    try:
        for receiver in receivers:
            await receiver.wait_ready()
        for case in args.cases:
            results.append((case, await measure_case(args, case, receivers)))
    finally:
        for receiver in receivers:
            receiver.stop()
    return results


def report(args: argparse.Namespace, results: list[tuple[Case, list[Row]]], load: str) -> str:
    out = [
        f"Side-by-side ingest at {source_version()} (routing loop: {IMPLEMENTATION}); "
        f"load average {load}; "
        f"{args.records:,} records per run in frames of {args.records_per_frame}, "
        f"{args.connections} connections x {args.window} frames in flight, acked, "
        f"{args.repeats} interleaved runs",
        "",
    ]
    for case, rows in results:
        out += [f"### {case.title}", ""]
        out += ["| receiver | median rec/s | min | max | CPU cores | logger / this |"]
        out += ["|---|---:|---:|---:|---:|---:|"]
        logger = Spread(rows[0].rates).median if rows[0].receiver.startswith("logger") else None
        for row in rows:
            spread, cores = Spread(row.rates), Spread(row.cores)
            ratio = f"{logger / spread.median:.2f}x" if logger else "-"
            name = f"{row.receiver} ({row.note})" if row.note else row.receiver
            out.append(
                f"| {name} | {spread.median:,.0f} | {spread.low:,.0f} | {spread.high:,.0f} "
                f"| {cores.median:.2f} | {ratio} |"
            )
        out.append("")
    return "\n".join(out)


def memory_and_follow() -> str:
    """bench/ingest.py's memory and follow phases, with its defaults."""
    # tracemalloc over a million lines takes minutes on a busy machine.
    phases = ["--phases", "memory,follow", "--timeout", "900"]
    ingest_args = ingest.parse_args(phases)
    figures = Report(ingest_args, load=[os.getloadavg()[0]])
    print("follow latency ...", file=sys.stderr)
    asyncio.run(ingest.run_with_logger(ingest_args, figures, {"follow"}))
    print("memory ...", file=sys.stderr)
    figures.memory = measure_memory(ingest_args)
    figures.load.append(os.getloadavg()[0])
    return figures.markdown()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    before = os.getloadavg()[0]
    results = asyncio.run(run(args))
    print(report(args, results, f"{before:.2f} -> {os.getloadavg()[0]:.2f}"))
    if args.with_memory_and_follow:
        print(memory_and_follow())


if __name__ == "__main__":
    main()
