"""Every app route against every kind of caller: no token (401), another
user (404: an app you may not see does not exist for you), the admin, the
owner, and a collaborator (allowed, or 403 where only the owner may)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.controller.conftest import Client, Users
from tests.support.services import free_port


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    ok: int
    body: Any = None
    owner_only: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/v2/apps/shop", 200),
    Route("DELETE", "/v2/apps/shop", 204, owner_only=True),
    Route("GET", "/v2/apps/shop/perms", 200),
    Route("POST", "/v2/apps/shop/perms", 201, {"username": "eve"}, owner_only=True),
    Route("DELETE", "/v2/apps/shop/perms/bob", 204, owner_only=True),
    Route("GET", "/v2/apps/shop/logs", 200),
    Route("GET", "/v2/apps/shop/drains", 200),
    Route("POST", "/v2/apps/shop/drains", 201, {"url": "syslog://127.0.0.1:{port}"}),
    Route("DELETE", "/v2/apps/shop/drains/{drain}", 204),
    # No VictoriaMetrics is configured here: past the access check, 503.
    Route("GET", "/v2/apps/shop/metrics", 503),
    Route("GET", "/v2/apps/shop/metrics/web/status", 503),
]
CALLERS = ["nobody", "eve", "admin", "alice", "bob"]


def expected(route: Route, caller: str) -> int:
    if caller == "nobody":
        return 401
    if caller == "eve":
        return 404
    if caller == "bob" and route.owner_only:
        return 403
    return route.ok


def cases() -> list[tuple[Route, tuple[str, ...]]]:
    """Callers that change nothing share one fresh state; each success of a
    changing route gets its own."""
    out: list[tuple[Route, tuple[str, ...]]] = []
    for route in ROUTES:
        if route.method == "GET":
            out.append((route, tuple(CALLERS)))
            continue
        denied = tuple(c for c in CALLERS if expected(route, c) >= 400)
        out.append((route, denied))
        out.extend((route, (caller,)) for caller in CALLERS if caller not in denied)
    return out


@pytest.mark.parametrize(
    ("route", "callers"), cases(), ids=[f"{r}-{'+'.join(c)}" for r, c in cases()]
)
async def test_route_access(
    client: Client, users: Users, route: Route, callers: tuple[str, ...]
) -> None:
    added = await client.post(
        "/v2/apps/shop/drains",
        json={"url": f"syslog://127.0.0.1:{free_port()}"},
        headers=users.headers("alice"),
    )
    assert added.status == 201, await added.text()
    path = route.path.format(drain=(await added.json())["id"])
    for caller in callers:
        body = route.body
        if isinstance(body, dict) and "url" in body:
            body = {"url": body["url"].format(port=free_port())}
        headers = users.headers(None if caller == "nobody" else caller)
        reply = await client.request(route.method, path, json=body, headers=headers)
        assert reply.status == expected(route, caller), (caller, await reply.text())
        if reply.status >= 400:
            detail = (await reply.json())["detail"]
            if reply.status == 404:
                assert detail == "app shop not found"
            if reply.status == 403:
                assert detail == "only the owner of shop or an admin may do this"


@pytest.mark.parametrize("caller", CALLERS)
async def test_websocket_logs_access(client: Client, users: Users, caller: str) -> None:
    headers = users.headers(None if caller == "nobody" else caller)
    if caller in ("nobody", "eve"):
        reply = await client.get("/v2/apps/shop/logs", headers={**headers, **WS_UPGRADE})
        assert reply.status == expected(ROUTES[0], caller)
        return
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=headers)
    await ws.send_json({"lines": 10})
    lines = [message.data async for message in ws]
    assert ws.close_code == 1000
    assert [line.split(" ", 1)[1] for line in lines] == [
        "shop[controller]: app created by alice",
        "shop[controller]: alice added bob as a collaborator",
    ]


WS_UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


async def test_listing_shows_own_shared_and_for_admins_all(client: Client, users: Users) -> None:
    await client.post("/v2/apps", json={"id": "eves-app"}, headers=users.headers("eve"))

    async def listed(caller: str) -> list[str]:
        reply = await client.get("/v2/apps", headers=users.headers(caller))
        assert reply.status == 200
        return [app["id"] for app in (await reply.json())["results"]]

    assert await listed("admin") == ["eves-app", "shop"]
    assert await listed("alice") == ["shop"]
    assert await listed("bob") == ["shop"]
    assert await listed("eve") == ["eves-app"]
    for method, path in [
        ("GET", "/v2/apps"),
        ("POST", "/v2/apps"),
        ("GET", "/v2/auth/whoami"),
        ("POST", "/v2/auth/logout"),
    ]:
        reply = await client.request(method, path)
        assert reply.status == 401, path
