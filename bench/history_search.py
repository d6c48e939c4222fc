"""Search latency of the embedded history index over 1M indexed lines.

    .venv/bin/python bench/history_search.py [--lines 1000000] [--apps 100]

Fills a tantivy index in a temporary directory with lines spread evenly
over the last two hours across `--apps` apps (one line in 20 says
`error`), then times `--queries` searches of a term query in one app over
the last hour (the newest 100 hits, as `wf logs --since 1h --grep error`
asks), each through `EmbeddedIndex.search`, and prints p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logger.history.backend import HistorySearch
from logger.history.embedded import EmbeddedIndex
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import platform_line

BATCH = 50_000
SPAN_SECONDS = 2 * 3600


async def fill(index: EmbeddedIndex, lines: int, apps: int, now_ns: int) -> float:
    started = time.perf_counter()
    step = SPAN_SECONDS * 10**9 // lines
    first = now_ns - SPAN_SECONDS * 10**9
    for start in range(0, lines, BATCH):
        docs: list[tuple[str, int, list[bytes]]] = []
        for i in range(start, min(lines, start + BATCH)):
            app = f"app{i % apps}"
            word = "error" if (i // apps) % 20 == 0 else "ok"
            stored = platform_line(
                app, "web.1", f"GET /item/{i} {word} took {i % 997}ms", first + i * step
            )
            docs.append((app, i, [stored]))
        await index.write(docs)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="wf-history-search-") as directory:
        settings = HistorySettings(
            backend=HistoryBackendKind.EMBEDDED, index_dir=Path(directory), max_bytes=1 << 40
        )
        index = EmbeddedIndex(settings, lambda reason, count: None)
        await index.start()
        now_ns = time.time_ns()
        seconds = await fill(index, args.lines, args.apps, now_ns)
        print(
            f"indexed {args.lines:,} lines in {seconds:.1f} s ({args.lines / seconds:,.0f} docs/s),"
            f" {index.disk_bytes() / 2**20:.0f} MiB on disk",
            file=sys.stderr,
        )
        since_us = (now_ns - 3600 * 10**9) // 1000
        timings = []
        counts = []
        for query in range(args.queries):
            search = HistorySearch(
                app=f"app{query % args.apps}", limit=100, query="error", since_us=since_us
            )
            started = time.perf_counter()
            counts.append(len(await index.search(search)))
            timings.append(time.perf_counter() - started)
        await index.close()
    cuts = statistics.quantiles(timings, n=100)
    print(
        f"term query in one app over the last hour, newest 100 hits "
        f"({min(counts)}-{max(counts)} a search): "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms over {args.queries} searches"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--queries", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
