"""The embedded index's writer process and its memory.

tantivy's indexing and merge threads allocate with the C allocator; glibc
keeps what they free in its per-thread arenas rather than giving it back,
so the writer's anonymous memory rises with the largest merge it has done
(measured: 126 MiB held with a 287 MiB index, 26-46 MiB once trimmed;
docs/benchmarks.md). `release_freed_heap` hands the freed pages back after
each commit, and `anonymous_bytes` lets the logger recycle a writer that
still outgrows its bound.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from pathlib import Path


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_freed_heap() -> None:
    """Return the C heap's free pages, in every arena, to the kernel."""
    if _TRIM is not None:
        _TRIM(0)


def anonymous_bytes(pid: int) -> int | None:
    """`RssAnon` of a process (Linux), or None when it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return None
