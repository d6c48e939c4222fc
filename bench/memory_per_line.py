"""The memory phase: bytes held per buffered line, each method in a fresh
child process (`bench/ingest.py --memory-child METHOD`) so that earlier
phases leave no garbage behind."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT
from bench.measure import rss_bytes
from bench.workload import INSTANCES, access_line, event_time, frame_body, kube_record
from logger.config import LoggerSettings
from logger.forward.protocol import decode_frame
from logger.routing import Router
from logger.store.memory import MemoryStore, StoreSettings

# The entry point whose hidden `--memory-child` option runs `memory_child`.
ENTRY_POINT = Path(__file__).resolve().with_name("ingest.py")


@dataclass
class MemoryResults:
    apps: int
    lines: int
    line_bytes: float  # the printable line, without the stream marker
    tracemalloc_per_line: float
    rss_per_line: float
    accounted_per_line: float  # what the store itself counts against max_bytes


def memory_child(method: str, apps: int, lines_per_app: int, line_bytes: int) -> dict[str, float]:
    """Fill the rings through the decoder and Router; bytes held per line."""
    store = MemoryStore(StoreSettings(lines_per_app=lines_per_app, max_bytes=1 << 40))
    router = Router(LoggerSettings().max_line_bytes)
    base_ns = time.time_ns()
    formatted = 0
    if method == "tracemalloc":
        tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else rss_bytes()

    async def fill() -> int:
        total = 0
        for a in range(apps):
            app = f"app{a:04d}"
            instance = a % 3
            # timestamp (32) + space + `app0000[web.x2x9z]: ` + message = line_bytes
            width = line_bytes - 33 - len(f"{app}[web.{INSTANCES[instance]}]: ")
            entries = [
                [
                    event_time(base_ns + (a * lines_per_app + i) * 1000),
                    kube_record(app, instance, access_line(a * lines_per_app + i, width) + "\n"),
                ]
                for i in range(lines_per_app)
            ]
            frame = decode_frame(frame_body(entries) + b"\x80", 1 << 30)
            assert frame is not None
            batch = router.route(frame.tag, frame.entries)
            for name, stored in batch.lines.items():
                await store.append(name, stored)
                total += sum(map(len, stored)) - len(stored)
        return total

    formatted = asyncio.run(fill())
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else rss_bytes()
    stats = store.stats()
    return {
        "lines": stats.lines,
        "per_line": (after - before) / stats.lines,
        "line_bytes": formatted / stats.lines,
        "accounted_per_line": stats.accounted_bytes / stats.lines,
    }


def measure_memory(args: argparse.Namespace) -> MemoryResults:
    results = {}
    for method in ("tracemalloc", "rss"):
        command = [
            sys.executable, str(ENTRY_POINT), "--memory-child", method,
            "--mem-apps", str(args.mem_apps), "--mem-lines", str(args.mem_lines),
            "--mem-line-bytes", str(args.mem_line_bytes),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"memory child ({method}) failed:\n{done.stderr[-4000:]}")
        results[method] = json.loads(done.stdout.strip().splitlines()[-1])
    traced = results["tracemalloc"]
    return MemoryResults(
        apps=args.mem_apps,
        lines=int(traced["lines"]),
        line_bytes=traced["line_bytes"],
        tracemalloc_per_line=traced["per_line"],
        rss_per_line=results["rss"]["per_line"],
        accounted_per_line=traced["accounted_per_line"],
    )
