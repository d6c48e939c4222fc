"""App state metrics: closed label values, the app bound, counters from zero."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from collectors.kubernetes.lifecycle import Changes, ContainerState, PodState
from collectors.kubernetes.metrics import WatcherMetrics
from logger.app_metrics import MAX_PROCS_PER_APP


def pod(app: str, proc: str, phase: str = "Running", **container: str | None) -> PodState:
    state = ContainerState(proc, container.get("waiting"), container.get("terminated"))
    return PodState(app, proc, phase, (state,))


def test_apps_past_the_bound_are_counted_under_other() -> None:
    registry = CollectorRegistry()
    pods = [
        pod("shop", "web", waiting="CrashLoopBackOff", terminated="OOMKilled"),
        pod("shop", "web"),
        pod("cart", "worker", "Pending", waiting="ErrImagePull"),
        pod("blog", "web"),
        pod("wiki", "web", "Failed", terminated="Error"),
    ]
    metrics = WatcherMetrics(registry, 2, lambda: pods)
    value = registry.get_sample_value
    assert value("kubernetes_app_pods", {"app": "blog", "proc": "web", "phase": "Running"}) is None
    # The first two apps seen (at that scrape) keep their label from then on.
    metrics.apply(Changes(oom_kills=[("shop", "web"), ("wiki", "web")]))
    assert value("kubernetes_app_pods", {"app": "shop", "proc": "web", "phase": "Running"}) == 2
    assert value("kubernetes_app_pods", {"app": "cart", "proc": "worker", "phase": "Pending"}) == 1
    other = {"app": "_other", "proc": "_other"}
    assert value("kubernetes_app_pods", {**other, "phase": "Running"}) == 1
    assert value("kubernetes_app_pods", {**other, "phase": "Failed"}) == 1
    assert value("kubernetes_app_oom_kills_total", {"app": "shop", "proc": "web"}) == 1
    assert value("kubernetes_app_oom_kills_total", other) == 1
    assert value("kubernetes_app_waiting_containers",
                 {"app": "shop", "proc": "web", "reason": "CrashLoopBackOff"}) == 1  # fmt: skip
    assert value("kubernetes_app_last_terminated_containers",
                 {**other, "reason": "Error"}) == 1  # fmt: skip
    apps = {
        sample.labels["app"]
        for family in registry.collect()
        if family.name.startswith("kubernetes_app")
        for sample in family.samples
    }
    assert apps == {"shop", "cart", "_other"}


def test_process_types_past_the_bound_are_counted_under_other() -> None:
    registry = CollectorRegistry()
    pods = [pod("shop", f"p{number}") for number in range(MAX_PROCS_PER_APP + 5)]
    WatcherMetrics(registry, 10, lambda: pods)
    value = registry.get_sample_value
    assert value("kubernetes_app_pods", {"app": "shop", "proc": "_other", "phase": "Running"}) == 5


def test_a_new_process_type_starts_its_counters_at_zero() -> None:
    registry = CollectorRegistry()
    metrics = WatcherMetrics(registry, 10, list)
    metrics.apply(Changes(processes=[("shop", "web")]))
    value = registry.get_sample_value
    assert value("kubernetes_app_oom_kills_total", {"app": "shop", "proc": "web"}) == 0
    assert value("kubernetes_app_container_restarts_total", {"app": "shop", "proc": "web"}) == 0
    metrics.apply(Changes(restarts=[("shop", "web", 3)], skipped=["unknown_pod"]))
    assert value("kubernetes_app_container_restarts_total", {"app": "shop", "proc": "web"}) == 3
    assert value("kubernetes_watcher_skipped_objects_total", {"reason": "unknown_pod"}) == 1
