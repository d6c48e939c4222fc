"""One app-name rule: the router, the logs and drains APIs of a real logger,
and the controller accept and refuse the very same names."""

from __future__ import annotations

import httpx
import pytest

from logger.app_names import is_app_name
from logger.routing import Router
from tests.controller.conftest import Client, Logger, Users
from tests.unit.test_routing import T0, event_time, pod_record

NAMES = [
    ("web-shop", True),
    ("a", True),
    ("0x1", True),
    ("9-lives", True),
    ("a" * 63, True),
    ("Shop", False),
    ("SHOP", False),
    ("-shop", False),
    ("shop-", False),
    ("sh_op", False),
    ("shop.web", False),
    ("a" * 64, False),
    ("ünï", False),
    ("kube-system", False),
    ("default", False),
]


def routed_by_tag(name: str) -> bool:
    batch = Router(16384).route(f"app.{name}.web", [(event_time(T0), pod_record("x"))])
    return name in batch.lines


def routed_by_metadata(name: str) -> tuple[bool, int]:
    """Whether a pod record of namespace `name` is stored, and how many records
    were refused for their app name."""
    record = pod_record("x", namespace=name, container="web")
    batch = Router(16384).route("kube.var.log", [(event_time(T0), record)])
    return name in batch.lines, batch.invalid_app_name


@pytest.mark.parametrize(("name", "valid"), NAMES)
async def test_every_call_site_applies_the_same_rule(
    name: str, valid: bool, logger: Logger, client: Client, users: Users
) -> None:
    assert is_app_name(name) is valid
    assert routed_by_tag(name) is valid
    assert routed_by_metadata(name) == (valid, 0 if valid else 1)
    async with httpx.AsyncClient(base_url=logger.url, timeout=5) as http:
        logs = await http.get(f"/logs/{name}")
        drain = await http.post(f"/drains/{name}", json={"url": "syslog+tcp://127.0.0.1:9"})
    assert logs.status_code == (204 if valid else 400), logs.text
    assert drain.status_code == (201 if valid else 400), drain.text
    created = await client.post("/v2/apps", json={"id": name}, headers=users.headers("eve"))
    assert created.status == (201 if valid else 400), await created.text()
    if not valid:
        # The same words everywhere: they come from logger.app_names.
        detail = (await created.json())["detail"]
        assert drain.json()["detail"] == logs.json()["detail"] == detail
