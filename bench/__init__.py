"""Benchmarks, run by hand and never by the test suite (see docs/benchmarks.md).

Entry points, each runnable as a script or as a module:

    .venv/bin/python bench/ingest.py --markdown     # or: python -m bench.ingest
    .venv/bin/python bench/drains.py                # or: python -m bench.drains
    .venv/bin/python -m bench.attacks               # the hardening cases (docs/security.md)
    .venv/bin/python -m bench.soak --minutes 30     # steady mixed load, sampled every 10 s
    .venv/bin/python bench/side_by_side.py          # ingest against Fluent Bit and Fluentd
    .venv/bin/python bench/redis_store.py           # the Redis store against the memory store
    .venv/bin/python bench/history_search.py        # search latency over 1M indexed lines
    .venv/bin/python bench/history_writer.py        # the embedded index writer's CPU per line
    .venv/bin/python bench/console_tail.py          # the web console's live tail

The other modules are their parts, one concept each.
"""

from __future__ import annotations

from pathlib import Path

# The repository root: the working directory of the logger and child processes.
ROOT = Path(__file__).resolve().parent.parent
