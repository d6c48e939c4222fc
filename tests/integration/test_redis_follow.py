"""Follow and resume across replicas: two logger apps on one real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import pytest

from logger.app import create_app
from logger.components import COMPONENTS
from logger.config import ApiSettings, LoggerSettings
from logger.lines import platform_line
from logger.store.memory import StoreSettings
from logger.store.redis_feed import ReplicatedTailHub
from logger.store.redis_settings import RedisSettings
from tests.support.redis import RedisServer

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.test_utils import TestClient
    from pytest_aiohttp import AiohttpClient


def replica(redis_url: str, lines_per_app: int = 1000) -> web.Application:
    return create_app(
        LoggerSettings(
            store=StoreSettings(lines_per_app=lines_per_app),
            api=ApiSettings(),
            redis=RedisSettings(url=redis_url, health_interval=0.1, command_timeout=0.5),
        ),
        forward=False,
    )


async def write(app: web.Application, count: int, start: int = 0, process: str = "web") -> None:
    """`count` lines in one batch (one store call), messages m<start>..."""
    lines = [
        platform_line("shop", process, f"m{i}", time.time_ns()) for i in range(start, start + count)
    ]
    await app[COMPONENTS].ingestor.store_lines("shop", lines)


def live(app: web.Application) -> bool:
    hub = app[COMPONENTS].hub
    assert isinstance(hub, ReplicatedTailHub)
    return bool(hub.follower_count) and hub.feed.is_live("shop")


async def followed(*apps: web.Application) -> None:
    """Wait until each replica has its follower, live (its subscription
    confirmed before its history read)."""
    deadline = asyncio.get_running_loop().time() + 10
    while not all(live(app) for app in apps):
        assert asyncio.get_running_loop().time() < deadline, "the followers did not connect"
        await asyncio.sleep(0.01)


def rows(body: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in body.splitlines()]


Replicas = tuple["web.Application", "TestClient", "web.Application", "TestClient"]  # type: ignore[type-arg]


@pytest.fixture
async def two_replicas(redis_url: str, aiohttp_client: AiohttpClient) -> Replicas:
    """Two logger apps on one Redis, each with its test client."""
    a, b = replica(redis_url), replica(redis_url)
    return a, await aiohttp_client(a), b, await aiohttp_client(b)


async def test_a_line_ingested_at_a_reaches_a_follower_at_b_in_order(
    two_replicas: Replicas,
) -> None:
    a, _, b, client_b = two_replicas
    await write(a, 20)

    async def produce() -> None:
        await followed(b)
        for start in range(20, 1020, 50):
            await write(a, 50, start)
            await asyncio.sleep(0.005)

    producer = asyncio.create_task(produce())
    response = await client_b.get(
        "/logs/shop",
        params={"follow": "true", "timeout": "4", "log_lines": "-1", "format": "json"},
    )
    body = await response.text()
    await producer
    got = rows(body)
    assert [row["message"] for row in got] == [f"m{i}" for i in range(1020)]
    seqs = [int(str(row["seq"])) for row in got]
    assert seqs == list(range(seqs[0], seqs[0] + 1020))


async def test_both_replicas_ingesting_reach_followers_at_both_without_gap_or_repeat(
    two_replicas: Replicas,
) -> None:
    a, client_a, b, client_b = two_replicas

    async def produce(app: web.Application, process: str) -> None:
        await followed(a, b)
        for start in range(0, 600, 20):
            await write(app, 20, start, process)
            await asyncio.sleep(0)

    # History (all of it) then live: each line once, whenever the history read ran.
    params = {"follow": "true", "timeout": "4", "log_lines": "-1", "format": "json"}
    followers = [
        asyncio.create_task(client.get("/logs/shop", params=params))
        for client in (client_a, client_b)
    ]
    await asyncio.gather(produce(a, "from-a"), produce(b, "from-b"))
    bodies = [await (await follower).text() for follower in followers]
    seen = [rows(body) for body in bodies]
    for got in seen:
        seqs = [int(str(row["seq"])) for row in got]
        assert len(seqs) == 1200
        assert seqs == sorted(seqs)
        assert seqs == list(range(seqs[0], seqs[0] + 1200))
        for process in ("from-a", "from-b"):
            mine = [row["message"] for row in got if row["proc"] == process]
            assert mine == [f"m{i}" for i in range(600)]
    assert seen[0] == seen[1]


async def test_after_seq_from_one_replica_resumes_at_the_other(
    two_replicas: Replicas,
) -> None:
    a, client_a, _, client_b = two_replicas
    await write(a, 5)
    first = rows(await (await client_a.get("/logs/shop", params={"format": "json"})).text())
    await write(a, 3, 5)
    resumed = await client_b.get(
        "/logs/shop",
        params={"format": "json", "log_lines": "-1", "after_seq": str(first[2]["seq"])},
    )
    assert [row["message"] for row in rows(await resumed.text())] == [
        "m3",
        "m4",
        "m5",
        "m6",
        "m7",
    ]


async def test_delete_at_one_replica_removes_the_app_at_both(
    two_replicas: Replicas,
) -> None:
    a, client_a, _, client_b = two_replicas
    await write(a, 3)
    assert (await client_b.get("/logs/shop")).status == 200
    assert (await client_b.delete("/logs/shop")).status == 204
    assert (await client_a.get("/logs/shop")).status == 204
    assert (await client_a.delete("/logs/shop")).status == 404


async def test_a_lost_subscriber_connection_is_filled_from_the_ring(
    redis_server: RedisServer,
    two_replicas: Replicas,
) -> None:
    a, _, b, client_b = two_replicas

    async def produce() -> None:
        await followed(b)
        for start in range(0, 300, 10):
            if start == 150:
                # Every subscriber connection drops: messages published now are lost.
                redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")
            await write(a, 10, start)
            await asyncio.sleep(0.01)

    producer = asyncio.create_task(produce())
    response = await client_b.get(
        "/logs/shop",
        # All of the history, then live: each line once, whenever the history read ran.
        params={"follow": "true", "timeout": "3", "log_lines": "-1", "format": "json"},
    )
    got = rows(await response.text())
    await producer
    assert [row["message"] for row in got] == [f"m{i}" for i in range(300)]


async def test_lines_gone_from_the_ring_are_announced(
    redis_url: str, redis_server: RedisServer, aiohttp_client: AiohttpClient
) -> None:
    a, b = replica(redis_url, lines_per_app=20), replica(redis_url, lines_per_app=20)
    await aiohttp_client(a)
    client_b: TestClient = await aiohttp_client(b)  # type: ignore[type-arg]
    await write(a, 5)
    response = await client_b.get(
        "/logs/shop",
        params={"follow": "true", "timeout": "3", "log_lines": "-1", "format": "json"},
    )
    got = [json.loads(await response.content.readline()) for _ in range(5)]
    # Every subscriber connection drops, and more lines than the ring holds
    # are written before B's subscriber is back: B can only say they are gone.
    redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")
    await write(a, 50, 5)
    got += rows(await response.text())
    messages = [str(row["message"]) for row in got]
    assert messages[:5] == [f"m{i}" for i in range(5)]
    # The one gap notice of every store, before the oldest line still held.
    assert messages[5] == f"30 lines dropped before {got[6]['time']} (no_longer_buffered)"
    assert got[5]["seq"] == int(str(got[4]["seq"])) + 30
    assert messages[6:] == [f"m{i}" for i in range(35, 55)]
    assert b[COMPONENTS].hub.feed.gone_lines == 30  # type: ignore[attr-defined]
