"""The one door to query strings: a name, an app and a window.

Every name maps to a query of the metrics catalog (`metrics.catalog.Catalog`)
of the same name. Nothing else in `dashboards/` writes PromQL; rules only
compose these (a threshold, `absent()`, a ratio of two of them).
"""

from __future__ import annotations

from collections.abc import Callable

from metrics.catalog import Catalog

# Rules evaluate over a fixed window; dashboards let Grafana pick one that
# covers at least four scrapes.
RULE_WINDOW = "5m"
DASHBOARD_WINDOW = "$__rate_interval"

# (catalog, app, window) -> PromQL. `app` is one app's name (or the `$app`
# Grafana variable); "" selects every app where the query can, and queries
# of the whole pipeline or platform ignore it.
Query = Callable[[Catalog, str, str], str]

FROM_CATALOG: dict[str, Query] = {
    # One app (the app overview).
    "app_log_lines_rate": lambda c, a, w: c.app_log_lines_rate(a, w),
    "app_log_bytes_rate": lambda c, a, w: c.app_log_bytes_rate(a, w),
    "app_level_lines_rate": lambda c, a, w: c.app_level_lines_rate(a, w),
    "app_error_lines_rate": lambda c, a, w: c.app_error_lines_rate(a, w),
    # The pipeline (logger dashboard and alerts).
    "logger_up": lambda c, a, w: c.logger_up(),
    "logger_ingest_rate": lambda c, a, w: c.logger_ingest_rate(w),
    "logger_received_rate": lambda c, a, w: c.logger_received_rate(w),
    "logger_received_bytes_rate": lambda c, a, w: c.logger_received_bytes_rate(w),
    "logger_discarded_rate": lambda c, a, w: c.logger_discarded_rate(w),
    "logger_errors_rate": lambda c, a, w: c.logger_errors_rate(w),
    "logger_open_connections": lambda c, a, w: c.logger_open_connections(),
    "logger_ring_fill": lambda c, a, w: c.logger_ring_fill(),
    "logger_ring_displaced_rate": lambda c, a, w: c.logger_ring_displaced_rate(w),
    "logger_evicted_apps_rate": lambda c, a, w: c.logger_evicted_apps_rate(w),
    "logger_followers": lambda c, a, w: c.logger_followers(),
    "logger_follower_dropped_rate": lambda c, a, w: c.logger_follower_dropped_rate(w),
    "drain_delivered_rate": lambda c, a, w: c.drain_delivered_rate(w),
    "drain_dropped_rate": lambda c, a, w: c.drain_dropped_rate(w),
    "drain_backing_off": lambda c, a, w: c.drain_backing_off(),
    # Every app, or the one given (app alerts, recording rules, app overview).
    "app_names": lambda c, a, w: c.app_names(),
    "apps_cpu_usage": lambda c, a, w: c.apps_cpu_usage(w, a),
    "apps_cpu_limit": lambda c, a, w: c.apps_cpu_limit(a),
    "apps_memory_usage": lambda c, a, w: c.apps_memory_usage(a),
    "apps_memory_limit": lambda c, a, w: c.apps_memory_limit(a),
    "apps_network_receive": lambda c, a, w: c.apps_network_receive(w, a),
    "apps_network_transmit": lambda c, a, w: c.apps_network_transmit(w, a),
    "apps_restarts": lambda c, a, w: c.apps_restarts(w, a),
    "apps_pods_unhealthy": lambda c, a, w: c.apps_pods_unhealthy(a),
    "apps_volume_used_ratio": lambda c, a, w: c.apps_volume_used_ratio(a),
    "apps_pods_by_phase": lambda c, a, w: c.apps_pods_by_phase(a),
    "apps_crash_looping": lambda c, a, w: c.apps_crash_looping(w, a),
    "apps_oom_kills": lambda c, a, w: c.apps_oom_kills(w, a),
    "apps_watched_restarts": lambda c, a, w: c.apps_watched_restarts(w, a),
    "apps_last_terminated": lambda c, a, w: c.apps_last_terminated(a),
    "apps_error_lines_rate": lambda c, a, w: c.apps_error_lines_rate(w, a),
    "apps_log_bytes_rate": lambda c, a, w: c.apps_log_bytes_rate(w, a),
    "app_drain_delivered_rate": lambda c, a, w: c.app_drain_delivered_rate(w, a),
    "app_drain_dropped_rate": lambda c, a, w: c.app_drain_dropped_rate(w, a),
    "app_drain_backing_off": lambda c, a, w: c.app_drain_backing_off(a),
    # The platform (platform overview).
    "platform_apps": lambda c, a, w: c.platform_apps(),
    "platform_pods_by_phase": lambda c, a, w: c.platform_pods_by_phase(),
}

_DEFAULT = Catalog()


def query(name: str, app: str = "", window: str = RULE_WINDOW, catalog: Catalog = _DEFAULT) -> str:
    """The PromQL of query `name`, for one `app` where it takes one, rates over `window`."""
    build = FROM_CATALOG.get(name)
    if build is None:
        raise KeyError(f"no query named {name!r} in the metrics catalog")
    return build(catalog, app, window)
