"""The cyclic garbage collector, tuned for a process that ingests.

Each decoded entry is a tuple, which the collector tracks, so with
CPython's default first-generation threshold (700 more tracked objects
alive than at the last collection) a frame of 1,000 records set off a
collection part-way through every frame: it walked the frame's live
entries, none of them garbage, and promoted them. That was 6-8% of the
logger's CPU at full ingest (`docs/benchmarks.md`). A threshold well above
the entries of a frame lets each frame be freed by reference counting
before the collector looks, and freezing what exists at start-up (modules,
classes, settings) keeps it out of every full collection. Cycles are still
collected: later, not never.
"""

from __future__ import annotations

import gc

# Tracked objects alive beyond the last collection before the next one: a
# few frames of Fluent Bit's largest chunks (2 MB, some thousands of records).
FIRST_GENERATION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Called once by each server process, after its imports, before it serves."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)
