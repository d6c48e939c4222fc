"""One app, by process type: the controller's metrics endpoints and the
per-app numbers of `wf metrics`. The app and process type are escaped into
the pod regex of `MetricsSettings.pod_pattern`."""

from __future__ import annotations

from metrics.catalog.current import CURRENT_METRICS, CurrentMetric
from metrics.catalog.selectors import ERROR_LEVELS, Selectors, check_window, quote


class AppQueries(Selectors):
    """Queries of one app (and one of its process types)."""

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
            f"{{{self._logger()},app={quote(app)},{ERROR_LEVELS}}}"
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
