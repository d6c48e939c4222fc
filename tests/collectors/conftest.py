"""The Kubernetes API stand-in on loopback, a kubeconfig for it, and ways to
read back what the watcher wrote."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from logger.lines import line_text
from logger.store.base import LogStore, ReadQuery
from tests.collectors.pods import managed_namespace
from tests.standins.kubernetes_api import KubernetesStandIn
from tests.support.services import free_port

DEADLINE = 15.0


@pytest.fixture
async def standin() -> AsyncIterator[tuple[KubernetesStandIn, str]]:
    api = KubernetesStandIn()
    api.namespace_objects.put(managed_namespace("shop"))
    server = TestServer(api.app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield api, str(server.make_url("")).rstrip("/")
    await server.close()


class ThreadedStandIn:
    def __init__(self, api: KubernetesStandIn, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.url = url
        self._loop = loop

    def call(self, function: Callable[[], object]) -> None:
        """Run `function` (a change to the stand-in) on the stand-in's loop."""

        async def run() -> None:
            function()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)


@pytest.fixture
def threaded_standin() -> Iterator[ThreadedStandIn]:
    """The stand-in on a loop of its own, for tests that block (a `wf serve` process)."""
    api = KubernetesStandIn()
    api.namespace_objects.put(managed_namespace("shop"))
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(api.app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    threaded = ThreadedStandIn(api, f"http://127.0.0.1:{port}", loop)
    yield threaded
    for collection in (api.namespace_objects, api.pods, api.events):
        threaded.call(collection.drop_watches)  # or cleanup waits for their timeouts
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": server}}],
        "users": [{"name": "wf", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "wf"}}],
        "current-context": "standin",
    }
    path.write_text(json.dumps(config))
    return path


def messages(lines: list[bytes]) -> list[str]:
    """`shop[kubernetes]: web.x2x9z started` from stored lines, without the time."""
    return [line_text(line).decode().split(" ", 1)[1] for line in lines]


async def stored(store: LogStore, app: str) -> list[str]:
    result = await store.read(app, ReadQuery(limit=-1))
    return messages([line for _, line in result.lines])


async def wait_for(
    read: Callable[[], Awaitable[list[str]]], count: int, deadline: float = DEADLINE
) -> list[str]:
    """The lines once there are at least `count` (or the assertion at the deadline)."""
    end = time.monotonic() + deadline
    while True:
        lines = await read()
        if len(lines) >= count:
            return lines
        assert time.monotonic() < end, f"waited for {count} lines, have {lines}"
        await asyncio.sleep(0.05)


async def until(check: Callable[[], bool], deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, "condition not met before the deadline"
        await asyncio.sleep(0.02)
