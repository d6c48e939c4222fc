"""Apps as namespaces: the real `kubernetes` client against the API stand-in
(tests/standins/kubernetes_api.py), directly and through the controller
configured by a kubeconfig file, as it would be against a real cluster."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from kubernetes import client as k8s

from controller.errors import Conflict, SchedulerError
from controller.scheduler.base import HERITAGE_LABEL, MANAGED_BY, MANAGED_BY_LABEL
from controller.scheduler.kubernetes import KubernetesScheduler, load_api_client
from controller.settings import SchedulerKind
from tests.controller.conftest import MakeClient, Users
from tests.standins.kubernetes_api import KubernetesStandIn
from tests.support.services import free_port


@pytest.fixture
async def standin() -> AsyncIterator[tuple[KubernetesStandIn, str]]:
    api = KubernetesStandIn(terminating_seconds=0.4)
    server = TestServer(api.app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield api, str(server.make_url("")).rstrip("/")
    await server.close()


def scheduler_for(url: str, delete_timeout: float = 5.0) -> KubernetesScheduler:
    api_client = k8s.ApiClient(k8s.Configuration(host=url))
    return KubernetesScheduler(api_client, delete_timeout, request_timeout=5.0)


async def test_create_labels_the_namespace_and_is_idempotent(
    standin: tuple[KubernetesStandIn, str],
) -> None:
    api, url = standin
    scheduler = scheduler_for(url)
    await scheduler.create_app("shop")
    labels = api.namespaces["shop"]["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == MANAGED_BY
    assert labels[HERITAGE_LABEL] == "drycc"
    await scheduler.create_app("shop")  # ours already: a retry succeeds
    assert api.requests.count(("POST", "/api/v1/namespaces")) == 2
    await scheduler.close()


async def test_a_foreign_namespace_is_refused(standin: tuple[KubernetesStandIn, str]) -> None:
    api, url = standin
    api.add_foreign("billing", {"team": "payments"})
    scheduler = scheduler_for(url)
    with pytest.raises(Conflict, match="not managed by this platform"):
        await scheduler.create_app("billing")
    assert api.namespaces["billing"]["metadata"]["labels"]["team"] == "payments"
    await scheduler.close()


async def test_destroy_waits_for_terminating_to_end(standin: tuple[KubernetesStandIn, str]) -> None:
    api, url = standin
    scheduler = scheduler_for(url)
    await scheduler.create_app("shop")
    await scheduler.destroy_app("shop")
    assert "shop" not in api.namespaces
    reads = api.requests.count(("GET", "/api/v1/namespaces/shop"))
    assert reads >= 2  # at least one read saw it Terminating, the last one a 404
    await scheduler.destroy_app("shop")  # already gone: nothing to do
    await scheduler.close()


async def test_destroy_is_bounded(standin: tuple[KubernetesStandIn, str]) -> None:
    api, url = standin
    api.terminating_seconds = 60
    scheduler = scheduler_for(url, delete_timeout=0.5)
    await scheduler.create_app("shop")
    with pytest.raises(SchedulerError, match=r"still terminating after 0\.5s"):
        await scheduler.destroy_app("shop")
    await scheduler.close()


async def test_unreachable_api_is_a_scheduler_error() -> None:
    scheduler = scheduler_for(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SchedulerError, match="cannot reach the Kubernetes API"):
        await scheduler.create_app("shop")
    await scheduler.close()


def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="cannot load the Kubernetes configuration"):
        load_api_client(tmp_path / "missing", in_cluster=False)


def write_kubeconfig(path: Path, server: str) -> Path:
    # JSON is YAML: the kubeconfig format a cluster's admin would hand out.
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


async def test_controller_apps_are_namespaces(
    standin: tuple[KubernetesStandIn, str], make_client: MakeClient, tmp_path: Path
) -> None:
    api, url = standin
    api.add_foreign("billing")
    client = await make_client(
        scheduler=SchedulerKind.KUBERNETES,
        kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", url),
        namespace_delete_timeout=5.0,
    )
    users = Users(client)
    headers = await users.add("admin")
    reply = await client.post("/v2/apps", json={"id": "shop"}, headers=headers)
    assert reply.status == 201
    assert api.namespaces["shop"]["metadata"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
    refused = await client.post("/v2/apps", json={"id": "billing"}, headers=headers)
    assert refused.status == 409
    assert "not managed by this platform" in (await refused.json())["detail"]
    assert (await client.get("/v2/apps/billing", headers=headers)).status == 404
    assert (await client.delete("/v2/apps/shop", headers=headers)).status == 204
    assert "shop" not in api.namespaces
    assert (await client.get("/v2/apps/shop", headers=headers)).status == 404


async def test_controller_keeps_the_app_when_the_namespace_will_not_go(
    standin: tuple[KubernetesStandIn, str], make_client: MakeClient, tmp_path: Path
) -> None:
    api, url = standin
    api.terminating_seconds = 60
    client = await make_client(
        scheduler=SchedulerKind.KUBERNETES,
        kubeconfig=write_kubeconfig(tmp_path / "kubeconfig", url),
        namespace_delete_timeout=0.3,
    )
    headers = await Users(client).add("admin")
    assert (await client.post("/v2/apps", json={"id": "shop"}, headers=headers)).status == 201
    reply = await client.delete("/v2/apps/shop", headers=headers)
    assert reply.status == 503
    assert "still terminating" in (await reply.json())["detail"]
    assert (await client.get("/v2/apps/shop", headers=headers)).status == 200
