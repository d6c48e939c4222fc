"""Selectors the catalog builds its queries from: job and label names.

They differ between clusters (a kube-prometheus stack calls the cAdvisor job
`kubelet`, a VictoriaMetrics k8s stack `kubernetes-nodes-cadvisor`), so they
are settings, never literals in a query (kubernetes-mixin's `_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foundation.settings import Pattern, Setting, Text, declared, from_environ
from metrics.errors import SettingsError

# Prometheus label and job names: what can go between quotes unescaped.
_LABEL_NAME = Pattern(r"[A-Za-z_][A-Za-z0-9_]*", "a Prometheus label name")
_JOB = Pattern(r"[A-Za-z0-9_.:/-]+", "a job name (letters, digits, _ . : / -)")


def _job(variable: str, default: str, description: str) -> str:
    return declared(Setting(variable, _JOB, default, description))


def _label(variable: str, default: str, description: str) -> str:
    return declared(Setting(variable, _LABEL_NAME, default, description))


def _has_placeholders(variable: str, value: str) -> None:
    if "{app}" not in value or "{ptype}" not in value:
        raise SettingsError(f"{variable} must contain {{app}} and {{ptype}}, got {value!r}")


@dataclass(frozen=True)
class MetricsSettings:
    """Job and label names of the scraped series (env `WF_METRICS_*`)."""

    logger_job: str = _job(
        "WF_METRICS_LOGGER_JOB",
        "workflow-logger",
        "Job of the logger's own /metrics (and the controller's).",
    )
    cadvisor_job: str = _job(
        "WF_METRICS_CADVISOR_JOB",
        "kubelet",
        "Job of cAdvisor's container CPU, memory and network series.",
    )
    kubelet_job: str = _job(
        "WF_METRICS_KUBELET_JOB", "kubelet", "Job of the kubelet's volume stats."
    )
    kube_state_job: str = _job(
        "WF_METRICS_KUBE_STATE_JOB", "kube-state-metrics", "Job of kube-state-metrics."
    )
    namespace_label: str = _label(
        "WF_METRICS_NAMESPACE_LABEL", "namespace", "Label naming the namespace."
    )
    pod_label: str = _label("WF_METRICS_POD_LABEL", "pod", "Label naming the pod.")
    container_label: str = _label(
        "WF_METRICS_CONTAINER_LABEL", "container", "Label naming the container."
    )
    # A Drycc app's pods are `<app>-<ptype>-<replicaset hash>-<suffix>`.
    pod_pattern: str = declared(
        Setting(
            "WF_METRICS_POD_PATTERN",
            Text(),
            "{app}-{ptype}-[a-z0-9]+-[a-z0-9]+",
            "Regular expression of an app's pod names, with {app} and {ptype}.",
            check=_has_placeholders,
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MetricsSettings:
        return from_environ(cls, environ)
