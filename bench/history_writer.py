"""Where the embedded history writer's time goes, stage by stage.

In one process, on the ingest bench's lines (100 apps, 100-byte messages,
runs of 10 lines as a 1000-record frame over 100 apps stores them), each
batch goes through the writer's stages: packing (in the logger), the pipe's
pickling both ways, unpacking, taking lines apart into fields, building
tantivy documents, tantivy's add and commit, then its merges. CPU time of
the process (tantivy's threads included), microseconds per line, median of
the batches: the other tenants' load moves it less than wall time.

    .venv/bin/python bench/history_writer.py [--batches 8] [--batch-lines 20000]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tantivy

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `bench.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload import INSTANCES, access_line
from logger.history.backend import Run
from logger.history.document import IndexFields, index_fields
from logger.history.handoff import pack_runs, unpack_runs
from logger.history.schema import build_schema
from logger.history.settings import HistorySettings
from logger.lines import build_line, second_text, source_label

APPS = 100
RUN_LINES = 10


def batch_runs(lines: int, message_bytes: int) -> list[Run]:
    second = second_text(int(time.time()))
    by_app: dict[str, list[bytes]] = {}
    for n in range(lines):
        app = f"app{n % APPS:03d}"
        source = source_label(app, "web", INSTANCES[n % 3])
        line = build_line("o", second, n * 1000 % 10**9, source, access_line(n, message_bytes))
        by_app.setdefault(app, []).append(line)
    return [
        (app, at, app_lines[at : at + RUN_LINES])
        for app, app_lines in by_app.items()
        for at in range(0, len(app_lines), RUN_LINES)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-lines", type=int, default=HistorySettings().batch_lines)
    parser.add_argument("--message-bytes", type=int, default=100)
    parser.add_argument("--heap-bytes", type=int, default=HistorySettings().writer_heap_bytes)
    args = parser.parse_args()
    runs = batch_runs(args.batch_lines, args.message_bytes)
    lines = sum(len(run_lines) for _, _, run_lines in runs)
    stages: dict[str, list[float]] = {}

    def timed(stage: str, work: Callable[..., Any], *args: Any) -> Any:
        started = time.process_time_ns()
        result = work(*args)
        stages.setdefault(stage, []).append((time.process_time_ns() - started) / lines / 1000)
        return result

    schema = build_schema()

    def documents(fields: list[IndexFields]) -> list[tantivy.Document]:
        return [tantivy.Document.from_dict(each, schema) for each in fields]

    with tempfile.TemporaryDirectory(prefix="wf-history-writer-") as directory:
        index = tantivy.Index(schema, path=directory)
        writer = index.writer(heap_size=args.heap_bytes, num_threads=1)

        def add_and_commit(docs: list[tantivy.Document]) -> None:
            for doc in docs:
                writer.add_document(doc)
            writer.commit()

        for _ in range(args.batches):
            packed = timed("pack (logger)", pack_runs, runs)
            sent = timed("pickle send (logger)", pickle.dumps, ("write", *packed, 0.0), 5)
            message = timed("pickle receive", pickle.loads, sent)
            received = timed("unpack", unpack_runs, *message[1:4])
            fields = timed("fields", lambda runs: list(index_fields(runs)), received)
            docs = timed("documents", documents, fields)
            timed("tantivy add + commit", add_and_commit, docs)
        started = time.process_time_ns()
        writer.wait_merging_threads()
        merges = (time.process_time_ns() - started) / lines / args.batches / 1000
    print(f"history writer, {args.batches} batches of {lines:,} lines, CPU us per line (median):")
    total = 0.0
    for stage, values in stages.items():
        total += statistics.median(values)
        print(f"  {stage:24s} {statistics.median(values):6.2f}")
    print(f"  {'tantivy merges (after)':24s} {merges:6.2f}")
    print(f"  {'total':24s} {total + merges:6.2f}")


if __name__ == "__main__":
    main()
