"""Selectors the catalog builds its queries from: job and label names.

They differ between clusters (a kube-prometheus stack calls the cAdvisor job
`kubelet`, a VictoriaMetrics k8s stack `kubernetes-nodes-cadvisor`), so they
are settings, never literals in a query (kubernetes-mixin's `_config`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from logger.env import env_str
from metrics.errors import SettingsError

# Prometheus label and job names: what can go between quotes unescaped.
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JOB = re.compile(r"[A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class MetricsSettings:
    """Job and label names of the scraped series (env `WF_METRICS_*`)."""

    # The logger's own /metrics (and the controller's, when scraped).
    logger_job: str = "workflow-logger"
    # cAdvisor: container_cpu_usage_seconds_total, container_memory_*, network.
    cadvisor_job: str = "kubelet"
    # The kubelet itself: kubelet_volume_stats_*.
    kubelet_job: str = "kubelet"
    kube_state_job: str = "kube-state-metrics"
    namespace_label: str = "namespace"
    pod_label: str = "pod"
    container_label: str = "container"
    # A Drycc app's pods are `<app>-<ptype>-<replicaset hash>-<suffix>`.
    pod_pattern: str = "{app}-{ptype}-[a-z0-9]+-[a-z0-9]+"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MetricsSettings:
        values: dict[str, str] = {}
        for item in fields(cls):
            name = f"WF_METRICS_{item.name.upper()}"
            value = env_str(environ, name, getattr(cls, item.name)).strip()
            _check(name, item.name, value)
            values[item.name] = value
        return cls(**values)


def _check(variable: str, field: str, value: str) -> None:
    if field.endswith("_label") and not _LABEL_NAME.fullmatch(value):
        raise SettingsError(f"{variable} must be a Prometheus label name, got {value!r}")
    if field.endswith("_job") and not _JOB.fullmatch(value):
        raise SettingsError(
            f"{variable} must be a job name (letters, digits, _ . : / -), got {value!r}"
        )
    if field == "pod_pattern" and ("{app}" not in value or "{ptype}" not in value):
        raise SettingsError(f"{variable} must contain {{app}} and {{ptype}}, got {value!r}")
