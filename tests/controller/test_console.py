"""The console's session and pages, against the real controller and logger:
cookie flags, CSRF refused, another user's app unreachable through page,
socket and API alike, no secret in any page or asset, logout revokes."""

from __future__ import annotations

import asyncio
import json
from http.cookies import SimpleCookie

import aiohttp
import pytest

from controller.console.pages import STATIC
from controller.settings import CookieSecurity
from logger.components import COMPONENTS
from tests.controller.conftest import PASSWORD, Client, Logger, MakeClient, Users

PAGES = ("/", "/apps/shop", "/apps/shop/tail", "/apps/shop/search", "/apps/shop/charts")


def origin(client: Client) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def console_login(client: Client, name: str, **headers: str) -> SimpleCookie:
    reply = await client.post(
        "/console/login",
        json={"username": name, "password": PASSWORD},
        headers={**origin(client), **headers},
    )
    assert reply.status == 200, await reply.text()
    body = await reply.json()
    assert body == {"username": name}  # the token is in the cookie only
    cookie: SimpleCookie = SimpleCookie()
    for header in reply.headers.getall("Set-Cookie"):
        cookie.load(header)
    return cookie


def session_of(cookie: SimpleCookie) -> dict[str, str]:
    return {"Cookie": f"wf_session={cookie['wf_session'].value}"}


async def test_the_session_cookie_flags(client: Client, users: Users) -> None:
    cookie = (await console_login(client, "alice"))["wf_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP here, and X-Forwarded-Proto not trusted
    assert int(cookie["max-age"]) == 12 * 3600
    assert cookie.value.startswith("wf_")
    forwarded = await console_login(client, "alice", **{"X-Forwarded-Proto": "https"})
    assert not forwarded["wf_session"]["secure"]


@pytest.mark.parametrize(
    ("security", "headers", "secure"),
    [
        (CookieSecurity.FORWARDED, {"X-Forwarded-Proto": "https"}, True),
        (CookieSecurity.FORWARDED, {}, False),
        (CookieSecurity.ALWAYS, {}, True),
    ],
)
async def test_the_cookie_is_secure_behind_tls(
    make_client: MakeClient,
    security: CookieSecurity,
    headers: dict[str, str],
    secure: bool,
) -> None:
    client = await make_client(console_secure_cookie=security)
    await Users(client).add("alice")
    cookie = (await console_login(client, "alice", **headers))["wf_session"]
    assert bool(cookie["secure"]) is secure


async def test_the_session_is_a_token_that_logout_revokes(client: Client, users: Users) -> None:
    session = session_of(await console_login(client, "alice"))
    whoami = await client.get("/v2/auth/whoami", headers=session)
    assert (await whoami.json())["username"] == "alice"
    out = await client.post("/console/logout", headers={**session, **origin(client)})
    assert out.status == 204
    cleared: SimpleCookie = SimpleCookie(out.headers["Set-Cookie"])
    assert cleared["wf_session"].value == ""
    assert (await client.get("/v2/auth/whoami", headers=session)).status == 401
    # A page with a dead session goes back to the login.
    page = await client.get(
        "/apps/shop", headers={**session, "Accept": "text/html"}, allow_redirects=False
    )
    assert page.status == 302
    assert page.headers["Location"] == "/login?next=/apps/shop"


async def test_revoking_all_tokens_ends_console_sessions(client: Client, users: Users) -> None:
    session = session_of(await console_login(client, "alice"))
    reply = await client.post("/v2/auth/logout?all=true", headers=users.headers("alice"))
    assert reply.status == 204
    assert (await client.get("/v2/apps", headers=session)).status == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example"},
        {},  # neither: not a browser page of ours
    ],
)
async def test_csrf_is_refused(client: Client, users: Users, headers: dict[str, str]) -> None:
    session = session_of(await console_login(client, "alice"))
    for method, path, body in [
        ("POST", "/v2/apps", {"id": "csrf"}),
        ("POST", "/v2/apps/shop/perms", {"username": "eve"}),
        ("DELETE", "/v2/apps/shop", None),
        ("POST", "/console/logout", None),
    ]:
        reply = await client.request(method, path, json=body, headers={**session, **headers})
        assert reply.status == 403, (method, path, await reply.text())
        assert "refused" in (await reply.json())["detail"]
    assert (await client.get("/v2/apps/csrf", headers=users.headers("alice"))).status == 404
    perms = await client.get("/v2/apps/shop/perms", headers=users.headers("alice"))
    assert (await perms.json())["users"] == ["bob"]
    # The same calls from the console's own origin work.
    reply = await client.post(
        "/v2/apps", json={"id": "csrf"}, headers={**session, "Sec-Fetch-Site": "same-origin"}
    )
    assert reply.status == 201
    reply = await client.delete("/v2/apps/csrf", headers={**session, **origin(client)})
    assert reply.status == 204


async def test_login_from_another_site_is_refused(client: Client, users: Users) -> None:
    reply = await client.post(
        "/console/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert reply.status == 403
    assert "Set-Cookie" not in reply.headers


async def test_a_cross_site_websocket_is_refused(client: Client, users: Users) -> None:
    session = session_of(await console_login(client, "alice"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(
            "/v2/apps/shop/logs", headers={**session, "Origin": "https://evil.example"}
        )
    assert refused.value.status == 403


async def test_another_users_app_is_unreachable_by_page_socket_and_api(
    client: Client, users: Users
) -> None:
    session = session_of(await console_login(client, "eve"))
    same = {**session, **origin(client)}
    for page in PAGES[1:]:
        reply = await client.get(page, headers={**same, "Accept": "text/html"})
        assert reply.status == 404, page
        assert "shop" not in await reply.text()
    for path in ("/v2/apps/shop", "/v2/apps/shop/logs", "/v2/apps/shop/logs/rates"):
        assert (await client.get(path, headers=same)).status == 404, path
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v2/apps/shop/logs", headers=same)
    assert refused.value.status == 404
    # bob collaborates on shop: the page and the socket are his.
    bob = {**session_of(await console_login(client, "bob")), **origin(client)}
    assert (await client.get("/apps/shop/search", headers=bob)).status == 200
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=bob)
    await ws.send_str(json.dumps({"lines": 5, "format": "json"}))
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.CLOSE)
    await ws.close()


async def test_pages_need_a_session_and_assets_do_not(client: Client, users: Users) -> None:
    for page in PAGES:
        reply = await client.get(page, headers={"Accept": "text/html"}, allow_redirects=False)
        assert reply.status == 302, page
        assert reply.headers["Location"].startswith("/login?next=")
    # An API client (no text/html) gets the API's 401, never a redirect.
    assert (await client.get("/v2/apps", allow_redirects=False)).status == 401
    login = await client.get("/login")
    assert login.status == 200
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    for name in ("console.js", "console.css", "index.html"):
        reply = await client.get(f"/static/{name}")
        assert reply.status == 200, name
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_no_secret_in_any_page_or_asset(client: Client, users: Users, logger: Logger) -> None:
    drain = "https://drainuser:drain-s3cret@127.0.0.1:9/logs?token=query-s3cret"
    reply = await client.post(
        "/v2/apps/shop/drains", json={"url": drain}, headers=users.headers("alice")
    )
    assert reply.status == 201, await reply.text()
    cookie = await console_login(client, "alice")
    session = {**session_of(cookie), **origin(client)}
    secrets = [
        "drain-s3cret",
        "query-s3cret",
        cookie["wf_session"].value,
        *users.tokens.values(),
    ]
    bodies = []
    for page in (*PAGES, "/apps/shop/drains", "/apps/shop/collaborators", "/login"):
        bodies.append(await (await client.get(page, headers=session)).text())
    for asset in STATIC.iterdir():
        bodies.append(await (await client.get(f"/static/{asset.name}")).text())
    # What the pages read from the API, too.
    for path in ("/v2/apps/shop/drains", "/v2/apps", "/v2/auth/whoami", "/v2/apps/shop/perms"):
        bodies.append(await (await client.get(path, headers=session)).text())
    for body in bodies:
        for secret in secrets:
            assert secret not in body


async def test_the_socket_resumes_after_the_last_seq(
    client: Client, users: Users, logger: Logger
) -> None:
    """JSON frames carry `seq`; a new socket with `after_seq` sends only later lines."""
    for message in ("one", "two", "three"):
        await logger.app[COMPONENTS].ingestor.write_platform_line("shop", "web", message)
    session = {**session_of(await console_login(client, "alice")), **origin(client)}
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=session)
    await ws.send_str(json.dumps({"lines": 10, "format": "json"}))
    frames = [json.loads(message.data) async for message in ws]
    web = [frame for frame in frames if frame["proc"] == "web"]
    assert [frame["message"] for frame in web] == ["one", "two", "three"]
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=session)
    await ws.send_str(json.dumps({"lines": 10, "format": "json", "after_seq": web[0]["seq"]}))
    resumed = [json.loads(message.data) async for message in ws]
    assert [frame["message"] for frame in resumed] == ["two", "three"]
    ws = await client.ws_connect("/v2/apps/shop/logs", headers=session)
    await ws.send_str(json.dumps({"after_seq": "1"}))
    closed = await ws.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 4400
