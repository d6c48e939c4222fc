"""The embedded writer's hot path: its one-pass fields are HistoryDoc's, and
a packed batch comes out of the pipe as it went in."""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import astuple
from pathlib import Path

import tantivy

from logger.history.backend import Run
from logger.history.document import FIELDS, HistoryDoc, index_fields
from logger.history.embedded import EmbeddedIndex
from logger.history.handoff import pack_runs, unpack_runs
from logger.history.schema import add_runs, build_schema
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import build_line, platform_line, second_text, source_label

SECOND = second_text(1_700_000_000)


def stored_lines() -> list[bytes]:
    """Every shape a stored line takes: app lines on both streams, platform
    sources, no instance, no source at all, levels (text and JSON), bad UTF-8."""
    app_line = source_label("shop", "web", "x2x9z")
    return [
        build_line("o", SECOND, 123_456_000, app_line, "GET /healthz 200"),
        build_line("e", SECOND, 1_000, app_line, "ERROR db timeout"),
        build_line("o", SECOND, 2_000, app_line, "WARN slow"),
        build_line("o", SECOND, 3_000, app_line, "INFORMATION is not a level"),
        build_line("o", SECOND, 4_000, app_line, '{"level":"debug","msg":"x"}'),
        build_line("o", SECOND, 5_000, app_line, '{"msg":"no level"}'),
        build_line("o", SECOND, 6_000, app_line, ""),
        build_line("o", SECOND, 7_000, source_label("shop", "worker.a.b", "q1"), "Done"),
        build_line("o", SECOND, 8_000, "shop[web]: ", "no instance"),
        build_line("o", SECOND, 9_000, "shop: ", "no brackets"),
        build_line("-", SECOND, 10_000, "", "no source at all"),
        platform_line("shop", "controller", "FATAL deploy failed", 1_700_000_001_000_000_000),
        build_line("o", SECOND, 11_000, app_line, "caf\u00e9 ok") + b" \xff\xfe bad",
        build_line("o", SECOND, 12_000, app_line, "line one\nline two ]: [x.y]"),
        build_line("o", second_text(1_700_000_001), 0, app_line, "the next second"),
        build_line("o", SECOND, 13_000, app_line, "the first second again"),
        # Microseconds int() reads though they are not all digits.
        SECOND.encode().join([b"o", b" 12345+00:00 shop[web.1]: spaced micros"]),
    ]


def test_one_pass_fields_are_what_history_doc_takes_apart() -> None:
    lines = stored_lines()
    runs: list[Run] = [("shop", 40, lines[:5]), ("other", 7, lines[5:]), ("shop", 45, lines[:2])]
    expected = [
        HistoryDoc.from_stored(app, seq, line)
        for app, first_seq, run_lines in runs
        for seq, line in enumerate(run_lines, first_seq)
    ]
    got = list(index_fields(runs))
    assert len(got) == len(expected) == 5 + 12 + 2
    for fields, doc in zip(got, expected, strict=True):
        assert tuple(fields.values()) == astuple(doc)
        assert set(fields) == {*FIELDS, "line"} - {"timestamp"}


def test_a_packed_batch_unpacks_to_the_same_runs() -> None:
    lines = stored_lines()
    runs: list[Run] = [("shop", 1, lines[:3]), ("a", 9, lines[3:4]), ("b", 0, []), ("c", 5, lines)]
    assert unpack_runs(*pack_runs(runs)) == runs
    assert unpack_runs(*pack_runs([])) == []


def test_indexed_documents_keep_their_field_types() -> None:
    schema = build_schema()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    lines = stored_lines()
    add_runs(writer, schema, [("shop", 2**40, lines)])
    writer.commit()
    index.reload()
    searcher = index.searcher()
    seq_range = tantivy.Query.range_query(
        schema, "seq", tantivy.FieldType.Unsigned, 2**40, 2**40 + 1
    )
    hits = searcher.search(seq_range, 10, order_by_field="seq", order=tantivy.Order.Asc).hits
    stored = [searcher.doc(address) for _, address in hits]
    assert [doc.get_first("seq") for doc in stored] == [2**40, 2**40 + 1]
    assert [bytes(doc.get_first("line") or b"") for doc in stored] == lines[:2]
    level = index.parse_query("level:error AND timeout", ["message"])
    assert len(searcher.search(level, 10).hits) == 1


async def test_the_writer_process_runs_at_the_niceness_it_is_given(tmp_path: Path) -> None:
    settings = HistorySettings(
        backend=HistoryBackendKind.EMBEDDED, index_dir=tmp_path / "index", writer_nice=7
    )
    index = EmbeddedIndex(settings, lambda reason, count: None)
    await index.start()
    try:
        (writer,) = [c for c in multiprocessing.active_children() if c.name == "wf-history-writer"]
        assert writer.pid is not None
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 7)
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) == expected
        # Lines of now: the retention bound deletes lines from 2023.
        recent = [platform_line("shop", "web.x2", f"line {n}", time.time_ns()) for n in range(5)]
        await index.write([("shop", 0, recent)])
        assert index.count() == len(recent)
    finally:
        await index.close()
