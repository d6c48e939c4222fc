"""Measuring helpers: spreads of repeated runs, percentiles, CPU and RSS
readers, and the source version measured."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT


@dataclass
class Spread:
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


def weighted_percentile(ordered: list[tuple[int, int]], total: int, fraction: float) -> int:
    """Nearest-rank percentile of (value, weight) pairs sorted by value."""
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value, weight in ordered:
        seen += weight
        if seen >= rank:
            return value
    return ordered[-1][0]


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (fields 14 and 15 of stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def source_version(tree: Path = ROOT) -> str:
    """The commit measured, marked when logger/ has uncommitted changes (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tree, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "logger")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (logger/ modified)" if dirty else commit
