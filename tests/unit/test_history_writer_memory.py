"""The embedded index's writer process stays within its memory bound: past
it, the writer is stopped after a commit and started again, counted, and
nothing indexed is lost."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from logger.history.backend import HistorySearch
from logger.history.embedded import EmbeddedIndex
from logger.history.process_memory import anonymous_bytes, release_freed_heap
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import platform_line


def writer_pids() -> list[int | None]:
    return [c.pid for c in multiprocessing.active_children() if c.name == "wf-history-writer"]


def lines(first: int, count: int) -> list[bytes]:
    return [
        platform_line("shop", "web.x2", f"line {n}", time.time_ns())
        for n in range(first, first + count)
    ]


async def test_a_writer_past_its_memory_bound_is_restarted_and_keeps_every_line(
    tmp_path: Path,
) -> None:
    # The smallest bound: a writer process with tantivy loaded is past it.
    settings = HistorySettings(
        backend=HistoryBackendKind.EMBEDDED,
        index_dir=tmp_path / "index",
        writer_max_memory_bytes=16 << 20,
    )
    restarts: list[str] = []
    index = EmbeddedIndex(settings, lambda reason, count: None, on_restart=restarts.append)
    await index.start()
    try:
        (first,) = writer_pids()
        assert first is not None
        held = anonymous_bytes(first)
        assert held is not None
        assert held > settings.writer_max_memory_bytes
        await index.write([("shop", 0, lines(0, 50))])
        # Stopped after that commit; the next write starts another writer.
        assert writer_pids() == []
        await index.write([("shop", 50, lines(50, 50))])
        assert restarts == ["memory"]
        assert writer_pids() == []  # this one too, at the same bound
        # A delete starts a third; only a write's commit checks the bound.
        await index.delete_app("other")
        (third,) = writer_pids()
        assert third not in (None, first)
        assert restarts == ["memory", "memory"]
        assert index.count() == 100
        found = await index.search(HistorySearch(app="shop", limit=1000, since_us=0))
        assert sorted(seq for seq, _ in found) == list(range(100))
    finally:
        await index.close()


async def test_a_writer_within_its_bound_is_kept(tmp_path: Path) -> None:
    settings = HistorySettings(backend=HistoryBackendKind.EMBEDDED, index_dir=tmp_path / "index")
    restarts: list[str] = []
    index = EmbeddedIndex(settings, lambda reason, count: None, on_restart=restarts.append)
    await index.start()
    try:
        before = writer_pids()
        for batch in range(3):
            await index.write([("shop", batch * 10, lines(batch * 10, 10))])
        assert writer_pids() == before
        assert restarts == []
    finally:
        await index.close()


def test_this_process_memory_is_readable_and_trimming_is_safe() -> None:
    held = anonymous_bytes(os.getpid())
    assert held is not None
    assert held > 0
    release_freed_heap()
    assert anonymous_bytes(-1) is None
