from __future__ import annotations

import pytest

from logger.lines import platform_line
from logger.store.base import ReadQuery
from logger.store.memory import MemoryStore, StoreSettings
from logger.store.ring import LINE_OVERHEAD_BYTES

T0 = 1_795_341_600_000_000_000


def lines(app: str, count: int, process: str = "web", start: int = 0) -> list[bytes]:
    return [
        platform_line(app, f"{process}.a1", f"line {i}", T0 + i * 1_000_000)
        for i in range(start, start + count)
    ]


def messages(result: list[tuple[int, bytes]]) -> list[str]:
    return [line.decode().rsplit(": ", 1)[1] for _, line in result]


async def test_sequence_numbers_are_contiguous_and_increasing() -> None:
    store = MemoryStore(StoreSettings(lines_per_app=10))
    first = await store.append("shop", lines("shop", 3))
    second = await store.append("shop", lines("shop", 2, start=3))
    assert second == first + 3
    result = await store.read("shop", ReadQuery(limit=-1))
    assert [seq for seq, _ in result.lines] == list(range(first, first + 5))
    assert result.last_seq == first + 4


async def test_ring_keeps_the_newest_lines_and_counts_displacement() -> None:
    store = MemoryStore(StoreSettings(lines_per_app=5))
    first = await store.append("shop", lines("shop", 8))
    result = await store.read("shop", ReadQuery(limit=-1))
    assert messages(result.lines) == [f"line {i}" for i in range(3, 8)]
    assert result.lines[0][0] == first + 3
    assert store.stats().displaced_lines == 3
    payload = sum(len(line) for _, line in result.lines)
    assert store.stats().payload_bytes == payload
    assert store.stats().accounted_bytes == payload + 5 * LINE_OVERHEAD_BYTES


async def test_limit_process_since_and_after_seq() -> None:
    store = MemoryStore(StoreSettings())
    first = await store.append("shop", lines("shop", 4, "web"))
    await store.append("shop", lines("shop", 4, "worker", start=4))
    assert messages((await store.read("shop", ReadQuery(limit=2))).lines) == ["line 6", "line 7"]
    web = await store.read("shop", ReadQuery(limit=-1, process="web"))
    assert messages(web.lines) == ["line 0", "line 1", "line 2", "line 3"]
    newest_web = await store.read("shop", ReadQuery(limit=1, process="web"))
    assert messages(newest_web.lines) == ["line 3"]
    since = await store.read("shop", ReadQuery(limit=-1, since="2026-11-22T10:00:00.005000+00:00"))
    assert messages(since.lines) == ["line 5", "line 6", "line 7"]
    after = await store.read("shop", ReadQuery(limit=-1, after_seq=first + 5))
    assert messages(after.lines) == ["line 6", "line 7"]
    assert (await store.read("shop", ReadQuery(limit=0))).lines == []


async def test_unknown_app_reads_empty_and_delete() -> None:
    store = MemoryStore(StoreSettings())
    assert (await store.read("nope", ReadQuery())).lines == []
    await store.append("shop", lines("shop", 2))
    assert await store.delete("shop") is True
    assert await store.delete("shop") is False
    assert store.stats().lines == 0
    assert store.stats().accounted_bytes == 0


async def test_sequence_numbers_keep_increasing_after_delete() -> None:
    store = MemoryStore(StoreSettings())
    await store.append("shop", lines("shop", 3))
    old_last = (await store.read("shop", ReadQuery())).last_seq
    await store.delete("shop")
    assert await store.append("shop", lines("shop", 1)) > old_last


async def test_byte_bound_evicts_least_recently_written_apps() -> None:
    evicted: list[tuple[str, int]] = []
    per_app = sum(len(line) + LINE_OVERHEAD_BYTES for line in lines("a", 10))
    store = MemoryStore(
        StoreSettings(lines_per_app=10, max_bytes=per_app * 3 + 10),
        on_evict=lambda app, count: evicted.append((app, count)),
    )
    for app in ("a", "b", "c"):
        await store.append(app, lines(app, 10))
    await store.append("a", lines("a", 1))  # a is now the most recent
    await store.append("d", lines("d", 10))
    assert evicted == [("b", 10)]
    assert sorted(await store.apps()) == ["a", "c", "d"]
    stats = store.stats()
    assert stats.evicted_apps == 1
    assert stats.evicted_lines == 10
    assert stats.accounted_bytes <= stats.max_bytes


@pytest.mark.parametrize("count", [1, 7, 20])
async def test_batch_larger_than_ring(count: int) -> None:
    store = MemoryStore(StoreSettings(lines_per_app=7))
    first = await store.append("shop", lines("shop", count))
    result = await store.read("shop", ReadQuery(limit=-1))
    kept = min(count, 7)
    assert messages(result.lines) == [f"line {i}" for i in range(count - kept, count)]
    assert result.lines[-1][0] == first + count - 1
    assert store.stats().payload_bytes == sum(len(line) for _, line in result.lines)
