"""The watcher: three resource streams, the state machine, lines into the logger.

Threads list and watch managed namespaces, and pods and events in every
namespace (the state machine keeps those of managed apps); each message
goes through a bounded queue (a full queue holds the watch thread, so the
API server's stream backs up instead of memory) to one task on the loop,
which runs the state machine and writes its lines through the ingest path
as the platform's own source, `shop[kubernetes]: ...`.

One watcher per logger cluster: run it in one `wf serve` only (see
docs/collectors.md, "Kubernetes watcher").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from kubernetes import client, config
from prometheus_client import CollectorRegistry

from collectors.kubernetes.lifecycle import SOURCE, Changes, LifecycleMachine
from collectors.kubernetes.metrics import WatcherMetrics
from collectors.kubernetes.settings import WatcherSettings
from collectors.kubernetes.stream import Changed, Listed, Message, ResourceStream
from controller.scheduler.base import MANAGED_BY, MANAGED_BY_LABEL
from logger.components import COMPONENTS
from logger.errors import SettingsError
from logger.ingest import Ingestor

log = logging.getLogger("collectors.kubernetes")
QUEUE_MESSAGES = 1000
# How long closing waits for a stream thread to notice.
STOP_TIMEOUT = 5.0


def load_api_client(settings: WatcherSettings) -> client.ApiClient:
    """In a pod, the service account; else the kubeconfig (KUBECONFIG or ~/.kube/config)."""
    try:
        if settings.in_cluster:
            config.load_incluster_config()
            return client.ApiClient()
        kubeconfig = str(settings.kubeconfig) if settings.kubeconfig is not None else None
        return config.new_client_from_config(config_file=kubeconfig)
    except (config.ConfigException, OSError) as error:
        raise SettingsError(
            f"the Kubernetes watcher cannot load the Kubernetes configuration: {error}"
        ) from None


class KubernetesWatcher:
    def __init__(
        self,
        settings: WatcherSettings,
        api_client: client.ApiClient,
        ingestor: Ingestor,
        registry: CollectorRegistry,
        max_apps: int,
        started_at: dt.datetime | None = None,
    ) -> None:
        self._api_client = api_client
        self._ingestor = ingestor
        self.machine = LifecycleMachine(started_at or dt.datetime.now(dt.UTC))
        self.metrics = WatcherMetrics(registry, max_apps, self.machine.pod_states)
        core = client.CoreV1Api(api_client)
        self._queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_MESSAGES)
        self.streams = [
            ResourceStream(
                "namespaces",
                core.list_namespace,
                settings,
                self._put,
                self.metrics,
                label_selector=f"{MANAGED_BY_LABEL}={MANAGED_BY}",
            ),
            ResourceStream(
                "pods", core.list_pod_for_all_namespaces, settings, self._put, self.metrics
            ),
            ResourceStream(
                "events", core.list_event_for_all_namespaces, settings, self._put, self.metrics
            ),
        ]
        self._threads: list[threading.Thread] = []
        self._consumer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = threading.Event()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._consumer = asyncio.create_task(self._consume(), name="kubernetes-watcher")
        for stream in self.streams:
            thread = threading.Thread(
                target=stream.run, name=f"kubernetes-watch-{stream.resource}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("watching pods and events of managed namespaces")

    async def close(self) -> None:
        self._closing.set()
        for stream in self.streams:
            stream.stop()
        if self._consumer is not None:
            self._consumer.cancel()
        for thread in self._threads:
            await asyncio.to_thread(thread.join, STOP_TIMEOUT)
        await asyncio.to_thread(self._api_client.close)

    def _put(self, message: Message) -> None:
        """From a stream's thread: waits while the queue is full."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._queue.put(message), loop)
        while True:
            try:
                future.result(timeout=0.5)
                return
            except TimeoutError:
                if self._closing.is_set():
                    future.cancel()
                    return
            except Exception:  # the loop is shutting down
                return

    async def _consume(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                changes = self._apply(message)
            except Exception:  # a bug must not stop the watcher: count, say, go on
                log.exception("the Kubernetes watcher could not use a %s object", message.resource)
                changes = Changes(skipped=["internal_error"])
            self.metrics.apply(changes)
            for line in changes.lines:
                try:
                    await self._ingestor.write_platform_line(line.app, SOURCE, line.message)
                except Exception as error:
                    log.warning("cannot store a lifecycle line of %s: %s", line.app, error)
                    self.metrics.skipped.labels(reason="store_failed").inc()

    def _apply(self, message: Message) -> Changes:
        machine = self.machine
        if isinstance(message, Listed):
            listed = {
                "namespaces": machine.namespaces_listed,
                "pods": machine.pods_listed,
                "events": machine.events_listed,
            }
            return listed[message.resource](message.items)
        assert isinstance(message, Changed)
        changed = {
            "namespaces": machine.namespace_changed,
            "pods": machine.pod_changed,
            "events": machine.event_changed,
        }
        return changed[message.resource](message.kind, message.obj)


def watcher_context(
    settings: WatcherSettings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context for the logger's app: the watcher runs while it does."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        components = app[COMPONENTS]
        api_client = await asyncio.to_thread(load_api_client, settings)
        watcher = KubernetesWatcher(
            settings,
            api_client,
            components.ingestor,
            components.telemetry.registry,
            components.settings.metrics_max_apps,
        )
        await watcher.start()
        app[WATCHER] = watcher
        yield
        await watcher.close()

    return context


WATCHER = web.AppKey("kubernetes_watcher", KubernetesWatcher)
