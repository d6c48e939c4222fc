"""The metrics of an app's current-metrics page (`GET /v2/apps/{id}/metrics`)
and which of their labels it keeps."""

from __future__ import annotations

from dataclasses import dataclass

from metrics.catalog.selectors import Role, Source


@dataclass(frozen=True)
class CurrentMetric:
    """One metric of the app's current-metrics page.

    `labels` are kept as they are; `roles` are kept under the label name
    the settings give them. Every other label (job, instance, id, image...)
    is dropped. `per_container`: only series of a real container (not the
    pod's own cgroup, `container=""`, nor the pause container `POD`).
    """

    name: str
    type: str
    help: str
    source: Source
    roles: tuple[Role, ...] = (Role.NAMESPACE, Role.POD)
    labels: tuple[str, ...] = ()
    per_container: bool = False


_CONTAINER = (Role.NAMESPACE, Role.POD, Role.CONTAINER)
_CLAIM = ("persistentvolumeclaim",)
CURRENT_METRICS = (
    CurrentMetric("container_cpu_usage_seconds_total", "counter",
                  "CPU time the container used, in seconds.",
                  Source.CADVISOR, _CONTAINER, per_container=True),
    CurrentMetric("container_memory_working_set_bytes", "gauge",
                  "Memory the container uses that cannot be reclaimed, in bytes.",
                  Source.CADVISOR, _CONTAINER, per_container=True),
    CurrentMetric("container_memory_rss", "gauge",
                  "Anonymous and swap cache memory of the container, in bytes.",
                  Source.CADVISOR, _CONTAINER, per_container=True),
    CurrentMetric("container_network_receive_bytes_total", "counter",
                  "Bytes the pod received, per interface.",
                  Source.CADVISOR, labels=("interface",)),
    CurrentMetric("container_network_transmit_bytes_total", "counter",
                  "Bytes the pod sent, per interface.",
                  Source.CADVISOR, labels=("interface",)),
    CurrentMetric("kube_pod_status_phase", "gauge",
                  "1 for the pod's current phase, 0 for the others.",
                  Source.KUBE_STATE, labels=("phase",)),
    CurrentMetric("kube_pod_container_status_restarts_total", "counter",
                  "Restarts of the container.",
                  Source.KUBE_STATE, _CONTAINER),
    CurrentMetric("kube_pod_container_resource_requests", "gauge",
                  "Resources the container requests, per resource and unit.",
                  Source.KUBE_STATE, _CONTAINER, labels=("resource", "unit")),
    CurrentMetric("kube_pod_container_resource_limits", "gauge",
                  "The container's resource limits, per resource and unit.",
                  Source.KUBE_STATE, _CONTAINER, labels=("resource", "unit")),
    CurrentMetric("kubelet_volume_stats_used_bytes", "gauge",
                  "Bytes used on the persistent volume claim.",
                  Source.KUBELET, (Role.NAMESPACE,), labels=_CLAIM),
    CurrentMetric("kubelet_volume_stats_capacity_bytes", "gauge",
                  "Capacity of the persistent volume claim, in bytes.",
                  Source.KUBELET, (Role.NAMESPACE,), labels=_CLAIM),
)  # fmt: skip
