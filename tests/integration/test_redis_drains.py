"""Drains as cluster state: logger replicas (real processes) on one real
Redis share one drain set, and a real rsyslogd receives every line of an
app whose lines arrive at two replicas exactly once."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from logger.forward.client import ForwardClient
from tests.integration.redis_replicas import Replica, replica
from tests.integration.rsyslog import Rsyslog
from tests.support.drains import LOOPBACK_ALLOWED_ENV
from tests.support.redis import RedisServer

DEADLINE = 30.0
# Quick to notice a change, quick to report per-replica state.
ENV = {**LOOPBACK_ALLOWED_ENV, "WF_DRAINS_SYNC_INTERVAL": "0.2", "WF_DRAIN_FLUSH_TIMEOUT": "1"}


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def drains_at(http: httpx.AsyncClient, node: Replica, app: str) -> list[dict[str, Any]]:
    reply = await http.get(f"{node.url}/drains/{app}")
    reply.raise_for_status()
    drains: list[dict[str, Any]] = reply.json()["drains"]
    return drains


def send_numbered(node: Replica, numbers: range) -> None:
    """Send one line per number, acked (the logger holds every one)."""
    with ForwardClient("127.0.0.1", node.forward_port, timeout=10) as client:
        for start in range(numbers.start, numbers.stop, 50):
            batch = range(start, min(start + 50, numbers.stop))
            client.send("app.shop.web", [(time.time_ns(), {"log": f"n={n:05d}"}) for n in batch])


async def test_replicas_share_drains_and_deliver_each_line_once(
    own_redis: RedisServer, rsyslog: Rsyslog, tmp_path: Path
) -> None:
    url = f"syslog://127.0.0.1:{rsyslog.tcp_port}"
    async with httpx.AsyncClient(timeout=10) as http:
        with (
            replica(tmp_path, "a", own_redis.url, env=ENV) as a,
            replica(tmp_path, "b", own_redis.url, env=ENV) as b,
        ):
            added = await http.post(f"{a.url}/drains/shop", json={"url": url})
            assert added.status_code == 201, added.text
            drain_id = added.json()["id"]

            async def b_has_it() -> bool:
                return [drain["id"] for drain in await drains_at(http, b, "shop")] == [drain_id]

            await wait_for(b_has_it, "replica b never saw the drain added at a")
            # The set is shared: the same URL is a duplicate at the other replica.
            again = await http.post(f"{b.url}/drains/shop", json={"url": url})
            assert again.status_code == 400, again.text

            send_numbered(a, range(0, 600))
            send_numbered(b, range(600, 1200))

            async def all_received() -> bool:
                return rsyslog.count() >= 1200

            await wait_for(all_received, "rsyslog did not get every line")
            copies = collections.Counter(record.msg for record in rsyslog.records())
            assert sorted(copies) == [f"n={n:05d}" for n in range(1200)]
            assert set(copies.values()) == {1}, "a line was delivered twice"

            async def summed() -> dict[str, Any]:
                reply = await http.get(f"{b.url}/drains/shop/{drain_id}")
                reply.raise_for_status()
                shown: dict[str, Any] = reply.json()
                return shown

            async def summed_over_both() -> bool:
                shown = await summed()
                return shown["delivered_lines"] == 1200 and len(shown["replicas"]) == 2

            await wait_for(summed_over_both, "the counters are not summed over both replicas")
            per_replica = sorted(row["delivered_lines"] for row in (await summed())["replicas"])
            assert per_replica == [600, 600]

            # A replica started now loads the current set (no reconcile needed).
            with replica(tmp_path, "c", own_redis.url, env=ENV) as c:
                assert [drain["id"] for drain in await drains_at(http, c, "shop")] == [drain_id]
                removed = await http.delete(f"{c.url}/drains/shop/{drain_id}")
                assert removed.status_code == 204
                for node in (a, b, c):

                    async def gone(node: Replica = node) -> bool:
                        return await drains_at(http, node, "shop") == []

                    await wait_for(gone, f"{node.url} kept the removed drain")
            # Lines sent after the removal reach no drain.
            send_numbered(a, range(1200, 1300))
            assert rsyslog.count() == 1200
            assert "Traceback" not in a.log.read_text() + b.log.read_text()


def test_drain_changes_answer_503_while_redis_is_down(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    body = {"url": "syslog://127.0.0.1:9"}
    with replica(tmp_path, "a", own_redis.url, env=ENV) as a:
        own_redis.pause()
        try:
            reply = httpx.post(f"{a.url}/drains/shop", json=body, timeout=20)
            assert reply.status_code == 503, reply.text
            assert "Redis is unreachable" in reply.json()["detail"]
        finally:
            own_redis.resume()
        # Nothing was half-added; once Redis answers, adding works.
        assert httpx.get(f"{a.url}/drains/shop", timeout=10).json()["drains"] == []
        reply = httpx.post(f"{a.url}/drains/shop", json=body, timeout=20)
        assert reply.status_code == 201, reply.text
