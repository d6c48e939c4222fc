"""The watcher against the Kubernetes API stand-in, its lines read back
through the logger's logs API or store, its metrics from the registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from kubernetes import client as k8s
from prometheus_client import CollectorRegistry

from collectors.kubernetes.settings import WatcherSettings
from collectors.kubernetes.watcher import (
    WATCHER,
    KubernetesWatcher,
    load_api_client,
    watcher_context,
)
from logger.app import build_components, create_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.errors import SettingsError
from tests.collectors.conftest import stored, until, wait_for, write_kubeconfig
from tests.collectors.pods import PodScript, warning_event
from tests.standins.kubernetes_api import KubernetesStandIn

StandIn = tuple[KubernetesStandIn, str]
Client = TestClient[Any, Any]


def watcher_settings(kubeconfig: Path | None = None) -> WatcherSettings:
    return WatcherSettings(
        enabled=True,
        kubeconfig=kubeconfig,
        watch_timeout=2.0,
        request_timeout=10.0,
        backoff_initial=0.01,
        backoff_max=0.2,
    )


@pytest.fixture
async def logger(standin: StandIn, tmp_path: Path) -> AsyncIterator[Client]:
    _, url = standin
    app = create_app(LoggerSettings(), forward=False)
    settings = watcher_settings(write_kubeconfig(tmp_path / "kubeconfig", url))
    app.cleanup_ctx.append(watcher_context(settings))
    client: Client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def logs(client: Client, app: str = "shop") -> list[str]:
    reply = await client.get(f"/logs/{app}", params={"log_lines": "-1"})
    if reply.status in (204, 404):  # no lines yet
        return []
    assert reply.status == 200
    return [line.split(" ", 1)[1] for line in (await reply.text()).splitlines()]


def sample(client: Client, name: str, **labels: str) -> float | None:
    value = client.app[COMPONENTS].telemetry.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


async def script_until(
    client: Client, api: KubernetesStandIn, states: list[dict[str, Any]], count: int
) -> list[str]:
    for state in states:
        api.pods.put(state)
    return await wait_for(lambda: logs(client), count)


async def test_a_pod_history_is_told_in_the_app_logs_with_its_metrics(
    standin: StandIn, logger: Client
) -> None:
    api, _ = standin
    web = PodScript("shop", "web", "x2x9z", dt.datetime.now(dt.UTC))
    lines = await script_until(logger, api, [web.snapshot(), web.scheduled(), web.running()], 2)
    assert sample(logger, "kubernetes_app_pods", app="shop", proc="web", phase="Running") == 1
    api.events.put(warning_event(web.snapshot(), "Unhealthy", "Liveness probe failed", 1, web.now))
    await wait_for(lambda: logs(logger), 3)
    states = [web.terminated("OOMKilled", 137), web.back_off(), web.restarted()]
    states += [web.terminated("OOMKilled", 137), web.back_off()]
    lines = await script_until(logger, api, states, 7)
    assert sample(logger, "kubernetes_app_waiting_containers", app="shop", proc="web",
                  reason="CrashLoopBackOff") == 1  # fmt: skip
    assert sample(logger, "kubernetes_app_last_terminated_containers", app="shop", proc="web",
                  reason="OOMKilled") == 1  # fmt: skip
    worker = PodScript("shop", "worker", "a1b2c", web.now)
    pull = 'failed to pull and unpack image "registry.example.com/shop/web:v7": not found'
    states = [worker.scheduled(), worker.image_pull_failed("ErrImagePull", pull)]
    states.append(worker.image_pull_failed("ImagePullBackOff", f'Back-off pulling image "{pull}"'))
    await script_until(logger, api, states, 9)
    api.pods.delete("shop", web.pod["metadata"]["name"])
    lines = await wait_for(lambda: logs(logger), 10)
    assert lines == [
        "shop[kubernetes]: web.x2x9z scheduled on node-1",
        "shop[kubernetes]: web.x2x9z started",
        "shop[kubernetes]: web.x2x9z Unhealthy: Liveness probe failed",
        "shop[kubernetes]: web.x2x9z OOMKilled (exit 137), restarting in 10s",
        "shop[kubernetes]: web.x2x9z started",
        "shop[kubernetes]: web.x2x9z OOMKilled (exit 137), restarting in 20s",
        "shop[kubernetes]: web.x2x9z CrashLoopBackOff after 1 restart",
        "shop[kubernetes]: worker.a1b2c scheduled on node-1",
        f"shop[kubernetes]: worker.a1b2c image pull failed: {pull}",
        "shop[kubernetes]: web.x2x9z deleted",
    ]
    assert sample(logger, "kubernetes_app_oom_kills_total", app="shop", proc="web") == 2
    assert sample(logger, "kubernetes_app_container_restarts_total", app="shop", proc="web") == 1
    assert sample(logger, "kubernetes_app_pods", app="shop", proc="web", phase="Running") is None
    assert sample(logger, "kubernetes_app_pods", app="shop", proc="worker", phase="Pending") == 1
    assert sample(logger, "kubernetes_watcher_lines_total") == 10
    # The platform's own lines are counted in the per-app log metrics too.
    assert sample(logger, "logger_app_lines_total", app="shop", proc="kubernetes",
                  stream="none") == 10  # fmt: skip


async def test_a_dropped_watch_and_a_410_lose_and_duplicate_nothing(
    standin: StandIn, logger: Client
) -> None:
    api, _ = standin
    web = PodScript("shop", "web", "x2x9z", dt.datetime.now(dt.UTC))
    await script_until(logger, api, [web.scheduled(), web.running()], 2)
    # Dropped: the watch resumes from its resourceVersion and replays the gap.
    watches = api.pods.watch_requests
    api.pods.drop_watches()
    for state in [web.terminated("OOMKilled", 137), web.back_off(), web.restarted()]:
        api.pods.put(state)
    await wait_for(lambda: logs(logger), 4)
    assert api.pods.watch_requests > watches
    assert sample(logger, "kubernetes_watcher_relists_total", resource="pods",
                  reason="expired") is None  # fmt: skip
    # A bookmark moves the watcher's resourceVersion on without an object.
    stream = logger.app[WATCHER].streams[1]
    api.events.put(warning_event(web.snapshot(), "Unhealthy", "x", 1, web.now))  # a version
    await wait_for(lambda: logs(logger), 5)
    api.pods.bookmark()
    await until(lambda: stream.resource_version == str(api.versions.value))
    # Expired: the history is gone; a re-list tells what changed meanwhile.
    api.pods.compact()
    api.pods.drop_watches()
    api.pods.delete("shop", web.pod["metadata"]["name"])
    other = PodScript("shop", "web", "k8p2q", web.now)
    for state in [other.scheduled(), other.running()]:
        api.pods.put(state)
    await until(lambda: bool(sample(logger, "kubernetes_watcher_relists_total",
                                    resource="pods", reason="expired")))  # fmt: skip
    lines = await wait_for(lambda: logs(logger), 8)
    assert lines == [
        "shop[kubernetes]: web.x2x9z scheduled on node-1",
        "shop[kubernetes]: web.x2x9z started",
        "shop[kubernetes]: web.x2x9z OOMKilled (exit 137), restarting in 10s",
        "shop[kubernetes]: web.x2x9z started",
        "shop[kubernetes]: web.x2x9z Unhealthy: x",
        "shop[kubernetes]: web.k8p2q scheduled on node-1",
        "shop[kubernetes]: web.k8p2q started",
        "shop[kubernetes]: web.x2x9z deleted",
    ]
    assert sample(logger, "kubernetes_watcher_errors_total", resource="pods",
                  error_type="ProtocolError") is not None  # fmt: skip


async def test_a_restarted_watcher_writes_no_duplicate(standin: StandIn) -> None:
    api, url = standin
    components = build_components(LoggerSettings())
    started = dt.datetime.now(dt.UTC)
    web = PodScript("shop", "web", "x2x9z", started - dt.timedelta(seconds=30))

    def watcher(started_at: dt.datetime | None) -> KubernetesWatcher:
        api_client = k8s.ApiClient(k8s.Configuration(host=url))
        return KubernetesWatcher(
            watcher_settings(), api_client, components.ingestor, CollectorRegistry(), 100,
            started_at=started_at,
        )  # fmt: skip

    first = watcher(started - dt.timedelta(minutes=1))
    await first.start()
    await until(lambda: all(stream.resource_version for stream in first.streams))
    try:
        for state in [web.scheduled(), web.running(), web.terminated("OOMKilled", 137)]:
            api.pods.put(state)
        api.pods.put(web.back_off())
        before = await wait_for(lambda: stored(components.store, "shop"), 3)
    finally:
        await first.close()
    second = watcher(None)  # starts now, with an empty memory
    await second.start()
    try:
        await until(lambda: len(list(second.machine.pod_states())) == 1)
        web.now = dt.datetime.now(dt.UTC)
        api.pods.put(web.restarted())
        after = await wait_for(lambda: stored(components.store, "shop"), 4)
    finally:
        await second.close()
    assert after == [*before, "shop[kubernetes]: web.x2x9z started"]
    assert before == [
        "shop[kubernetes]: web.x2x9z scheduled on node-1",
        "shop[kubernetes]: web.x2x9z started",
        "shop[kubernetes]: web.x2x9z OOMKilled (exit 137), restarting in 10s",
    ]


async def test_an_unreachable_api_server_is_retried_with_backoff(tmp_path: Path) -> None:
    from tests.support.services import free_port

    components = build_components(LoggerSettings())
    api_client = k8s.ApiClient(k8s.Configuration(host=f"http://127.0.0.1:{free_port()}"))
    registry = CollectorRegistry()
    watcher = KubernetesWatcher(watcher_settings(), api_client, components.ingestor, registry, 10)
    await watcher.start()

    def errors() -> float:
        value = registry.get_sample_value(
            "kubernetes_watcher_errors_total",
            {"resource": "pods", "error_type": "MaxRetryError"},
        )
        return value or 0.0

    await until(lambda: errors() >= 3)
    await watcher.close()
    assert all(not thread.is_alive() for thread in watcher._threads)


async def test_watches_ended_at_once_are_retried_with_backoff(standin: StandIn) -> None:
    api, url = standin
    api.pods.watch_limit = 0  # every watch ends as soon as it starts
    components = build_components(LoggerSettings())
    registry = CollectorRegistry()
    api_client = k8s.ApiClient(k8s.Configuration(host=url))
    watcher = KubernetesWatcher(watcher_settings(), api_client, components.ingestor, registry, 10)
    await watcher.start()

    def early() -> float:
        labels = {"resource": "pods", "error_type": "closed_early"}
        return registry.get_sample_value("kubernetes_watcher_errors_total", labels) or 0.0

    try:
        await until(lambda: early() >= 3)
    finally:
        await watcher.close()
    # Each short watch was counted and waited for: no hot loop of requests.
    assert api.pods.watch_requests <= early() + 1


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot load the Kubernetes configuration"):
        load_api_client(watcher_settings(tmp_path / "missing"))
