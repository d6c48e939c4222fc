"""A soak: one `wf serve` (memory store, embedded history index) under a
steady mixed load for a long time, sampled every 10 s.

    python -m bench.soak [--minutes 30] [--rate 3000]

The load (`bench/soak_load.py`, one asyncio loop in this process): forward
ingest with acks at `--rate` records/s over 1,000 apps, 100 followers
(`follow=true` on the logs API, one per app, reconnecting when their
timeout ends them), 5 TCP syslog drains to receivers here (one of them
flapping: it stops listening and drops its connections for 20 s every
60 s), and churn: `DELETE /logs/{app}` of 20 unfollowed apps every 10 s.

Each sample prints the server's RSS and open fds (the `wf serve` process
and its children together: the embedded history index runs in one), the
size of the history index on disk, follow latency (send to
follower read) p50/p99 over the interval, lines acked, read by followers
and delivered to the drains' receivers in it, and the drops the server
counted (`logger_discarded_events_total`, `logger_drain_dropped_lines_total`).
The summary compares the medians of the second and last thirds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.measure import process_cpu_seconds, source_version
from bench.serve_process import Server, wf_serve
from bench.soak_load import (
    Counts,
    DrainReceiver,
    Plan,
    app_name,
    churn_apps,
    follow_forever,
    send_forever,
)

SAMPLE_SECONDS = 10.0
DROP_FAMILIES = ("logger_discarded_events", "logger_drain_dropped_lines")


@dataclass
class Sample:
    elapsed: float
    rss_mib: float
    fds: int
    index_mib: float
    p50_ms: float
    p99_ms: float
    acked: int
    followed: int
    drained: int
    drops: int
    server_cpu: float  # share of one core over the interval
    bench_cpu: float


def directory_bytes(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


def percentile(values: list[int], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))] / 1e6


async def server_drops(session: aiohttp.ClientSession, server: Server) -> Counter[str]:
    async with session.get(f"{server.logger_url}/metrics") as response:
        text = await response.text()
    drops: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name in DROP_FAMILIES:
            for metric in family.samples:
                if metric.name.endswith("_total"):
                    reason = metric.labels.get("reason", "?")
                    drops[f"{family.name}:{reason}"] += int(metric.value)
    return drops


HEADER = (
    f"{'t s':>6} {'RSS MiB':>8} {'fds':>5} {'index MiB':>9} {'p50 ms':>7} {'p99 ms':>7}"
    f" {'acked/s':>8}"
    f" {'followed/s':>10} {'drained/s':>9} {'drops':>7} {'srv cpu':>7} {'bench cpu':>9}"
)


def row(sample: Sample) -> str:
    return (
        f"{sample.elapsed:6.0f} {sample.rss_mib:8.1f} {sample.fds:5d} {sample.index_mib:9.1f}"
        f" {sample.p50_ms:7.1f}"
        f" {sample.p99_ms:7.1f} {sample.acked / SAMPLE_SECONDS:8.0f}"
        f" {sample.followed / SAMPLE_SECONDS:10.0f} {sample.drained / SAMPLE_SECONDS:9.0f}"
        f" {sample.drops:7d} {sample.server_cpu:6.0%} {sample.bench_cpu:8.0%}"
    )


async def add_drains(
    session: aiohttp.ClientSession, server: Server, receivers: list[DrainReceiver]
) -> None:
    for index, receiver in enumerate(receivers):
        url = f"{server.logger_url}/drains/{app_name(index)}"
        async with session.post(url, json={"url": f"syslog://127.0.0.1:{receiver.port}"}) as answer:
            if answer.status != 201:
                raise RuntimeError(f"adding a drain: {answer.status} {await answer.text()}")


async def soak(server: Server, plan: Plan, minutes: float) -> list[Sample]:
    counts = Counts()
    stop = asyncio.Event()
    receivers = [DrainReceiver(counts) for _ in range(plan.drains)]
    for receiver in receivers:
        await receiver.start()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await add_drains(session, server, receivers)
        tasks = [
            asyncio.create_task(send_forever(server.forward_port, plan, counts, stop)),
            asyncio.create_task(receivers[-1].flap(stop, every=60, down=20)),
            asyncio.create_task(churn_apps(session, server.logger_url, plan, counts, stop)),
            *(
                asyncio.create_task(
                    follow_forever(session, server.logger_url, app_name(i), counts, stop)
                )
                for i in range(plan.followers)
            ),
        ]
        samples = await sample_until(session, server, counts, minutes)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for receiver in receivers:
        await receiver.stop()
    print(f"totals: {dict(counts.totals)}")
    print(f"server drops by reason: {dict(await final_drops(server))}")
    return samples


async def final_drops(server: Server) -> Counter[str]:
    async with aiohttp.ClientSession() as session:
        return await server_drops(session, server)


async def sample_until(
    session: aiohttp.ClientSession, server: Server, counts: Counts, minutes: float
) -> list[Sample]:
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    cpu = (process_cpu_seconds(server.process.pid), process_cpu_seconds(os.getpid()))
    print(HEADER, flush=True)
    while loop.time() - start < minutes * 60:
        await asyncio.sleep(start + (len(samples) + 1) * SAMPLE_SECONDS - loop.time())
        taken = counts.take()
        latencies = sorted(taken.latencies_ns)
        now_cpu = (process_cpu_seconds(server.process.pid), process_cpu_seconds(os.getpid()))
        drops = await server_drops(session, server)
        sample = Sample(
            elapsed=loop.time() - start,
            rss_mib=server.rss_bytes() / 2**20,
            fds=server.open_fds(),
            index_mib=directory_bytes(server.directory / "history") / 2**20,
            p50_ms=percentile(latencies, 0.5),
            p99_ms=percentile(latencies, 0.99),
            acked=taken.acked,
            followed=taken.followed,
            drained=taken.drained,
            drops=sum(drops.values()),
            server_cpu=(now_cpu[0] - cpu[0]) / SAMPLE_SECONDS,
            bench_cpu=(now_cpu[1] - cpu[1]) / SAMPLE_SECONDS,
        )
        cpu = now_cpu
        samples.append(sample)
        print(row(sample), flush=True)
    return samples


def summary(samples: list[Sample]) -> list[str]:
    third = len(samples) // 3
    if third < 1:
        return ["too few samples for a summary (run at least 30 s)"]
    second, last = samples[third : 2 * third], samples[2 * third :]
    lines = ["summary (medians; second third vs last third, ratio last/second):"]
    for name in ("rss_mib", "fds", "p50_ms", "p99_ms", "server_cpu"):
        before = statistics.median(getattr(s, name) for s in second)
        after = statistics.median(getattr(s, name) for s in last)
        ratio = after / before if before else float("nan")
        lines.append(f"  {name:<11} {before:9.2f} -> {after:9.2f}  ratio {ratio:5.2f}")
    rss_ratio = statistics.median(s.rss_mib for s in last) / statistics.median(
        s.rss_mib for s in second
    )
    fds_ratio = statistics.median(s.fds for s in last) / statistics.median(s.fds for s in second)
    flat = rss_ratio <= 1.05 and fds_ratio <= 1.05
    lines.append(
        f"  flat after warm-up: {'yes' if flat else 'NO'} (RSS ratio {rss_ratio:.3f},"
        f" fds ratio {fds_ratio:.3f}; flat means both <= 1.05)"
    )
    acked = sum(s.acked for s in samples)
    lines.append(
        f"  acked {acked:,} records, followers read {sum(s.followed for s in samples):,} lines,"
        f" drains delivered {sum(s.drained for s in samples):,}; drops counted at the end"
        f" {samples[-1].drops:,}; bench cpu median"
        f" {statistics.median(s.bench_cpu for s in samples):.0%} of a core"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=3000, help="records/s sent")
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--drains", type=int, default=5)
    options = parser.parse_args()
    plan = Plan(options.apps, options.followers, options.drains, options.rate)
    print(
        f"soak at {source_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:"
        f" {options.minutes:g} min, {plan.rate} records/s over {plan.apps} apps,"
        f" {plan.followers} followers, {plan.drains} drains (one flapping 20 s of 60 s),"
        f" load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as directory:
        env = {"WF_DRAINS_ALLOW_DESTINATIONS": "127.0.0.1/32"}
        with wf_serve(Path(directory), env) as server:
            print(f"wf serve pid {server.process.pid}, RSS {server.rss_bytes() / 2**20:.0f} MiB")
            samples = asyncio.run(soak(server, plan, options.minutes))
            with contextlib.suppress(OSError):
                tracebacks = server.log_text().count("Traceback")
                print(f"tracebacks in the server's log: {tracebacks}")
    for line in summary(samples):
        print(line)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
