"""App state metrics from the watcher, on the logger's registry.

Exported series (gauges are read from the state machine at scrape time):

    kubernetes_app_pods{app,proc,phase}                     pods now, by phase
    kubernetes_app_waiting_containers{app,proc,reason}      containers waiting now
    kubernetes_app_last_terminated_containers{app,proc,reason}
                                                            containers by their last
                                                            termination reason
    kubernetes_app_container_restarts_total{app,proc}       restarts seen since start
    kubernetes_app_oom_kills_total{app,proc}                OOM kills seen since start
    kubernetes_watcher_lines_total                          lifecycle lines written
    kubernetes_watcher_skipped_objects_total{reason}        objects not used
    kubernetes_watcher_relists_total{resource,reason}       full lists (start, expired, error)
    kubernetes_watcher_errors_total{resource,error_type}    failed lists and watches

Bounded: `phase` and `reason` take closed sets of values (see
`collectors.kubernetes.lifecycle`); at most `max_apps` apps (the first seen)
have their own `app` value, later ones are counted under app="_other",
proc="_other", as the per-app log metrics do (`logger.app_metrics`); each app
has at most `MAX_PROCS_PER_APP` process types.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from collectors.kubernetes.lifecycle import Changes, PodState
from logger.app_metrics import MAX_PROCS_PER_APP, OVERFLOW


class AppLabels:
    """The bounded (app, proc) label pair of an app's series."""

    def __init__(self, max_apps: int) -> None:
        self.max_apps = max_apps
        self._procs: dict[str, set[str]] = {}

    def __call__(self, app: str, proc: str) -> tuple[str, str]:
        procs = self._procs.get(app)
        if procs is None:
            if len(self._procs) >= self.max_apps:
                return OVERFLOW, OVERFLOW
            procs = self._procs[app] = set()
        if proc not in procs:
            if len(procs) >= MAX_PROCS_PER_APP:
                return app, OVERFLOW
            procs.add(proc)
        return app, proc


class WatcherMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        max_apps: int,
        pod_states: Callable[[], Iterable[PodState]],
    ) -> None:
        self.labels = AppLabels(max_apps)
        self.restarts = Counter(
            "kubernetes_app_container_restarts",
            "Container restarts the watcher saw, by app and process type.",
            ["app", "proc"],
            registry=registry,
        )
        self.oom_kills = Counter(
            "kubernetes_app_oom_kills",
            "Containers OOM-killed, as the watcher saw them, by app and process type.",
            ["app", "proc"],
            registry=registry,
        )
        self.lines = Counter(
            "kubernetes_watcher_lines",
            "Lifecycle lines written into app logs.",
            registry=registry,
        )
        self.skipped = Counter(
            "kubernetes_watcher_skipped_objects",
            "Kubernetes objects the watcher could not use, by reason.",
            ["reason"],
            registry=registry,
        )
        self.relists = Counter(
            "kubernetes_watcher_relists",
            "Full lists of a resource, by reason (start, expired, error).",
            ["resource", "reason"],
            registry=registry,
        )
        self.errors = Counter(
            "kubernetes_watcher_errors",
            "Failed lists and watches, by resource and error type.",
            ["resource", "error_type"],
            registry=registry,
        )
        registry.register(_AppStateCollector(self.labels, pod_states))

    def apply(self, changes: Changes) -> None:
        for app, proc in changes.processes:
            labels = self.labels(app, proc)
            self.restarts.labels(*labels)
            self.oom_kills.labels(*labels)
        for app, proc, count in changes.restarts:
            self.restarts.labels(*self.labels(app, proc)).inc(count)
        for app, proc in changes.oom_kills:
            self.oom_kills.labels(*self.labels(app, proc)).inc()
        if changes.lines:
            self.lines.inc(len(changes.lines))
        for reason in changes.skipped:
            self.skipped.labels(reason=reason).inc()


class _AppStateCollector(Collector):
    def __init__(self, labels: AppLabels, pod_states: Callable[[], Iterable[PodState]]) -> None:
        self._labels = labels
        self._pod_states = pod_states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pods: Tally[tuple[str, str, str]] = Tally()
        waiting: Tally[tuple[str, str, str]] = Tally()
        terminated: Tally[tuple[str, str, str]] = Tally()
        for pod in self._pod_states():
            pods[(*self._labels(pod.app, pod.process), pod.phase)] += 1
            for container in pod.containers:
                app, proc = self._labels(pod.app, container.process)
                if container.waiting is not None:
                    waiting[(app, proc, container.waiting)] += 1
                if container.last_terminated is not None:
                    terminated[(app, proc, container.last_terminated)] += 1
        yield _gauge(
            "kubernetes_app_pods", "Pods of each app now, by process type and phase.", "phase", pods
        )
        yield _gauge(
            "kubernetes_app_waiting_containers",
            "Containers waiting now, by app, process type and reason.",
            "reason",
            waiting,
        )
        yield _gauge(
            "kubernetes_app_last_terminated_containers",
            "Containers by the reason of their last termination, by app and process type.",
            "reason",
            terminated,
        )


def _gauge(
    name: str, documentation: str, label: str, values: Tally[tuple[str, str, str]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=("app", "proc", label))
    for key, value in sorted(values.items()):
        family.add_metric(key, value)
    return family
