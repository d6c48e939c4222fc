"""History past the ring, through the logs API, against the embedded tantivy
index and the Quickwit stand-in: every line searchable, a seam with no gap
or duplicate under concurrent ingest, exact time bounds, app isolation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from logger.app import create_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.history.keys import HISTORY
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import format_timestamp, platform_line
from logger.store.memory import StoreSettings
from tests.standins.quickwit import QuickwitStandin
from tests.support.services import free_port

RING = 100
BEFORE = format_timestamp(time.time_ns() - 86400 * 10**9)


@dataclass
class Standin:
    """The Quickwit stand-in on a fixed port, which a test can take down
    (every connection closed) and bring back with its indexes intact."""

    quickwit: QuickwitStandin
    port: int
    runner: web.AppRunner | None = None

    async def up(self) -> None:
        self.runner = web.AppRunner(self.quickwit.application())
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()
        self.runner = None


@dataclass
class History:
    app: web.Application
    client: TestClient  # type: ignore[type-arg]
    standin: Standin | None

    async def write(self, app: str, messages: list[str], epoch_ns: int | None = None) -> None:
        now = time.time_ns() if epoch_ns is None else epoch_ns
        lines = [
            platform_line(app, "web.1", text, now + i * 1000) for i, text in enumerate(messages)
        ]
        await self.app[COMPONENTS].ingestor.store_lines(app, lines)

    async def indexed(self, timeout: float = 20.0) -> None:
        await until(lambda: self.app[HISTORY].idle, timeout)

    async def read(self, app: str, **params: str) -> tuple[int, list[str]]:
        reply = await self.client.get(f"/logs/{app}", params=params)
        return reply.status, (await reply.text()).splitlines()

    def metric(self, name: str, **labels: str) -> float:
        value = self.app[COMPONENTS].telemetry.registry.get_sample_value(name, labels)
        return value or 0.0


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def messages(lines: list[str]) -> list[str]:
    return [line.rsplit(": ", 1)[1] for line in lines]


async def start_standin() -> Standin:
    standin = Standin(QuickwitStandin(), free_port())
    await standin.up()
    return standin


MakeHistory = Callable[..., Awaitable[History]]


@pytest.fixture(params=["embedded", "quickwit"])
async def make_history(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[MakeHistory]:
    made: list[tuple[TestClient, Standin | None]] = []  # type: ignore[type-arg]

    async def make(**changes: object) -> History:
        standin = None
        settings = HistorySettings(
            backend=HistoryBackendKind.EMBEDDED,
            index_dir=tmp_path / f"history{len(made)}",
            commit_interval=0.05,
            retry_initial=0.05,
            retry_max=0.5,
        )
        if request.param == "quickwit":
            standin = await start_standin()
            settings = replace(
                settings,
                backend=HistoryBackendKind.QUICKWIT,
                quickwit_url=f"http://127.0.0.1:{standin.port}",
                request_timeout=2.0,
            )
        settings = replace(settings, **changes)  # type: ignore[arg-type]
        app = create_app(
            LoggerSettings(store=StoreSettings(lines_per_app=RING), history=settings),
            forward=False,
        )
        client: TestClient = TestClient(TestServer(app))  # type: ignore[type-arg]
        await client.start_server()
        made.append((client, standin))
        return History(app, client, standin)

    yield make
    for client, standin in made:
        await client.close()
        if standin is not None and standin.runner is not None:
            await standin.down()


async def test_every_line_is_searchable_and_counted(make_history: MakeHistory) -> None:
    history = await make_history()
    for start in range(0, 3000, 250):
        await history.write(
            "shop",
            [
                f"GET /item/{i} {'error' if i % 7 == 0 else 'ok'} n{i}"
                for i in range(start, start + 250)
            ],
        )
        await history.write("other", [f"other secret n{i}" for i in range(start, start + 50)])
    await history.indexed()
    status, lines = await history.read("shop", since=BEFORE, log_lines="-1")
    assert status == 200
    assert len(lines) == 3000
    assert [m.split()[-1] for m in messages(lines)] == [f"n{i}" for i in range(3000)]
    _, errors = await history.read("shop", since=BEFORE, log_lines="-1", query="error")
    assert len(errors) == len([i for i in range(3000) if i % 7 == 0])
    assert history.metric("logger_history_indexed_lines_total") == 3600
    assert history.metric("logger_history_lag_seconds_count") >= 1


async def test_seam_has_no_gap_or_duplicate_under_concurrent_ingest(
    make_history: MakeHistory,
) -> None:
    history = await make_history()
    total = 4000

    async def produce() -> None:
        for start in range(0, total, 40):
            await history.write("shop", [f"m{i}" for i in range(start, start + 40)])
            await asyncio.sleep(0.002)

    producer = asyncio.create_task(produce())
    reads = 0
    while not producer.done() or reads < 3:
        reply = await history.client.get(
            "/logs/shop", params={"since": BEFORE, "log_lines": "-1", "format": "json"}
        )
        if reply.status == 200:
            seqs = [json.loads(row)["seq"] for row in (await reply.text()).splitlines()]
            # In order, each once, and nothing missing between the first and the last.
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
            reads += 1
        await asyncio.sleep(0.01)
    await producer
    await history.indexed()
    _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
    assert messages(lines) == [f"m{i}" for i in range(total)]


async def test_time_bounds_are_exact(make_history: MakeHistory) -> None:
    history = await make_history()
    base = (time.time_ns() // 10**9 - 3600) * 10**9 + 500_000  # mid-second on purpose
    for chunk in range(5):
        # 1000 lines, one a millisecond: the ring holds only the last 100.
        await history.write(
            "shop", [f"t{chunk * 200 + i}" for i in range(200)], base + chunk * 200 * 10**6
        )
    await history.indexed()
    # platform lines are 1 µs apart inside a write; chunks 200 ms apart
    since = format_timestamp(base + 200 * 10**6 + 1000 * 3)  # t203
    until = format_timestamp(base + 400 * 10**6 + 1000 * 7)  # t407
    _, lines = await history.read("shop", since=since, until=until, log_lines="-1")
    assert messages(lines) == [f"t{i}" for i in range(203, 408)]
    # One microsecond less on either side leaves the bound line out.
    _, inner = await history.read(
        "shop",
        since=format_timestamp(base + 200 * 10**6 + 1000 * 3 + 1000),
        until=format_timestamp(base + 400 * 10**6 + 1000 * 7 - 1000),
        log_lines="-1",
    )
    assert messages(inner) == [f"t{i}" for i in range(204, 407)]
    _, newest = await history.read("shop", since=since, until=until, log_lines="4")
    assert messages(newest) == ["t404", "t405", "t406", "t407"]


HOSTILE = [
    "app:other",
    "*",
    "app:other OR secret",
    "secret OR app:other",
    "(secret) OR (app:other)",
    "app:other AND secret",
    "proc:web* OR app:*",
    "message:secret OR app:other",
    "seq:[0 TO 99999999999999999]",
    "NOT ok",
    "ok OR NOT ok",
]


async def test_a_query_never_reaches_another_app(make_history: MakeHistory) -> None:
    history = await make_history()
    await history.write("shop", [f"ok shop n{i}" for i in range(300)])
    await history.write("other", [f"secret other n{i}" for i in range(300)])
    await history.indexed()
    for query in HOSTILE:
        status, lines = await history.read("shop", since=BEFORE, log_lines="-1", query=query)
        assert status in (200, 204, 400), (query, status)
        assert not any("secret" in line for line in lines), query
        if status == 200:
            assert all(" shop[web.1]: ok shop " in line for line in lines), query
    for broken in ("(ok", "ok)", 'ok "', "ok) OR (app:other", "x\\"):
        status, lines = await history.read("shop", since=BEFORE, query=broken)
        assert status == 400, broken
        assert "query" in "".join(lines)
    # The isolation holds on the ring's side of the seam too.
    _, recent = await history.read(
        "shop", since=BEFORE, log_lines="50", query="app:other OR secret"
    )
    assert recent == []


async def test_json_and_proc_filter_past_the_ring(make_history: MakeHistory) -> None:
    history = await make_history()
    lines = [
        platform_line("shop", "web.1" if i % 2 else "worker.2", f"n{i}", time.time_ns() + i)
        for i in range(400)
    ]
    await history.app[COMPONENTS].ingestor.store_lines("shop", lines)
    await history.indexed()
    reply = await history.client.get(
        "/logs/shop",
        params={"since": BEFORE, "log_lines": "-1", "proc": "work", "format": "json"},
    )
    rows = [json.loads(line) for line in (await reply.text()).splitlines()]
    assert [row["message"] for row in rows] == [f"n{i}" for i in range(0, 400, 2)]
    assert {(row["app"], row["proc"], row["instance"]) for row in rows} == {("shop", "worker", "2")}


async def test_delete_forgets_history(make_history: MakeHistory) -> None:
    history = await make_history()
    await history.write("shop", [f"n{i}" for i in range(300)])
    await history.indexed()
    assert (await history.client.delete("/logs/shop")).status == 204
    status, _ = await history.read("shop", since=BEFORE, log_lines="-1")
    assert status == 204


async def test_without_history_until_and_query_say_so(tmp_path: Path) -> None:
    app = create_app(LoggerSettings(), forward=False)
    async with TestClient(TestServer(app)) as client:
        await app[COMPONENTS].ingestor.write_platform_line("shop", "web", "hello")
        reply = await client.get("/logs/shop", params={"query": "hello"})
        assert reply.status == 501
        assert "history is off" in (await reply.json())["detail"]
        reply = await client.get("/logs/shop", params={"since": BEFORE})
        assert reply.status == 200  # the ring alone, as before


async def test_indexing_never_blocks_ingest_and_sheds_with_a_count(tmp_path: Path) -> None:
    standin = await start_standin()
    await standin.down()  # Quickwit away from the start
    settings = HistorySettings(
        backend=HistoryBackendKind.QUICKWIT,
        quickwit_url=f"http://127.0.0.1:{standin.port}",
        request_timeout=1.0,
        commit_interval=0.05,
        batch_lines=50,
        queue_lines=500,
        retry_initial=0.05,
        retry_max=0.2,
    )
    app = create_app(
        LoggerSettings(store=StoreSettings(lines_per_app=RING), history=settings), forward=False
    )
    async with TestClient(TestServer(app)) as client:
        history = History(app, client, standin)
        started = time.monotonic()
        for start in range(0, 2000, 100):
            await history.write("shop", [f"n{i}" for i in range(start, start + 100)])
        assert time.monotonic() - started < 2.0  # the queue never made ingest wait
        await until(lambda: app[HISTORY].queued == 500, 5.0)
        await standin.up()
        await history.indexed()
        shed = history.metric(
            "logger_discarded_events_total", component="history", reason="queue_full"
        )
        _, lines = await history.read("shop", since=BEFORE, log_lines="-1")
        in_index = [m for m in messages(lines) if m.startswith("n")]
        assert shed > 0
        assert shed + len(in_index) == 2000
        # The newest lines were kept, and the loss was announced in the app's log.
        assert in_index[-1] == "n1999"
        _, notice = await history.read("shop", log_lines="20")
        assert any("lines dropped since" in line for line in notice)
    await standin.down()
