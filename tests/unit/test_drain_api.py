"""The drains HTTP API through aiohttp's test client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from logger.drains.api import DRAINS, routes
from logger.drains.registry import DrainRegistry
from tests.support.drains import loopback_settings

SECRET = "s3cret-pw"
AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[DrainRegistry]:
    settings = loopback_settings(
        state_file=tmp_path / "drains.json",
        per_app=2,
        retry_base=0.05,
        retry_max=0.5,
        connect_timeout=0.5,
        flush_timeout=0.0,
    )
    drains = DrainRegistry(settings, CollectorRegistry())
    await drains.start()
    yield drains
    await drains.close()


@pytest.fixture
async def client(
    registry: DrainRegistry, aiohttp_client: AiohttpClient
) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    app[DRAINS] = registry
    app.add_routes(routes)
    return await aiohttp_client(app)


async def test_add_list_and_delete(
    client: TestClient[web.Request, web.Application], tmp_path: Path
) -> None:
    url = f"https://logs:{SECRET}@sink.example.com/in?token=tok-{SECRET}"
    created = await client.post("/drains/shop", json={"url": url})
    assert created.status == 201
    body = await created.json()
    assert body["url"] == "https://***@sink.example.com/in?token=***"
    assert body["app"] == "shop"
    assert body["state"] == "idle"
    assert set(body) == {
        "id", "app", "url", "scheme", "created_at", "state", "last_error", "last_error_at",
        "delivered_lines", "delivered_bytes", "dropped_lines", "dropped", "retries",
        "buffered_lines", "buffer_capacity", "origin",
    }  # fmt: skip
    listed = await client.get("/drains/shop")
    assert listed.status == 200
    text = await listed.text()
    assert SECRET not in text
    listing = await listed.json()
    assert listing["app"] == "shop"
    assert [drain["id"] for drain in listing["drains"]] == [body["id"]]
    token = json.loads((tmp_path / "drains.json").read_text())["drains"][0]["token"]
    assert token.startswith("d.")
    assert token not in text  # the drain token is never shown
    deleted = await client.delete(f"/drains/shop/{body['id']}")
    assert deleted.status == 204
    assert (await (await client.get("/drains/shop")).json())["drains"] == []


async def test_unknown_drain_is_404(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.delete("/drains/shop/nothere1")
    assert response.status == 404
    assert await response.json() == {"detail": "shop has no drain 'nothere1'"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"url": "ftp://x.example.com"}, "unsupported drain URL scheme 'ftp'; use one of "
         "syslog://, syslog+tcp://, syslog+tls://, syslog+udp://, https://, http://"),
        ({"url": f"syslog://u:{SECRET}@h.example.com"},
         "syslog drain URLs cannot carry credentials (h.example.com)"),
        ({"url": 5}, 'the body must be JSON: {"url": "<drain URL>"}'),
        ([], 'the body must be JSON: {"url": "<drain URL>"}'),
    ],
)  # fmt: skip
async def test_bad_urls_are_400_with_a_message(
    client: TestClient[web.Request, web.Application], payload: object, message: str
) -> None:
    response = await client.post("/drains/shop", json=payload)
    assert response.status == 400
    assert await response.json() == {"detail": message}


async def test_bad_body_app_and_limit_are_400(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/drains/shop", data=b"{nope")
    assert (response.status, await response.json()) == (
        400,
        {"detail": 'the body must be JSON: {"url": "<drain URL>"}'},
    )
    response = await client.post("/drains/-bad-", json={"url": "syslog://h.example.com"})
    assert response.status == 400
    assert (await response.json())["detail"].startswith("'-bad-' is not a valid app name")
    for port in (1001, 1002):
        ok = await client.post("/drains/shop", json={"url": f"syslog://h.example.com:{port}"})
        assert ok.status == 201
    response = await client.post("/drains/shop", json={"url": "syslog://h.example.com:1003"})
    assert (response.status, await response.json()) == (
        400,
        {"detail": "shop already has 2 drains, the limit (WF_DRAINS_PER_APP=2)"},
    )
    response = await client.post("/drains/shop", data=b"x" * 20_000)
    assert response.status == 400
    assert await response.json() == {"detail": "the request body is larger than 16384 bytes"}
