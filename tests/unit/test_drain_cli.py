"""`wf drains` against the real drains API (aiohttp test server).

click's runner is synchronous, so it runs in a worker thread while the
server answers on the test's event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry

from controller.cli.drains import drains
from logger.drains.api import DRAINS, routes
from logger.drains.registry import DrainRegistry
from tests.support.drains import loopback_settings
from tests.support.services import free_port

SECRET = "pa55-word-x"
AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def logger_url(tmp_path: Path, aiohttp_server: AiohttpServer) -> AsyncIterator[str]:
    settings = loopback_settings(
        state_file=tmp_path / "drains.json",
        retry_base=0.05,
        retry_max=0.5,
        connect_timeout=0.5,
        flush_timeout=0.0,
    )
    registry = DrainRegistry(settings, CollectorRegistry())
    await registry.start()
    app = web.Application()
    app[DRAINS] = registry
    app.add_routes(routes)
    server = await aiohttp_server(app)
    yield str(server.make_url("")).rstrip("/")
    await registry.close()


async def wf(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, drains, list(args))


async def test_add_list_remove_by_id_and_by_url(logger_url: str) -> None:
    url = f"https://user:{SECRET}@sink.example.com/in"
    added = await wf("add", "--app", "shop", "--logger-url", logger_url, url)
    assert added.exit_code == 0, added.output
    drain_id = added.output.split()[2]
    assert added.output == f"Added drain {drain_id} to shop: https://***@sink.example.com/in\n"
    second = await wf("add", "-a", "shop", "--logger-url", logger_url, "syslog://h.example.com")
    assert second.exit_code == 0, second.output
    second_id = second.output.split()[2]

    listed = await wf("list", "-a", "shop", "--logger-url", logger_url)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "STATE", "DELIVERED", "DROPPED", "URL"]
    assert lines[1].split() == [drain_id, "idle", "0", "0", "https://***@sink.example.com/in"]
    assert lines[2].split() == [second_id, "idle", "0", "0", "syslog://h.example.com:514"]
    assert SECRET not in listed.output

    as_json = await wf("list", "-a", "shop", "--logger-url", logger_url, "--json")
    assert [drain["id"] for drain in json.loads(as_json.output)] == [drain_id, second_id]

    removed = await wf("remove", "-a", "shop", "--logger-url", logger_url, url)
    assert removed.exit_code == 0, removed.output
    assert removed.output == (
        f"Removed drain {drain_id} from shop: https://***@sink.example.com/in\n"
    )
    by_id = await wf("remove", "-a", "shop", "--logger-url", logger_url, second_id)
    assert by_id.exit_code == 0, by_id.output
    empty = await wf("list", "-a", "shop", "--logger-url", logger_url)
    assert empty.output == "No drains for shop.\n"


async def test_errors_are_one_line_and_exit_1(logger_url: str) -> None:
    bad = await wf("add", "-a", "shop", "--logger-url", logger_url, f"ftp://u:{SECRET}@h.io")
    assert bad.exit_code == 1
    assert bad.output == (
        "Error: unsupported drain URL scheme 'ftp'; use one of syslog://, syslog+tcp://, "
        "syslog+tls://, syslog+udp://, https://, http://\n"
    )
    missing = await wf("remove", "-a", "shop", "--logger-url", logger_url, "abcd1234")
    assert (missing.exit_code, missing.output) == (1, "Error: shop has no drain 'abcd1234'\n")
    unknown_url = await wf(
        "remove", "-a", "shop", "--logger-url", logger_url, f"https://u:{SECRET}@h.io/x"
    )
    assert unknown_url.exit_code == 1
    assert unknown_url.output == "Error: shop has no drain https://***@h.io/x\n"


async def test_unreachable_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("WF_LOGGER_URL", f"http://127.0.0.1:{port}")
    result = await wf("list", "-a", "shop")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot reach the logger at http://127.0.0.1:{port}: Connection refused\n"
    )


def test_app_is_required() -> None:
    result = CliRunner().invoke(drains, ["list"])
    assert result.exit_code == 2
    assert "Missing option '--app' / '-a'" in result.output


def test_reached_as_wf_logger_drains() -> None:
    from controller.cli.main import cli

    result = CliRunner().invoke(
        cli, ["logger", "drains", "list", "--app", "shop", "--logger-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach the logger at http://127.0.0.1:9")
