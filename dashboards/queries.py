"""The one door to query strings: a name, an app and a window.

Every name maps to the metrics catalog (`metrics.catalog.Catalog`); names
the catalog lacks come from `dashboards.missing_queries` (to move into the
catalog). Nothing else in `dashboards/` writes PromQL; rules only compose
these (a threshold, `absent()`, a ratio of two of them).
"""

from __future__ import annotations

from collections.abc import Callable

from dashboards.missing_queries import MISSING
from metrics.catalog import Catalog

# Rules evaluate over a fixed window; dashboards let Grafana pick one that
# covers at least four scrapes.
RULE_WINDOW = "5m"
DASHBOARD_WINDOW = "$__rate_interval"

# (catalog, app, window) -> PromQL. `app` is one app's name (or the `$app`
# Grafana variable); queries over all apps ignore it.
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
}

_DEFAULT = Catalog()


def query(name: str, app: str = "", window: str = RULE_WINDOW, catalog: Catalog = _DEFAULT) -> str:
    """The PromQL of query `name`, for one `app` where it takes one, rates over `window`."""
    build = FROM_CATALOG.get(name) or MISSING.get(name)
    if build is None:
        raise KeyError(f"no query named {name!r} in the metrics catalog")
    return build(catalog, app, window)


def missing_names() -> list[str]:
    """Names served by dashboards.missing_queries, not (yet) by the catalog."""
    return sorted(MISSING)
