"""The embedded history index's writer process memory over a run.

The soak's history load, without the rest of `wf serve`: an `EmbeddedIndex`
(its writer child process, the pipe, the logger-side reloads) is fed
batches of `--batch-lines` lines spread over `--apps` apps, as fast as the
writer takes them (or `--lines-per-second`), and every `--delete-every`
batches `--delete-apps` apps are deleted one after the other, as
`DELETE /logs/{app}` does. Every `--sample-seconds` it prints the writer's
`RssAnon` (from /proc), the index's size on disk, the lines written and the
mean time of a delete in the interval.

    .venv/bin/python bench/history_memory.py --minutes 4    # --deletes 0: no deletes
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
    # Run as a script: make the repository root importable for `bench.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload import INSTANCES, access_line
from logger.history.backend import Run
from logger.history.embedded import EmbeddedIndex
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import build_line, second_text, source_label


def writer_anon_mib(index: EmbeddedIndex) -> float:
    process = getattr(index, "_process", None)
    if process is None or process.pid is None:
        return float("nan")
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def batch(first: int, lines: int, apps: int, message_bytes: int) -> list[Run]:
    second = second_text(int(time.time()))
    by_app: dict[str, list[bytes]] = {}
    for n in range(first, first + lines):
        app = f"app{n % apps:04d}"
        source = source_label(app, "web", INSTANCES[n % 3])
        line = build_line("o", second, n * 1000 % 10**9, source, access_line(n, message_bytes))
        by_app.setdefault(app, []).append(line)
    return [(app, first, app_lines) for app, app_lines in by_app.items()]


async def run(args: argparse.Namespace, directory: Path) -> None:
    settings = HistorySettings(backend=HistoryBackendKind.EMBEDDED, index_dir=directory)
    index = EmbeddedIndex(settings, lambda reason, count: None)
    await index.start()
    print(
        f"{'t s':>6} {'lines':>10} {'writer RssAnon MiB':>19} {'index MiB':>10} {'delete ms':>10}"
    )
    started = time.monotonic()
    sampled = started
    written = batches = deleted = 0
    delete_times: list[float] = []
    period = args.batch_lines / args.lines_per_second if args.lines_per_second else 0.0
    while (now := time.monotonic()) - started < args.minutes * 60:
        await index.write(batch(written, args.batch_lines, args.apps, args.message_bytes))
        written += args.batch_lines
        batches += 1
        if args.deletes and batches % args.delete_every == 0:
            for _ in range(args.delete_apps):
                at = time.perf_counter()
                await index.delete_app(f"app{deleted % args.apps:04d}")
                delete_times.append(time.perf_counter() - at)
                deleted += 1
        if now - sampled >= args.sample_seconds:
            sampled = now
            delete_ms = statistics.mean(delete_times) * 1000 if delete_times else 0.0
            delete_times.clear()
            print(
                f"{now - started:6.0f} {written:10,} {writer_anon_mib(index):19.1f}"
                f" {index.disk_bytes() / 2**20:10.1f} {delete_ms:10.1f}",
                flush=True,
            )
        if period:
            await asyncio.sleep(max(0.0, started + batches * period - time.monotonic()))
    await index.close()
    print(f"{written:,} lines, {deleted:,} apps deleted in {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--batch-lines", type=int, default=3000)
    parser.add_argument("--lines-per-second", type=int, default=0, help="0: as fast as it goes")
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--message-bytes", type=int, default=100)
    parser.add_argument("--deletes", type=int, choices=(0, 1), default=1)
    parser.add_argument("--delete-every", type=int, default=10, help="batches")
    parser.add_argument("--delete-apps", type=int, default=20)
    parser.add_argument("--sample-seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wf-history-memory-") as directory:
        asyncio.run(run(args, Path(directory)))


if __name__ == "__main__":
    main()
