"""The catalog: every PromQL query the platform runs, by name, in one place.

The controller's metrics endpoints, the Grafana dashboards and the vmalert
rules all take their queries from here, so no query string is written twice.
Job and label names come from `MetricsSettings` (never literals), the way
kubernetes-mixin's `_config` does it.

Use:

    catalog = Catalog(MetricsSettings.from_env(os.environ))
    catalog.app_cpu_usage("shop", "web", "1m")   # a PromQL string
    catalog.apps_cpu_usage("5m")                 # every app, per container
    catalog.pipeline("5m")                       # {name: PromQL} for dashboards/alerts

The queries come in groups, one module each, all methods of `Catalog`:
- `app`: one app by process type (`app_*`; the controller's endpoints);
- `apps`: every app at once, or one narrowed by namespace or `app` label
  (`apps_*`, `app_drain_*`, `platform_*`, `app_names`; alerts, dashboards);
- `pipeline`: the loggers and drains (`logger_*`, `drain_*`).
`selectors` holds the escaping and the settings-driven selectors, `current`
the metrics of `GET /v2/apps/{id}/metrics`.

Parameters:
- `app`, `ptype`: an app (its namespace) and a process type. They are
  escaped for PromQL, so any string is safe to pass (a Grafana variable such
  as `$app` too, where the query takes an app by namespace or label).
- `window`: a range-vector duration (`30s`, `5m`, `1h`), or a Grafana
  interval variable (`$__rate_interval`, `$__interval`, `$__range`).

Units: CPU in cores, memory in bytes, network and log bytes in bytes per
second, line rates in lines per second. Each method's docstring says what
one series of the result is.
"""

from __future__ import annotations

from metrics.catalog.app import AppQueries
from metrics.catalog.apps import AppsQueries
from metrics.catalog.current import CURRENT_METRICS, CurrentMetric
from metrics.catalog.pipeline import PipelineQueries
from metrics.catalog.selectors import Role, Source, check_window, quote, regex_literal

__all__ = [
    "CURRENT_METRICS",
    "Catalog",
    "CurrentMetric",
    "Role",
    "Source",
    "check_window",
    "quote",
    "regex_literal",
]


class Catalog(AppQueries, AppsQueries, PipelineQueries):
    """Named PromQL queries built from the selectors in `MetricsSettings`."""
