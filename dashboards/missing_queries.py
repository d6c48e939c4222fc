"""Queries the dashboards and rules need that the metrics catalog lacks.

These belong in the metrics catalog (`metrics/catalog.py`), the single
source of every query string; they live here only until the catalog carries
them, and each is listed by name and PromQL in the hand-over report. They
are built from the same `MetricsSettings` selectors as the catalog.

What the catalog has per app is per process type (`app_cpu_usage(app,
ptype, window)`), with the names escaped into a pod regex: a Grafana
variable such as `$app` cannot go through that escaping, and alerts need
every app at once. So these select by namespace, keep the namespace label
(one alert per app), and narrow to one app when `app` is given.
"""

from __future__ import annotations

from collections.abc import Callable

from metrics.catalog import Catalog, Source, check_window, quote

Query = Callable[[Catalog, str, str], str]


def _sel(*matchers: str) -> str:
    return "{" + ",".join(m for m in matchers if m) + "}"


def _job(c: Catalog, source: Source) -> str:
    return f"job={quote(c.job(source))}"


def _logger(c: Catalog) -> str:
    return f"job={quote(c.settings.logger_job)}"


def _ns(c: Catalog, app: str) -> str:
    """One app in Kubernetes series (an app is a namespace); all when empty."""
    return f"{c.settings.namespace_label}={quote(app)}" if app else ""


def _app(app: str) -> str:
    """One app in the logger's series; all when empty."""
    return f"app={quote(app)}" if app else ""


def _containers(c: Catalog) -> str:
    label = c.settings.container_label
    return f'{label}!="",{label}!="POD"'


def _by_container(c: Catalog) -> str:
    s = c.settings
    return f"{s.namespace_label}, {s.pod_label}, {s.container_label}"


def _cpu_cores(c: Catalog, a: str, w: str) -> str:
    """CPU used, in cores, per container of every app (or one)."""
    selector = _sel(_job(c, Source.CADVISOR), _ns(c, a), _containers(c))
    return (
        f"sum by ({_by_container(c)}) "
        f"(rate(container_cpu_usage_seconds_total{selector}[{check_window(w)}]))"
    )


def _limit(resource: str) -> Query:
    def build(c: Catalog, a: str, w: str) -> str:
        selector = _sel(_job(c, Source.KUBE_STATE), _ns(c, a), f"resource={quote(resource)}")
        return f"sum by ({_by_container(c)}) (kube_pod_container_resource_limits{selector})"

    return build


def _memory_bytes(c: Catalog, a: str, w: str) -> str:
    """Working-set memory, in bytes, per container."""
    selector = _sel(_job(c, Source.CADVISOR), _ns(c, a), _containers(c))
    return f"sum by ({_by_container(c)}) (container_memory_working_set_bytes{selector})"


def _network(direction: str) -> Query:
    def build(c: Catalog, a: str, w: str) -> str:
        s = c.settings
        selector = _sel(_job(c, Source.CADVISOR), _ns(c, a))
        # As in the catalog: the max per interface counts a pod's network once.
        return (
            f"sum by ({s.namespace_label}, {s.pod_label}) "
            f"(max by ({s.namespace_label}, {s.pod_label}, interface) "
            f"(rate(container_network_{direction}_bytes_total{selector}[{check_window(w)}])))"
        )

    return build


def _restarts(c: Catalog, a: str, w: str) -> str:
    """Container restarts within the window, per container."""
    selector = _sel(_job(c, Source.KUBE_STATE), _ns(c, a))
    return (
        f"sum by ({_by_container(c)}) "
        f"(increase(kube_pod_container_status_restarts_total{selector}[{check_window(w)}]))"
    )


def _pods_unhealthy(c: Catalog, a: str, w: str) -> str:
    """1 per pod in phase Failed or Unknown."""
    s = c.settings
    selector = _sel(_job(c, Source.KUBE_STATE), _ns(c, a), 'phase=~"Failed|Unknown"')
    return f"sum by ({s.namespace_label}, {s.pod_label}, phase) (kube_pod_status_phase{selector})"


def _volume_used_ratio(c: Catalog, a: str, w: str) -> str:
    """Used share (0 to 1) of each persistent volume claim."""
    s = c.settings
    selector = _sel(_job(c, Source.KUBELET), _ns(c, a))
    return (
        f"max by ({s.namespace_label}, persistentvolumeclaim) "
        f"(kubelet_volume_stats_used_bytes{selector} "
        f"/ kubelet_volume_stats_capacity_bytes{selector})"
    )


def _apps_error_lines_rate(c: Catalog, a: str, w: str) -> str:
    """Error and fatal lines per second, per app (the catalog's is one app, no label)."""
    selector = _sel(_logger(c), _app(a), 'level=~"error|fatal"')
    return f"sum by (app) (rate(logger_app_level_lines_total{selector}[{check_window(w)}]))"


def _apps_log_bytes_rate(c: Catalog, a: str, w: str) -> str:
    """Log bytes per second, per app."""
    selector = _sel(_logger(c), _app(a))
    return f"sum by (app) (rate(logger_app_bytes_total{selector}[{check_window(w)}]))"


def _app_drain_delivered_rate(c: Catalog, a: str, w: str) -> str:
    """Lines per second each drain of an app delivered."""
    selector = _sel(_logger(c), _app(a))
    return (
        "sum by (app, drain_id, scheme) "
        f"(rate(logger_drain_delivered_lines_total{selector}[{check_window(w)}]))"
    )


def _app_drain_dropped_rate(c: Catalog, a: str, w: str) -> str:
    """Lines per second each drain of an app dropped, per reason."""
    selector = _sel(_logger(c), _app(a))
    return (
        "sum by (app, drain_id, reason) "
        f"(rate(logger_drain_dropped_lines_total{selector}[{check_window(w)}]))"
    )


def _app_drain_backing_off(c: Catalog, a: str, w: str) -> str:
    """1 per drain of an app that is backing off now, else 0."""
    selector = _sel(_logger(c), _app(a), 'state="backing_off"')
    return f"max by (app, drain_id) (logger_drain_state{selector})"


def _platform_apps(c: Catalog, a: str, w: str) -> str:
    """Apps (namespaces) with at least one pod."""
    selector = _sel(_job(c, Source.KUBE_STATE))
    return f"count(count by ({c.settings.namespace_label}) (kube_pod_status_phase{selector} > 0))"


def _platform_pods_by_phase(c: Catalog, a: str, w: str) -> str:
    """Pods per phase, all apps."""
    return f"sum by (phase) (kube_pod_status_phase{_sel(_job(c, Source.KUBE_STATE))})"


def _app_names(c: Catalog, a: str, w: str) -> str:
    """The app picker's values (a Grafana `label_values` variable query)."""
    return f"label_values(logger_app_lines_total{_sel(_logger(c))}, app)"


MISSING: dict[str, Query] = {
    "app_names": _app_names,
    "apps_cpu_usage": _cpu_cores,
    "apps_cpu_limit": _limit("cpu"),
    "apps_memory_usage": _memory_bytes,
    "apps_memory_limit": _limit("memory"),
    "apps_network_receive": _network("receive"),
    "apps_network_transmit": _network("transmit"),
    "apps_restarts": _restarts,
    "apps_pods_unhealthy": _pods_unhealthy,
    "apps_volume_used_ratio": _volume_used_ratio,
    "apps_error_lines_rate": _apps_error_lines_rate,
    "apps_log_bytes_rate": _apps_log_bytes_rate,
    "app_drain_delivered_rate": _app_drain_delivered_rate,
    "app_drain_dropped_rate": _app_drain_dropped_rate,
    "app_drain_backing_off": _app_drain_backing_off,
    "platform_apps": _platform_apps,
    "platform_pods_by_phase": _platform_pods_by_phase,
}
