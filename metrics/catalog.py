"""The catalog: every PromQL query the platform runs, by name, in one place.

The controller's metrics endpoints, the Grafana dashboards and the vmalert
rules all take their queries from here, so no query string is written twice.
Job and label names come from `MetricsSettings` (never literals), the way
kubernetes-mixin's `_config` does it.

Use:

    catalog = Catalog(MetricsSettings.from_env(os.environ))
    catalog.app_cpu_usage("shop", "web", "1m")   # a PromQL string
    catalog.pipeline("5m")                       # {name: PromQL} for dashboards/alerts

Parameters:
- `app`, `ptype`: an app (its namespace) and a process type. They are
  escaped for PromQL, so any string is safe to pass.
- `window`: a range-vector duration (`30s`, `5m`, `1h`), or a Grafana
  interval variable (`$__rate_interval`, `$__interval`, `$__range`).

Units: CPU in cores, memory in bytes, network and log bytes in bytes per
second, line rates in lines per second. Each method's docstring says what
one series of the result is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from metrics.settings import MetricsSettings

_WINDOW = re.compile(r"[0-9]+(ms|s|m|h|d|w|y)|\$__(rate_interval|interval|range)")
_REGEX_SPECIAL = re.compile(r"([\\.^$*+?()\[\]{}|])")


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


class Catalog:
    """Named PromQL queries built from the selectors in `MetricsSettings`."""

    def __init__(self, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings()

    # -- selectors --------------------------------------------------------------

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

    def _app(self, app: str, source: Source = Source.CADVISOR) -> str:
        s = self.settings
        return f"job={quote(self.job(source))},{s.namespace_label}={quote(app)}"

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

    # -- one app: the controller's endpoints and the app dashboard ----------------

    def app_cpu_usage(self, app: str, ptype: str, window: str) -> str:
        """CPU used, in cores, per pod of one process type (series label: pod)."""
        pod = self.settings.pod_label
        return (
            f"sum by ({pod}) (rate(container_cpu_usage_seconds_total"
            f"{{{self._pods(app, ptype)},{self._containers()}}}[{check_window(window)}]))"
        )

    def app_memory_usage(self, app: str, ptype: str) -> str:
        """Memory in use (working set: what the OOM killer looks at), in bytes, per pod."""
        pod = self.settings.pod_label
        return (
            f"sum by ({pod}) (container_memory_working_set_bytes"
            f"{{{self._pods(app, ptype)},{self._containers()}}})"
        )

    def app_network_receive(self, app: str, ptype: str, window: str) -> str:
        """Bytes received per second, per pod (all interfaces)."""
        return self._network("receive", app, ptype, window)

    def app_network_transmit(self, app: str, ptype: str, window: str) -> str:
        """Bytes sent per second, per pod (all interfaces)."""
        return self._network("transmit", app, ptype, window)

    def _network(self, direction: str, app: str, ptype: str, window: str) -> str:
        pod = self.settings.pod_label
        # cAdvisor may report a pod's network on both its cgroup ("") and its
        # pause container: the max per interface counts it once.
        return (
            f"sum by ({pod}) (max by ({pod}, interface) (rate(container_network_{direction}"
            f"_bytes_total{{{self._pods(app, ptype)}}}[{check_window(window)}])))"
        )

    def app_current(self, metric: CurrentMetric, app: str, window: str) -> str:
        """The latest value within `window` of one of `CURRENT_METRICS` for an
        app's namespace, with only the metric's kept labels."""
        kept = [self.label_name(role) for role in metric.roles] + list(metric.labels)
        selector = self._app(app, metric.source)
        if metric.per_container:
            selector += f",{self._containers()}"
        # After dropping labels two series may coincide (a restarted container's
        # old cgroup, a pod's network seen twice): they measure the same thing.
        return (
            f"max by ({', '.join(kept)}) "
            f"(last_over_time({metric.name}{{{selector}}}[{check_window(window)}]))"
        )

    def app_container_current(self, app: str, window: str) -> dict[str, str]:
        """`app_current` for each of `CURRENT_METRICS`, by metric name."""
        return {metric.name: self.app_current(metric, app, window) for metric in CURRENT_METRICS}

    def app_log_lines_rate(self, app: str, window: str) -> str:
        """Log lines per second stored for an app, per process type and stream."""
        return (
            f"sum by (proc, stream) (rate(logger_app_lines_total"
            f"{{{self._logger()},app={quote(app)}}}[{check_window(window)}]))"
        )

    def app_log_bytes_rate(self, app: str, window: str) -> str:
        """Log bytes per second stored for an app, per process type and stream."""
        return (
            f"sum by (proc, stream) (rate(logger_app_bytes_total"
            f"{{{self._logger()},app={quote(app)}}}[{check_window(window)}]))"
        )

    def app_level_lines_rate(self, app: str, window: str) -> str:
        """Log lines per second of an app, per detected level."""
        return (
            f"sum by (level) (rate(logger_app_level_lines_total"
            f"{{{self._logger()},app={quote(app)}}}[{check_window(window)}]))"
        )

    def app_error_lines_rate(self, app: str, window: str) -> str:
        """Lines per second of an app detected as error or fatal (one series)."""
        return (
            f"sum(rate(logger_app_level_lines_total"
            f'{{{self._logger()},app={quote(app)},level=~"error|fatal"}}'
            f"[{check_window(window)}]))"
        )

    def app(self, app: str, ptype: str, window: str) -> dict[str, str]:
        """Every per-app query above, by name (for an app dashboard)."""
        return {
            "app_cpu_usage": self.app_cpu_usage(app, ptype, window),
            "app_memory_usage": self.app_memory_usage(app, ptype),
            "app_network_receive": self.app_network_receive(app, ptype, window),
            "app_network_transmit": self.app_network_transmit(app, ptype, window),
            "app_log_lines_rate": self.app_log_lines_rate(app, window),
            "app_log_bytes_rate": self.app_log_bytes_rate(app, window),
            "app_level_lines_rate": self.app_level_lines_rate(app, window),
            "app_error_lines_rate": self.app_error_lines_rate(app, window),
        }

    # -- the pipeline: dashboards and alert rules -----------------------------------

    def _rate(self, metric: str, window: str, by: str = "", extra: str = "") -> str:
        grouping = f" by ({by})" if by else ""
        selector = self._logger() + (f",{extra}" if extra else "")
        return f"sum{grouping} (rate({metric}{{{selector}}}[{check_window(window)}]))"

    def logger_up(self) -> str:
        """1 per logger instance VictoriaMetrics scraped successfully, else 0 (by instance)."""
        return f"up{{{self._logger()}}}"

    def logger_ingest_rate(self, window: str) -> str:
        """Lines stored per second, all loggers (one series)."""
        return self._rate("logger_stored_lines_total", window)

    def logger_received_rate(self, window: str) -> str:
        """Events received per second, per input."""
        return self._rate("logger_received_events_total", window, "input")

    def logger_received_bytes_rate(self, window: str) -> str:
        """Frame bytes received per second, per input."""
        return self._rate("logger_received_bytes_total", window, "input")

    def logger_discarded_rate(self, window: str) -> str:
        """Events or lines discarded per second, per reason (never expected but
        `app_evicted` under memory pressure)."""
        return self._rate("logger_discarded_events_total", window, "reason")

    def logger_errors_rate(self, window: str) -> str:
        """Errors per second, per stage and error type."""
        return self._rate("logger_errors_total", window, "stage, error_type")

    def logger_open_connections(self) -> str:
        """Forward connections open now, per input."""
        return f"sum by (input) (logger_open_connections{{{self._logger()}}})"

    def logger_acks_rate(self, window: str) -> str:
        """Chunk acknowledgements sent per second."""
        return self._rate("logger_acks_sent_total", window)

    def logger_ring_fill(self) -> str:
        """Buffered bytes as a fraction of the bound (0 to 1), per instance;
        near 1 the least recently written apps are being evicted."""
        sel = self._logger()
        return f"logger_buffered_bytes{{{sel}}} / logger_buffer_limit_bytes{{{sel}}}"

    def logger_ring_displaced_rate(self, window: str) -> str:
        """Lines pushed out of full rings per second (rings keep recent lines by design)."""
        return self._rate("logger_ring_displaced_lines_total", window)

    def logger_evicted_apps_rate(self, window: str) -> str:
        """Whole app rings evicted per second to stay under the byte bound."""
        return self._rate("logger_evicted_apps_total", window)

    def logger_followers(self) -> str:
        """Live follows (`wf logs -f`) open now (one series)."""
        return f"sum(logger_followers{{{self._logger()}}})"

    def logger_follower_dropped_rate(self, window: str) -> str:
        """Lines displaced from slow followers' queues per second."""
        return self._rate("logger_follower_dropped_lines_total", window)

    def logger_app_label_overflow_rate(self, window: str) -> str:
        """Lines per second counted under app="_other" (WF_LOGGER_METRICS_MAX_APPS reached)."""
        return self._rate("logger_app_label_overflow_lines_total", window)

    def drain_delivered_rate(self, window: str) -> str:
        """Lines per second drains delivered, per app and scheme."""
        return self._rate("logger_drain_delivered_lines_total", window, "app, scheme")

    def drain_delivered_bytes_rate(self, window: str) -> str:
        """Bytes per second drains delivered, per app and scheme."""
        return self._rate("logger_drain_delivered_bytes_total", window, "app, scheme")

    def drain_dropped_rate(self, window: str) -> str:
        """Lines per second drains gave up on, per app, scheme and reason."""
        return self._rate("logger_drain_dropped_lines_total", window, "app, scheme, reason")

    def drain_retries_rate(self, window: str) -> str:
        """Failed delivery attempts retried per second, per scheme and kind."""
        return self._rate("logger_drain_retries_total", window, "scheme, kind")

    def drain_backing_off(self) -> str:
        """Drains backing off after failures now, per app."""
        return f'sum by (app) (logger_drain_state{{{self._logger()},state="backing_off"}})'

    def drain_buffer_fill(self) -> str:
        """Each drain's buffer use as a fraction of its capacity (0 to 1)."""
        sel = self._logger()
        return f"logger_drain_buffer_lines{{{sel}}} / logger_drain_buffer_capacity_lines{{{sel}}}"

    def pipeline(self, window: str) -> dict[str, str]:
        """Every pipeline query, by name (for the dashboards and alert rules)."""
        return {
            "logger_up": self.logger_up(),
            "logger_ingest_rate": self.logger_ingest_rate(window),
            "logger_received_rate": self.logger_received_rate(window),
            "logger_received_bytes_rate": self.logger_received_bytes_rate(window),
            "logger_discarded_rate": self.logger_discarded_rate(window),
            "logger_errors_rate": self.logger_errors_rate(window),
            "logger_open_connections": self.logger_open_connections(),
            "logger_acks_rate": self.logger_acks_rate(window),
            "logger_ring_fill": self.logger_ring_fill(),
            "logger_ring_displaced_rate": self.logger_ring_displaced_rate(window),
            "logger_evicted_apps_rate": self.logger_evicted_apps_rate(window),
            "logger_followers": self.logger_followers(),
            "logger_follower_dropped_rate": self.logger_follower_dropped_rate(window),
            "logger_app_label_overflow_rate": self.logger_app_label_overflow_rate(window),
            "drain_delivered_rate": self.drain_delivered_rate(window),
            "drain_delivered_bytes_rate": self.drain_delivered_bytes_rate(window),
            "drain_dropped_rate": self.drain_dropped_rate(window),
            "drain_retries_rate": self.drain_retries_rate(window),
            "drain_backing_off": self.drain_backing_off(),
            "drain_buffer_fill": self.drain_buffer_fill(),
        }
