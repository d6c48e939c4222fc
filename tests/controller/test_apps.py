"""Apps: create (named or generated), validation, listing pages, info,
and destroy removing logs and drains from the logger before the record."""

from __future__ import annotations

import re

import pytest

from controller.api.names import generate_name
from logger.app_names import DNS_LABEL
from tests.controller.conftest import Client, Logger, Users
from tests.support.services import free_port


@pytest.mark.parametrize(
    "app_id",
    ["Shop", "-shop", "shop-", "sh_op", "shop.web", "a" * 64, "", "ünï", "kube-system", "default"],
)
async def test_invalid_ids_are_400(client: Client, users: Users, app_id: str) -> None:
    reply = await client.post("/v2/apps", json={"id": app_id}, headers=users.headers("alice"))
    assert reply.status == 400
    detail = (await reply.json())["detail"]
    assert "DNS-1123" in detail or "reserved" in detail or "must not be empty" in detail


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": 5}, "id must be a string"),
        ({"id": ["shop"]}, "id must be a string"),
        ({"id": "x" * 300}, "id must be at most 200 characters"),
    ],
)
async def test_wrong_types_are_400(
    client: Client, users: Users, body: dict[str, object], message: str
) -> None:
    reply = await client.post("/v2/apps", json=body, headers=users.headers("alice"))
    assert (reply.status, (await reply.json())["detail"]) == (400, message)


async def test_oversized_and_non_json_bodies_are_400(client: Client, users: Users) -> None:
    headers = users.headers("alice")
    big = await client.post("/v2/apps", data=b'{"id": "' + b"a" * 5000 + b'"}', headers=headers)
    assert big.status == 400
    assert (await big.json())["detail"] == "the request body is larger than 4096 bytes"
    for raw in (b"{", b"[]", b"null"):
        reply = await client.post("/v2/apps", data=raw, headers=headers)
        assert reply.status == 400, raw
        assert (await reply.json())["detail"] == "the request body must be a JSON object"


async def test_invalid_id_in_paths_is_400_and_unknown_is_404(client: Client, users: Users) -> None:
    headers = users.headers("admin")
    reply = await client.get("/v2/apps/Not_Valid", headers=headers)
    assert reply.status == 400
    reply = await client.get("/v2/apps/nothing-here", headers=headers)
    assert (reply.status, (await reply.json())["detail"]) == (404, "app nothing-here not found")
    reply = await client.get("/v2/apps/shop/logs?log_lines=lots", headers=headers)
    assert (reply.status, (await reply.json())["detail"]) == (
        400,
        "log_lines must be a whole number",
    )
    reply = await client.get("/v2/nope", headers=headers)
    assert reply.status == 404


async def test_create_info_and_duplicate(client: Client, users: Users, logger: Logger) -> None:
    headers = users.headers("alice")
    reply = await client.post("/v2/apps", json={"id": "blog"}, headers=headers)
    assert reply.status == 201
    app = await reply.json()
    assert set(app) == {"id", "uuid", "owner", "created", "updated"}
    assert (app["id"], app["owner"]) == ("blog", "alice")
    info = await client.get("/v2/apps/blog", headers=headers)
    assert await info.json() == app
    again = await client.post("/v2/apps", json={"id": "blog"}, headers=users.headers("eve"))
    assert (again.status, (await again.json())["detail"]) == (
        409,
        "an app named blog already exists",
    )
    # Written over the forward protocol to the logger, as `blog[controller]`.
    assert await logger.lines("blog") == ["blog[controller]: app created by alice"]


async def test_generated_names(client: Client, users: Users) -> None:
    reply = await client.post("/v2/apps", headers=users.headers("alice"))
    assert reply.status == 201
    name = (await reply.json())["id"]
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{4}", name)
    for _ in range(50):
        assert DNS_LABEL.fullmatch(generate_name())


async def test_pagination(client: Client, users: Users) -> None:
    headers = users.headers("admin")
    for index in range(5):
        await client.post("/v2/apps", json={"id": f"app-{index}"}, headers=headers)
    first = await (await client.get("/v2/apps?limit=2", headers=headers)).json()
    assert first["count"] == 6
    assert [app["id"] for app in first["results"]] == ["app-0", "app-1"]
    assert first["previous"] is None
    assert first["next"].endswith("/v2/apps?limit=2&offset=2")
    last = await (await client.get("/v2/apps?limit=2&offset=4", headers=headers)).json()
    assert [app["id"] for app in last["results"]] == ["app-4", "shop"]
    assert last["next"] is None
    assert last["previous"].endswith("limit=2&offset=2")
    for query in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
        assert (await client.get(f"/v2/apps?{query}", headers=headers)).status == 400, query


async def test_destroy_purges_logs_and_drains_then_the_record(
    client: Client, users: Users, logger: Logger
) -> None:
    headers = users.headers("alice")
    drain = await client.post(
        "/v2/apps/shop/drains", json={"url": f"syslog://127.0.0.1:{free_port()}"}, headers=headers
    )
    assert drain.status == 201
    logger_drains = await client.session.get(f"{logger.url}/drains/shop")
    assert len((await logger_drains.json())["drains"]) == 1
    assert await logger.lines("shop") != []
    reply = await client.delete("/v2/apps/shop", headers=headers)
    assert reply.status == 204
    assert await logger.lines("shop") == []
    logger_drains = await client.session.get(f"{logger.url}/drains/shop")
    assert (await logger_drains.json())["drains"] == []
    assert (await client.get("/v2/apps/shop", headers=headers)).status == 404
    # The name is free again, with no collaborators left over.
    assert (await client.post("/v2/apps", json={"id": "shop"}, headers=headers)).status == 201
    perms = await client.get("/v2/apps/shop/perms", headers=headers)
    assert await perms.json() == {"users": []}


async def test_destroy_keeps_the_record_when_the_logger_is_down(
    client: Client, users: Users, logger: Logger
) -> None:
    await logger.server.close()
    reply = await client.delete("/v2/apps/shop", headers=users.headers("alice"))
    assert reply.status == 503
    assert (await reply.json())["detail"].startswith("cannot reach the logger")
    assert (await client.get("/v2/apps/shop", headers=users.headers("alice"))).status == 200
