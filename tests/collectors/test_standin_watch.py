"""The stand-in's pods, events and watches against the recorded API shapes
(tests/fixtures/kubernetes/) and the documented watch protocol, read with
plain HTTP and with the real `kubernetes` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from kubernetes import client as k8s
from kubernetes import watch

from tests.collectors.pods import fixture
from tests.standins.kubernetes_api import KubernetesStandIn

StandIn = tuple[KubernetesStandIn, str]


def shape(value: Any) -> Any:
    """The keys of an object, recursively (first item of lists), not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


async def watch_lines(url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        reply = await http.get("/api/v1/pods", params={"watch": "1", **params})
        assert reply.status_code == 200
        assert reply.headers["transfer-encoding"] == "chunked"
        return [json.loads(line) for line in reply.text.splitlines()]


async def test_pods_and_events_have_the_recorded_shape(standin: StandIn) -> None:
    api, url = standin
    pod, event = fixture("pod.json"), fixture("event.json")
    api.pods.put(fixture("pod.json"))
    api.events.put(fixture("event.json"))
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        pods = (await http.get("/api/v1/namespaces/shop/pods")).json()
        events = (await http.get("/api/v1/events")).json()
    assert (pods["kind"], events["kind"]) == ("PodList", "EventList")
    # List items come without kind and apiVersion, as the API server sends them.
    listed = {key: value for key, value in pod.items() if key not in ("kind", "apiVersion")}
    assert shape(pods["items"][0]) == shape(listed)
    listed_event = {k: v for k, v in event.items() if k not in ("kind", "apiVersion")}
    assert shape(events["items"][0]) == shape(listed_event)
    [added] = await watch_lines(url, {"timeoutSeconds": "1"})
    assert added["type"] == "ADDED"
    assert shape(added["object"]) == shape(pod)


async def test_watch_resumes_after_a_version_bookmarks_and_expires(standin: StandIn) -> None:
    api, url = standin
    first = api.pods.put(fixture("pod.json"))
    version = first["metadata"]["resourceVersion"]
    pod = fixture("pod.json")
    pod["status"]["phase"] = "Failed"
    api.pods.put(pod)
    api.pods.delete("shop", pod["metadata"]["name"])
    events = await watch_lines(url, {"resourceVersion": version, "timeoutSeconds": "1"})
    assert [event["type"] for event in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["status"]["phase"] == "Failed"
    versions = [int(event["object"]["metadata"]["resourceVersion"]) for event in events]
    assert versions == sorted(versions)
    assert versions[0] > int(version)

    async def bookmark_soon() -> None:
        await asyncio.sleep(0.3)
        api.pods.bookmark()

    task = asyncio.create_task(bookmark_soon())
    [mark] = await watch_lines(
        url, {"resourceVersion": str(versions[-1]), "allowWatchBookmarks": "true",
              "timeoutSeconds": "1"}
    )  # fmt: skip
    await task
    assert mark == {
        "type": "BOOKMARK",
        "object": {"kind": "Pod", "apiVersion": "v1",
                   "metadata": {"resourceVersion": str(api.versions.value)}},
    }  # fmt: skip
    api.pods.compact()
    [gone] = await watch_lines(url, {"resourceVersion": version, "timeoutSeconds": "1"})
    assert gone["type"] == "ERROR"
    assert gone["object"]["kind"] == "Status"
    assert (gone["object"]["code"], gone["object"]["reason"]) == (410, "Expired")


async def test_the_real_client_reads_pods_events_and_watches(standin: StandIn) -> None:
    api, url = standin
    api.pods.put(fixture("pod.json"))
    api.events.put(fixture("event.json"))
    core = k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=url)))
    pods = await asyncio.to_thread(core.list_pod_for_all_namespaces)
    status = pods.items[0].status.container_statuses[0]
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert pods.items[0].metadata.labels["type"] == "web"
    events = await asyncio.to_thread(core.list_namespaced_event, "shop")
    assert (events.items[0].reason, events.items[0].count) == ("Unhealthy", 5)

    def watched() -> list[tuple[str, str]]:
        stream = watch.Watch().stream(core.list_namespaced_pod, "shop", timeout_seconds=1)
        return [(event["type"], event["object"].metadata.name) for event in stream]

    assert await asyncio.to_thread(watched) == [("ADDED", "shop-web-6c9f8d7b5d-x2x9z")]
    namespaces = await asyncio.to_thread(
        core.list_namespace, label_selector="app.kubernetes.io/managed-by=workflow-observability"
    )
    assert [namespace.metadata.name for namespace in namespaces.items] == ["shop"]
