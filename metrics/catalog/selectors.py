"""What every catalog query is built from: escaping, windows, scrape jobs,
and the selectors made of the job and label names in `MetricsSettings`."""

from __future__ import annotations

import re
from enum import StrEnum

from metrics.settings import MetricsSettings

_WINDOW = re.compile(r"[0-9]+(ms|s|m|h|d|w|y)|\$__(rate_interval|interval|range)")
_REGEX_SPECIAL = re.compile(r"([\\.^$*+?()\[\]{}|])")

# Matchers more than one query uses (a logger series' label values).
ERROR_LEVELS = 'level=~"error|fatal"'
BACKING_OFF = 'state="backing_off"'
CRASH_LOOP = 'reason="CrashLoopBackOff"'


class Source(StrEnum):
    """Which scrape job a metric of `/v2/apps/{id}/metrics` comes from."""

    CADVISOR = "cadvisor"
    """Per-container usage (cAdvisor, on the kubelet): CPU, memory, network."""
    KUBE_STATE = "kube_state"
    """Object state from kube-state-metrics: phases, restarts, requests, limits."""
    KUBELET = "kubelet"
    """The kubelet's own metrics: volume usage per persistent volume claim."""


class Role(StrEnum):
    """A label kept in `/v2/apps/{id}/metrics`, by its role (names are settings)."""

    NAMESPACE = "namespace"
    POD = "pod"
    CONTAINER = "container"


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def regex_literal(value: str) -> str:
    """`value` matched literally inside a regular expression."""
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def check_window(window: str) -> str:
    if not _WINDOW.fullmatch(window):
        raise ValueError(f"not a PromQL duration or Grafana interval: {window!r}")
    return window


def matchers(*items: str) -> str:
    """Label matchers joined with commas, leaving out empty ones."""
    return ",".join(item for item in items if item)


class Selectors:
    """Label names, jobs and selectors from `MetricsSettings`; the query
    groups (`metrics.catalog.app`, `.apps`, `.pipeline`) build on these."""

    def __init__(self, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings()

    def label_name(self, role: Role) -> str:
        s = self.settings
        return {
            Role.NAMESPACE: s.namespace_label,
            Role.POD: s.pod_label,
            Role.CONTAINER: s.container_label,
        }[role]

    def job(self, source: Source) -> str:
        s = self.settings
        return {
            Source.CADVISOR: s.cadvisor_job,
            Source.KUBE_STATE: s.kube_state_job,
            Source.KUBELET: s.kubelet_job,
        }[source]

    def _by(self, *roles: Role) -> str:
        """A `by (...)` label list of the label names the settings give `roles`."""
        return ", ".join(self.label_name(role) for role in roles)

    def _app(self, app: str, source: Source = Source.CADVISOR) -> str:
        s = self.settings
        return f"job={quote(self.job(source))},{s.namespace_label}={quote(app)}"

    def _apps(self, source: Source, app: str = "") -> str:
        """A job's series in one app's namespace, or in every app's when `app` is empty."""
        return self._app(app, source) if app else f"job={quote(self.job(source))}"

    def _pods(self, app: str, ptype: str) -> str:
        """The pods of one process type of an app."""
        s = self.settings
        pattern = s.pod_pattern.format(app=regex_literal(app), ptype=regex_literal(ptype))
        return f"{self._app(app)},{s.pod_label}=~{quote(pattern)}"

    def _containers(self) -> str:
        """Real containers only: not the pod cgroup ("") nor the pause container."""
        label = self.settings.container_label
        return f'{label}!="",{label}!="POD"'

    def _logger(self) -> str:
        return f"job={quote(self.settings.logger_job)}"

    @staticmethod
    def _app_label(app: str) -> str:
        """One app in the logger's series (label `app`); every app when empty."""
        return f"app={quote(app)}" if app else ""

    def _rate(self, metric: str, window: str, by: str = "", extra: str = "") -> str:
        """The per-second rate of a logger counter, summed (by `by`)."""
        grouping = f" by ({by})" if by else ""
        selector = matchers(self._logger(), extra)
        return f"sum{grouping} (rate({metric}{{{selector}}}[{check_window(window)}]))"
