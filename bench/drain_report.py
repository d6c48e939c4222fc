"""The drain benchmark's report: text, and markdown for docs/benchmarks.md."""

from __future__ import annotations

import argparse

from bench.drain_delivery import DELIVERY_TARGET, DeliveryResults
from bench.drain_ingest import TARGET_RATIO, PlacementResults
from bench.measure import Spread
from bench.report import markdown_row, text_row

RECEIVERS = {"rsyslog": "rsyslogd", "discard": "the discard sink"}


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def ratio_verdict(ratio: Spread) -> str:
    return verdict(ratio.median >= TARGET_RATIO)


def delivery_text(delivery: DeliveryResults) -> list[str]:
    return [
        f"Delivery: one syslog+tcp drain to rsyslogd, {delivery.lines:,} lines of "
        f"{delivery.line_bytes} bytes per run",
        text_row("sent, until the drain is idle", delivery.sent, "lines/s"),
        text_row("delivered, until rsyslogd wrote every line", delivery.delivered, "lines/s"),
        f"  target >= {DELIVERY_TARGET:,} lines/s delivered: "
        f"{verdict(delivery.delivered.median >= DELIVERY_TARGET)}",
        "",
    ]


def delivery_markdown(delivery: DeliveryResults) -> list[str]:
    return [
        f"One `syslog+tcp://` drain, {delivery.lines:,} stored lines of {delivery.line_bytes} "
        f"bytes per run, {len(delivery.sent.values)} runs.",
        "",
        "| Delivery to rsyslogd | Median | Min | Max |",
        "|---|---:|---:|---:|",
        markdown_row("Sent, until the drain is idle (lines/s)", delivery.sent),
        markdown_row("Delivered, until rsyslogd wrote every line (lines/s)", delivery.delivered),
        "",
        f"Target ≥ {DELIVERY_TARGET:,} lines/s delivered: "
        f"**{verdict(delivery.delivered.median >= DELIVERY_TARGET)}**.",
        "",
    ]


def ingest_text(
    arguments: argparse.Namespace, sink: str, results: list[PlacementResults]
) -> list[str]:
    a = arguments
    out = [
        f"Ingest in process (decode + route + store) with and without {a.drains} "
        f"syslog+tcp drains to {RECEIVERS[sink]}, frames of {a.records_per_frame} records, "
        f"{a.ingest_repeats} pairs of runs",
    ]
    for r in results:
        out += [
            f"{r.placement.name}: {r.placement.describe()}; {r.records_per_run:,} records and "
            f"{r.drain_lines_per_run:,} drain lines per run",
            text_row("no drains", r.plain, "records/s"),
            text_row("drains, until ingest finished", r.ingested, "records/s"),
            text_row("drains, until every drain sent everything", r.sent, "records/s"),
        ]
        if r.written is not None:
            out.append(text_row("  until rsyslogd wrote every line", r.written, "records/s"))
        out += [
            text_row("ratio, ingest finished", r.ingest_ratio, "", digits=2),
            text_row("ratio, everything sent", r.sent_ratio, "", digits=2),
            text_row("this process's CPU with drains, cores", r.own_cpu, "", digits=2),
        ]
        if r.receiver_cpu is not None:
            out.append(text_row("receiver's CPU meanwhile, cores", r.receiver_cpu, "", digits=2))
        out.append(
            f"  target >= {TARGET_RATIO}x: {ratio_verdict(r.sent_ratio)}; most lines one drain "
            f"held {r.peak_buffered:,}; dropped {r.dropped}"
        )
    return [*out, ""]


def ingest_markdown(
    arguments: argparse.Namespace, sink: str, results: list[PlacementResults]
) -> list[str]:
    drains = arguments.drains
    receiver = RECEIVERS[sink]
    out = []
    for r in results:
        out += [
            f"{r.placement.name.capitalize()}, drains to {receiver}: {r.placement.describe()}; "
            f"{r.records_per_run:,} records per run, {r.drain_lines_per_run:,} lines to the "
            f"drains per run; {arguments.ingest_repeats} pairs of runs.",
            "",
            f"| Ingest, {r.placement.name}, to {receiver} | Median | Min | Max |",
            "|---|---:|---:|---:|",
            markdown_row("No drains (records/s)", r.plain),
            markdown_row(f"{drains} drains, until ingest finished (records/s)", r.ingested),
            markdown_row(f"{drains} drains, until every drain sent everything (records/s)", r.sent),
        ]
        if r.written is not None:
            out.append(markdown_row("… until rsyslogd wrote every line (records/s)", r.written))
        out += [
            markdown_row("**Ratio**, until ingest finished", r.ingest_ratio, digits=2),
            markdown_row("**Ratio**, until everything sent", r.sent_ratio, digits=2),
            markdown_row("This process's CPU with drains (cores)", r.own_cpu, digits=2),
        ]
        if r.receiver_cpu is not None:
            out.append(markdown_row("Receiver's CPU meanwhile (cores)", r.receiver_cpu, digits=2))
        out += [
            "",
            f"Target ≥ {TARGET_RATIO}x: **{ratio_verdict(r.sent_ratio)}**. Most lines one drain "
            f"held: {r.peak_buffered:,} (the default buffer is 10,000); dropped: {r.dropped}.",
            "",
        ]
    return out
