"""The ingest benchmark's report: a readable text block, and a markdown
block for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass, field

import msgpack

from bench.follow_latency import FollowResults
from bench.ingest_throughput import IngestResults
from bench.measure import Spread, source_version
from bench.memory_per_line import MemoryResults


@dataclass
class Report:
    args: argparse.Namespace
    ingest: IngestResults | None = None
    memory: MemoryResults | None = None
    follow: FollowResults | None = None
    # Other tenants' load: the 1-minute load average before and after.
    load: list[float] = field(default_factory=list)

    def machine(self) -> str:
        cores = os.cpu_count()
        usable = len(os.sched_getaffinity(0))
        return (
            f"{cores} cores ({usable} usable), Python {platform.python_version()}, "
            f"msgpack {'.'.join(map(str, msgpack.version))}, {platform.system()} "
            f"{platform.release()}; load average {' -> '.join(f'{x:.2f}' for x in self.load)}"
        )

    def version(self) -> str:
        """The commit whose logger was measured (`--source`, else this tree)."""
        source = getattr(self.args, "source", None)
        return source_version(source) if source else source_version()

    def text(self) -> str:
        a = self.args
        out = [f"Logger ingest benchmark at {self.version()} - {self.machine()}", ""]
        if (r := self.ingest) is not None:
            out += [
                f"Ingest: {r.records_per_run:,} records per run of {a.records_per_frame} per frame "
                f"({r.bytes_per_record:.0f} wire bytes/record, {a.apps_per_frame} of {a.apps} apps "
                f"in each frame), "
                f"{a.connections} connections x {a.window} frames in flight, {a.repeats} runs",
                text_row("end-to-end (first send to last ack)", r.end_to_end, "records/s"),
                text_row("  logger CPU, cores busy", r.logger_cpu, "", digits=2),
                text_row("in-process decode only", r.decode, "records/s"),
                text_row("in-process decode + route + store", r.in_process, "records/s"),
                f"  end-to-end / decode-only (medians): {r.ratio:.2f}",
                f"  target >= 350,000 records/s into the rings: "
                f"{'met' if r.end_to_end.median >= 350_000 else 'NOT met'} end-to-end, "
                f"{'met' if r.in_process.median >= 350_000 else 'NOT met'} in-process",
                "",
            ]
        if (m := self.memory) is not None:
            ratio = m.tracemalloc_per_line / m.line_bytes
            out += [
                f"Memory: {m.apps:,} apps x {m.lines // m.apps:,} lines, "
                f"formatted line {m.line_bytes:.1f} bytes",
                f"  tracemalloc: {m.tracemalloc_per_line:.1f} bytes/line ({ratio:.2f}x the line)",
                f"  RSS growth:  {m.rss_per_line:.1f} bytes/line "
                f"({m.rss_per_line / m.line_bytes:.2f}x the line)",
                f"  store's own accounting: {m.accounted_per_line:.1f} bytes/line",
                f"  target <= 1.5x: {'met' if max(ratio, m.rss_per_line / m.line_bytes) <= 1.5 else 'NOT met'}",  # noqa: E501
                "",
            ]
        if (f := self.follow) is not None:
            out += [
                f"Follow: {f.followers} follows over {f.apps} apps (format=json), "
                f"{a.follow_records} records every {a.follow_interval_ms:g} ms "
                f"(offered {f.offered_rate:,.0f}/s), {len(f.runs)} runs of "
                f"{a.follow_seconds:g} s measured after {a.follow_warmup:g} s warm-up",
                text_row("send -> read p50", f.spread("p50_ms"), "ms", digits=1),
                text_row("send -> read p99", f.spread("p99_ms"), "ms", digits=1),
                text_row("p50 of each run's last tenth", f.spread("late_p50_ms"), "ms", digits=1),
                text_row("max", f.spread("max_ms"), "ms", digits=1),
                text_row("records/s actually sent", f.spread("sent_rate"), ""),
                text_row("logger CPU, cores busy", f.spread("logger_cpu"), "", digits=2),
                text_row("benchmark client CPU", f.spread("client_cpu"), "", digits=2),
                f"  samples {f.total('samples'):,}; lines received {f.total('received_lines'):,} "
                f"of {f.total('expected_lines'):,}; drop notices {f.total('drop_notices')}",
                "",
            ]
        return "\n".join(out)

    def markdown(self) -> str:
        a = self.args
        out = [
            f"Measured {time.strftime('%Y-%m-%d')} at commit {self.version()} on {self.machine()}.",
            "",
        ]
        if (r := self.ingest) is not None:
            out += [
                f"Workload: {r.records_per_run:,} records per run in frames of "
                f"{a.records_per_frame} records ({r.bytes_per_record:.0f} wire bytes per record, "
                f"each frame mixing {a.apps_per_frame} of {a.apps} apps); "
                f"{a.connections} connections, each keeping "
                f"{a.window} frames waiting for their ack; {a.repeats} runs, interleaved.",
                "",
                "| Ingest | Median | Min | Max |",
                "|---|---:|---:|---:|",
                markdown_row("End-to-end, first send to last ack (records/s)", r.end_to_end),
                markdown_row("In-process decode only (records/s)", r.decode),
                markdown_row("In-process decode + route + store (records/s)", r.in_process),
                markdown_row("Logger CPU during end-to-end runs (cores)", r.logger_cpu, digits=2),
                "",
                f"End-to-end / decode-only: **{r.ratio:.2f}**. "
                f"End-to-end / in-process ingest: "
                f"**{r.end_to_end.median / r.in_process.median:.2f}**.",
                "",
            ]
        if (m := self.memory) is not None:
            out += [
                f"| Memory, {m.apps:,} apps x {m.lines // m.apps:,} lines, "
                f"{m.line_bytes:.0f}-byte lines | Bytes per line | x line |",
                "|---|---:|---:|",
                f"| tracemalloc | {m.tracemalloc_per_line:.1f} | "
                f"{m.tracemalloc_per_line / m.line_bytes:.2f} |",
                f"| RSS growth | {m.rss_per_line:.1f} | {m.rss_per_line / m.line_bytes:.2f} |",
                f"| Store's own accounting | {m.accounted_per_line:.1f} | "
                f"{m.accounted_per_line / m.line_bytes:.2f} |",
                "",
            ]
        if (f := self.follow) is not None:
            out += [
                f"Follow: {f.followers} follows (`format=json`) over {f.apps} apps, "
                f"{a.follow_records} records every {a.follow_interval_ms:g} ms "
                f"({f.offered_rate:,.0f} records/s, so {f.fanout_rate:,.0f} "
                f"lines/s to the followers); {len(f.runs)} runs of {a.follow_seconds:g} s after "
                f"{a.follow_warmup:g} s of warm-up each.",
                "",
                "| Follow, send to read | Median | Min | Max |",
                "|---|---:|---:|---:|",
                markdown_row("p50 (ms)", f.spread("p50_ms"), digits=1),
                markdown_row("p99 (ms)", f.spread("p99_ms"), digits=1),
                markdown_row(
                    "p50 of each run's last tenth (ms)", f.spread("late_p50_ms"), digits=1
                ),
                markdown_row("max (ms)", f.spread("max_ms"), digits=1),
                markdown_row("Records/s actually sent", f.spread("sent_rate")),
                markdown_row("Logger CPU (cores)", f.spread("logger_cpu"), digits=2),
                markdown_row("Benchmark client CPU (cores)", f.spread("client_cpu"), digits=2),
                "",
                f"Samples: {f.total('samples'):,}; lines received "
                f"{f.total('received_lines'):,} of {f.total('expected_lines'):,}; "
                f"drop notices: {f.total('drop_notices')}.",
                "",
            ]
        return "\n".join(out)


def text_row(label: str, spread: Spread, unit: str, digits: int = 0) -> str:
    return (
        f"  {label}: median {spread.median:,.{digits}f} {unit} "
        f"(min {spread.low:,.{digits}f}, max {spread.high:,.{digits}f})"
    )


def markdown_row(label: str, spread: Spread, digits: int = 0) -> str:
    return (
        f"| {label} | {spread.median:,.{digits}f} | {spread.low:,.{digits}f} "
        f"| {spread.high:,.{digits}f} |"
    )
