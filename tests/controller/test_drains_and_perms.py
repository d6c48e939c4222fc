"""Drains through the controller (stored, pushed to the logger, reconciled
at start, never shown with credentials) and collaborators."""

from __future__ import annotations

import logging
import uuid

import pytest

from controller.api.drains import origin_of
from logger.drains.api import DRAINS
from tests.controller.conftest import Client, Logger, MakeClient, Users
from tests.support.services import free_port


def secret_url(port: int) -> str:
    return f"https://drainuser:s3cr3t-pass@127.0.0.1:{port}/ingest?token=t0k3n-value&format=ndjson"


async def test_add_list_remove_with_credentials_redacted(
    client: Client, users: Users, logger: Logger, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at INFO (what `wf serve` logs), our own loggers at DEBUG too;
    # aiosqlite's DEBUG echoes statement parameters, by design.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="controller")
    caplog.set_level(logging.DEBUG, logger="logger")
    headers = users.headers("bob")  # a collaborator may manage drains
    port = free_port()
    reply = await client.post(
        "/v2/apps/shop/drains", json={"url": secret_url(port)}, headers=headers
    )
    assert reply.status == 201, await reply.text()
    drain = await reply.json()
    shown = await client.get("/v2/apps/shop/drains", headers=headers)
    listing = await shown.json()
    assert listing["count"] == 1
    assert listing["results"][0]["id"] == drain["id"]
    assert listing["results"][0]["state"] is not None  # the logger's view, merged
    for text in (await reply.text(), await shown.text(), caplog.text):
        assert "s3cr3t-pass" not in text
        assert "t0k3n-value" not in text
    assert drain["url"].startswith("https://***@127.0.0.1:")
    # The logger holds the whole URL; the app's log says who added what, redacted.
    held = logger.app[DRAINS].list("shop")
    assert [view.id for view in held] != [drain["id"]]  # the logger has its own ids
    assert len(held) == 1
    platform = [line for line in await logger.lines("shop") if "drain" in line]
    assert platform == [f"shop[controller]: bob added a drain to {drain['url']}"]

    removed = await client.delete(f"/v2/apps/shop/drains/{drain['id']}", headers=headers)
    assert removed.status == 204
    assert logger.app[DRAINS].list("shop") == []
    again = await client.delete(f"/v2/apps/shop/drains/{drain['id']}", headers=headers)
    assert again.status == 404


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"url": "ftp://example.com/x"}, 400, ""),
        ({"url": 42}, 400, "url must be a string"),
        ({}, 400, "url is required"),
        ({"url": "https://" + "a" * 3000}, 400, "url must be at most 2048 characters"),
    ],
)
async def test_bad_drains_are_400_and_not_stored(
    client: Client, users: Users, body: dict[str, object], status: int, fragment: str
) -> None:
    headers = users.headers("alice")
    reply = await client.post("/v2/apps/shop/drains", json=body, headers=headers)
    assert reply.status == status
    assert fragment in (await reply.json())["detail"]
    listing = await (await client.get("/v2/apps/shop/drains", headers=headers)).json()
    assert listing == {"count": 0, "results": []}


async def test_reconcile_at_start_makes_the_logger_agree(
    client: Client, users: Users, logger: Logger, make_client: MakeClient
) -> None:
    headers = users.headers("alice")
    kept_url = f"syslog://127.0.0.1:{free_port()}"
    lost_url = f"syslog://127.0.0.1:{free_port()}"
    for url in (kept_url, lost_url):
        reply = await client.post("/v2/apps/shop/drains", json={"url": url}, headers=headers)
        assert reply.status == 201
    registry = logger.app[DRAINS]
    # The logger loses one drain, still holds one this controller made and
    # no longer stores, and holds one someone else added to it directly.
    lost = next(view for view in registry.list("shop") if view.url == lost_url)
    assert await registry.remove("shop", lost.id)
    orphan = await registry.add(
        "shop", f"syslog://127.0.0.1:{free_port()}", origin_of(str(uuid.uuid4()))
    )
    others_url = f"syslog://127.0.0.1:{free_port()}"
    others = await registry.add("shop", others_url)

    await make_client()  # a controller starting: reconciles before this returns

    urls = sorted(view.url for view in registry.list("shop"))
    assert urls == sorted([kept_url, lost_url, others_url])
    assert registry.get("shop", orphan.id) is None
    assert registry.get("shop", others.id) is not None
    # The re-pushed drain is the controller's again: shown with its state.
    listing = await (await client.get("/v2/apps/shop/drains", headers=headers)).json()
    assert sorted(drain["url"] for drain in listing["results"]) == sorted([kept_url, lost_url])
    assert all(drain["state"] is not None for drain in listing["results"])


async def test_perms_add_list_remove_and_errors(client: Client, users: Users) -> None:
    alice = users.headers("alice")
    listing = await client.get("/v2/apps/shop/perms", headers=users.headers("bob"))
    assert await listing.json() == {"users": ["bob"]}
    cases = [
        ({"username": "nobody"}, 400, "no user named nobody"),
        ({"username": "alice"}, 400, "alice owns shop already"),
        ({"username": "bob"}, 409, "bob is already a collaborator on shop"),
        ({"username": 3}, 400, "username must be a string"),
    ]
    for body, status, detail in cases:
        reply = await client.post("/v2/apps/shop/perms", json=body, headers=alice)
        assert (reply.status, (await reply.json())["detail"]) == (status, detail), body
    reply = await client.delete("/v2/apps/shop/perms/eve", headers=alice)
    assert (reply.status, (await reply.json())["detail"]) == (
        404,
        "eve is not a collaborator on shop",
    )
    assert (await client.delete("/v2/apps/shop/perms/bob", headers=alice)).status == 204
    assert (await client.get("/v2/apps/shop", headers=users.headers("bob"))).status == 404


async def test_perms_find_users_whatever_the_case(client: Client, users: Users) -> None:
    alice = users.headers("alice")
    # Usernames are unique whatever their case, so a collaborator is too.
    assert (await client.delete("/v2/apps/shop/perms/BOB", headers=alice)).status == 204
    assert (await client.get("/v2/apps/shop", headers=users.headers("bob"))).status == 404
    reply = await client.post("/v2/apps/shop/perms", json={"username": "Bob"}, headers=alice)
    assert (reply.status, await reply.json()) == (201, {"username": "bob"})
    assert (await client.get("/v2/apps/shop", headers=users.headers("bob"))).status == 200
