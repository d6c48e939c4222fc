"""Drain benchmark: lines/s one process delivers to a real rsyslogd over TCP.

Run by hand, never by the test suite (rsyslog must be installed):

    .venv/bin/python bench/drains.py [--lines 500000] [--repeat 3]

It starts rsyslogd on 127.0.0.1 the way the integration tests do
(tests/integration/rsyslog.py), adds one `syslog+tcp://` drain through a
DrainRegistry with default settings (except a buffer large enough that
nothing is dropped), and offers pre-built stored lines from 8 processes in
chunks of 1,000 (as ingest hands them over), yielding to the loop between
chunks. Two figures per run:

- sent: lines/s from the first offer until the drain is idle (every batch
  written to the socket), the drain's own cost;
- delivered: lines/s from the first offer until rsyslogd has written every
  line to its output file, end to end.

The target is >= 100,000 lines/s delivered to one TCP syslog drain.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for tests.integration.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trustme
from prometheus_client import CollectorRegistry

from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.lines import format_timestamp
from tests.integration.rsyslog import Rsyslog, TlsFiles

T0 = 1_795_000_000_000_000_000
PROCESSES = [f"web.{suffix}" for suffix in ("x2x9z", "a1b2c", "q8w7e", "m3n4b")] + [
    f"worker.{suffix}" for suffix in ("z9y8x", "k7j6h", "p5o4i", "u3t2r")
]


def build_lines(count: int, message_bytes: int) -> list[bytes]:
    filler = "x" * max(0, message_bytes - 30)
    lines = []
    for number in range(count):
        process = PROCESSES[number % len(PROCESSES)]
        stream = "o" if number % 5 else "e"
        text = (
            f"{format_timestamp(T0 + number * 1000)} shop[{process}]: GET /item/{number} {filler}"
        )
        lines.append(stream.encode() + text.encode())
    return lines


class LineCounter:
    """Counts newlines in a growing file, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.count = 0

    def poll(self) -> int:
        if not self.path.exists():
            return self.count
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        self.count += data.count(b"\n")
        return self.count


async def one_run(
    rsyslog: Rsyslog, settings: DrainSettings, lines: list[bytes], chunk: int
) -> tuple[float, float]:
    registry = DrainRegistry(settings, CollectorRegistry())
    await registry.start()
    try:
        view = await registry.add("shop", f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}")
        drain = registry.drain(view.id)
        assert drain is not None
        counter = LineCounter(rsyslog.output)
        started = time.perf_counter()
        for start in range(0, len(lines), chunk):
            registry.deliver("shop", lines[start : start + chunk])
            await asyncio.sleep(0)
        if not await drain.wait_idle(120):
            raise RuntimeError("the drain did not finish within 120 s")
        sent = time.perf_counter() - started
        for _ in range(120_000):
            if counter.poll() >= len(lines):
                break
            await asyncio.sleep(0.001)
        delivered = time.perf_counter() - started
        if counter.count != len(lines) or drain.dropped:
            raise RuntimeError(f"rsyslog wrote {counter.count} lines, dropped {drain.dropped}")
        return len(lines) / sent, len(lines) / delivered
    finally:
        await registry.close()


async def main(arguments: argparse.Namespace) -> None:
    lines = build_lines(arguments.lines, arguments.message_bytes)
    defaults = DrainSettings(state_file=None)
    settings = replace(
        defaults,
        buffer_lines=arguments.lines + 1,
        batch_lines=arguments.batch_lines or defaults.batch_lines,
    )
    with tempfile.TemporaryDirectory(prefix="bench-drains-") as directory:
        workdir = Path(directory)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        tls = TlsFiles(workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem")
        ca.cert_pem.write_to_path(str(tls.ca))
        cert.cert_chain_pems[0].write_to_path(str(tls.cert))
        cert.private_key_pem.write_to_path(str(tls.key))
        rsyslog = Rsyslog(workdir, tls)
        await rsyslog.start()
        try:
            print(
                f"python {platform.python_version()}, {arguments.lines} lines of "
                f"{len(lines[0])} bytes, batch_lines={settings.batch_lines}, "
                f"batch_bytes={settings.batch_bytes}, chunk={arguments.chunk}"
            )
            sent_rates, delivered_rates = [], []
            for run in range(1, arguments.repeat + 1):
                sent, delivered = await one_run(rsyslog, settings, lines, arguments.chunk)
                sent_rates.append(sent)
                delivered_rates.append(delivered)
                print(f"run {run}: sent {sent:,.0f} lines/s, delivered {delivered:,.0f} lines/s")
            print(
                f"median: sent {statistics.median(sent_rates):,.0f} lines/s, "
                f"delivered {statistics.median(delivered_rates):,.0f} lines/s "
                "(one syslog+tcp drain to rsyslogd on 127.0.0.1)"
            )
        finally:
            await rsyslog.stop()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000, help="lines per offer")
    parser.add_argument("--message-bytes", type=int, default=100)
    parser.add_argument("--batch-lines", type=int, default=0, help="0: the default setting")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
