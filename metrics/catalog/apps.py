"""Every app at once: the app alerts and recording rules, the app overview
dashboard, the platform overview.

These select by namespace (Kubernetes series) or the `app` label (the
logger's), not by process type: a Grafana variable such as `$app` cannot go
through the pod regex's escaping, and alerts need every app in one query.
Each keeps the app's label (one alert per app) and, given an `app`, narrows
to that one app; an empty `app` (the default) means every app. Namespace,
pod and container label names are the settings' (shown with the defaults).
"""

from __future__ import annotations

from metrics.catalog.selectors import (
    BACKING_OFF,
    CRASH_LOOP,
    ERROR_LEVELS,
    Role,
    Selectors,
    Source,
    check_window,
    matchers,
    quote,
)


class AppsQueries(Selectors):
    """Queries over every app (or one, by namespace or `app` label)."""

    # -- Kubernetes series, per container or pod -------------------------------------

    def apps_cpu_usage(self, window: str, app: str = "") -> str:
        """CPU used, in cores, per container (labels: namespace, pod, container)."""
        selector = matchers(self._apps(Source.CADVISOR, app), self._containers())
        return (
            f"sum by ({self._by(Role.NAMESPACE, Role.POD, Role.CONTAINER)}) "
            f"(rate(container_cpu_usage_seconds_total{{{selector}}}[{check_window(window)}]))"
        )

    def apps_cpu_limit(self, app: str = "") -> str:
        """CPU limit, in cores, per container (labels: namespace, pod, container);
        containers without a limit have no series."""
        return self._apps_limit("cpu", app)

    def apps_memory_usage(self, app: str = "") -> str:
        """Memory in use (working set), in bytes, per container (labels: namespace,
        pod, container)."""
        selector = matchers(self._apps(Source.CADVISOR, app), self._containers())
        return (
            f"sum by ({self._by(Role.NAMESPACE, Role.POD, Role.CONTAINER)}) "
            f"(container_memory_working_set_bytes{{{selector}}})"
        )

    def apps_memory_limit(self, app: str = "") -> str:
        """Memory limit, in bytes, per container (labels: namespace, pod, container);
        containers without a limit have no series."""
        return self._apps_limit("memory", app)

    def _apps_limit(self, resource: str, app: str) -> str:
        selector = matchers(self._apps(Source.KUBE_STATE, app), f"resource={quote(resource)}")
        return (
            f"sum by ({self._by(Role.NAMESPACE, Role.POD, Role.CONTAINER)}) "
            f"(kube_pod_container_resource_limits{{{selector}}})"
        )

    def apps_network_receive(self, window: str, app: str = "") -> str:
        """Bytes received per second, per pod, all interfaces (labels: namespace, pod)."""
        return self._apps_network("receive", window, app)

    def apps_network_transmit(self, window: str, app: str = "") -> str:
        """Bytes sent per second, per pod, all interfaces (labels: namespace, pod)."""
        return self._apps_network("transmit", window, app)

    def _apps_network(self, direction: str, window: str, app: str) -> str:
        pods = self._by(Role.NAMESPACE, Role.POD)
        # As for one app: the max per interface counts a pod's network once.
        return (
            f"sum by ({pods}) (max by ({pods}, interface) "
            f"(rate(container_network_{direction}_bytes_total"
            f"{{{self._apps(Source.CADVISOR, app)}}}[{check_window(window)}])))"
        )

    def apps_restarts(self, window: str, app: str = "") -> str:
        """Container restarts within `window`, per container (labels: namespace,
        pod, container)."""
        return (
            f"sum by ({self._by(Role.NAMESPACE, Role.POD, Role.CONTAINER)}) "
            f"(increase(kube_pod_container_status_restarts_total"
            f"{{{self._apps(Source.KUBE_STATE, app)}}}[{check_window(window)}]))"
        )

    def apps_pods_unhealthy(self, app: str = "") -> str:
        """1 per pod in phase Failed or Unknown (labels: namespace, pod, phase)."""
        selector = matchers(self._apps(Source.KUBE_STATE, app), 'phase=~"Failed|Unknown"')
        return (
            f"sum by ({self._by(Role.NAMESPACE, Role.POD)}, phase) "
            f"(kube_pod_status_phase{{{selector}}})"
        )

    def apps_volume_used_ratio(self, app: str = "") -> str:
        """Used share (0 to 1) of each persistent volume claim (labels: namespace,
        persistentvolumeclaim)."""
        selector = self._apps(Source.KUBELET, app)
        return (
            f"max by ({self._by(Role.NAMESPACE)}, persistentvolumeclaim) "
            f"(kubelet_volume_stats_used_bytes{{{selector}}} "
            f"/ kubelet_volume_stats_capacity_bytes{{{selector}}})"
        )

    # -- the Kubernetes watcher's per-app series (on the logger's /metrics) -----------
    # `max`, not `sum`: one watcher runs per cluster, and two for a moment
    # during a rollout would otherwise count each pod twice.

    def apps_pods_by_phase(self, app: str = "") -> str:
        """Pods now, per process type and phase (labels: app, proc, phase)."""
        selector = matchers(self._logger(), self._app_label(app))
        return f"max by (app, proc, phase) (kubernetes_app_pods{{{selector}}})"

    def apps_crash_looping(self, window: str, app: str = "") -> str:
        """Containers in CrashLoopBackOff at any time within `window`, per process
        type (labels: app, proc); a crash-looping container is running between
        its back-offs, hence the window."""
        selector = matchers(self._logger(), self._app_label(app), CRASH_LOOP)
        return (
            f"max by (app, proc) (max_over_time(kubernetes_app_waiting_containers"
            f"{{{selector}}}[{check_window(window)}]))"
        )

    def apps_oom_kills(self, window: str, app: str = "") -> str:
        """Containers OOM-killed within `window`, per process type (labels: app, proc)."""
        selector = matchers(self._logger(), self._app_label(app))
        return (
            f"max by (app, proc) (increase(kubernetes_app_oom_kills_total"
            f"{{{selector}}}[{check_window(window)}]))"
        )

    def apps_watched_restarts(self, window: str, app: str = "") -> str:
        """Container restarts within `window`, per process type (labels: app, proc),
        as the watcher saw them."""
        selector = matchers(self._logger(), self._app_label(app))
        return (
            f"max by (app, proc) (increase(kubernetes_app_container_restarts_total"
            f"{{{selector}}}[{check_window(window)}]))"
        )

    def apps_last_terminated(self, app: str = "") -> str:
        """Containers by the reason their last run ended, per process type
        (labels: app, proc, reason: OOMKilled, Error, Completed, ..., other)."""
        selector = matchers(self._logger(), self._app_label(app))
        return (
            f"max by (app, proc, reason) (kubernetes_app_last_terminated_containers{{{selector}}})"
        )

    # -- the logger's per-app series -------------------------------------------------

    def apps_error_lines_rate(self, window: str, app: str = "") -> str:
        """Lines per second detected as error or fatal, per app (label: app);
        `app_error_lines_rate` is one app's, without the label."""
        extra = matchers(self._app_label(app), ERROR_LEVELS)
        return self._rate("logger_app_level_lines_total", window, "app", extra)

    def apps_log_bytes_rate(self, window: str, app: str = "") -> str:
        """Log bytes per second stored, per app (label: app)."""
        return self._rate("logger_app_bytes_total", window, "app", self._app_label(app))

    def app_drain_delivered_rate(self, window: str, app: str = "") -> str:
        """Lines per second delivered, per drain (labels: app, drain_id, scheme)."""
        by = "app, drain_id, scheme"
        return self._rate("logger_drain_delivered_lines_total", window, by, self._app_label(app))

    def app_drain_dropped_rate(self, window: str, app: str = "") -> str:
        """Lines per second dropped, per drain and reason (labels: app, drain_id, reason)."""
        by = "app, drain_id, reason"
        return self._rate("logger_drain_dropped_lines_total", window, by, self._app_label(app))

    def app_drain_backing_off(self, app: str = "") -> str:
        """1 per drain backing off after failures now, else 0 (labels: app, drain_id)."""
        selector = matchers(self._logger(), self._app_label(app), BACKING_OFF)
        return f"max by (app, drain_id) (logger_drain_state{{{selector}}})"

    def app_names(self) -> str:
        """Every app the logger has counted lines for: a Grafana `label_values`
        variable query (the app picker), not PromQL."""
        return f"label_values(logger_app_lines_total{{{self._logger()}}}, app)"

    # -- the platform ---------------------------------------------------------------

    def platform_apps(self) -> str:
        """Apps (namespaces) with at least one pod (one series)."""
        return (
            f"count(count by ({self._by(Role.NAMESPACE)}) "
            f"(kube_pod_status_phase{{{self._apps(Source.KUBE_STATE)}}} > 0))"
        )

    def platform_pods_by_phase(self) -> str:
        """Pods of every app, per phase (label: phase)."""
        return f"sum by (phase) (kube_pod_status_phase{{{self._apps(Source.KUBE_STATE)}}})"

    def apps(self, window: str, app: str = "") -> dict[str, str]:
        """Every query above over all apps (or `app`) and the platform, by name;
        not `app_names`, which is not PromQL."""
        return {
            "apps_cpu_usage": self.apps_cpu_usage(window, app),
            "apps_cpu_limit": self.apps_cpu_limit(app),
            "apps_memory_usage": self.apps_memory_usage(app),
            "apps_memory_limit": self.apps_memory_limit(app),
            "apps_network_receive": self.apps_network_receive(window, app),
            "apps_network_transmit": self.apps_network_transmit(window, app),
            "apps_restarts": self.apps_restarts(window, app),
            "apps_pods_unhealthy": self.apps_pods_unhealthy(app),
            "apps_volume_used_ratio": self.apps_volume_used_ratio(app),
            "apps_pods_by_phase": self.apps_pods_by_phase(app),
            "apps_crash_looping": self.apps_crash_looping(window, app),
            "apps_oom_kills": self.apps_oom_kills(window, app),
            "apps_watched_restarts": self.apps_watched_restarts(window, app),
            "apps_last_terminated": self.apps_last_terminated(app),
            "apps_error_lines_rate": self.apps_error_lines_rate(window, app),
            "apps_log_bytes_rate": self.apps_log_bytes_rate(window, app),
            "app_drain_delivered_rate": self.app_drain_delivered_rate(window, app),
            "app_drain_dropped_rate": self.app_drain_dropped_rate(window, app),
            "app_drain_backing_off": self.app_drain_backing_off(app),
            "platform_apps": self.platform_apps(),
            "platform_pods_by_phase": self.platform_pods_by_phase(),
        }
