"""What every dashboard shares: the datasource and app variables, units,
and panel helpers that refuse a panel without a unit or a description.

Panels are built with grafana-foundation-sdk builders; `Target` carries a
query name (resolved through `dashboards.queries`), never PromQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.queries import DASHBOARD_WINDOW, query

# Panels query whichever Prometheus-compatible datasource the viewer picks.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
APP_VARIABLE = "$app"
# Every description ends with what to do; a test checks this phrase.
WHEN_WRONG = "When it looks wrong:"
TAGS = ["workflow", "drycc"]


class Unit:
    """Grafana unit ids (the `unit` field), named for what they measure."""

    # Grafana has no "cores" unit; CPU seconds per second is a plain number.
    CORES = "short"
    BYTES = "bytes"
    BYTES_PER_SECOND = "Bps"
    # counts per second: lines, events, errors.
    PER_SECOND = "cps"
    COUNT = "none"
    RATIO = "percentunit"


@dataclass(frozen=True)
class Target:
    """One query of a panel: a catalog name and its legend, or (`expr`) an
    expression over recorded series (dashboards.rules.recording)."""

    name: str
    legend: str = ""
    per_app: bool = False
    expr: str = ""


def datasource_variable() -> dash.DatasourceVariable:
    return dash.DatasourceVariable("datasource").label("Data source").type("prometheus")


def app_variable() -> dash.QueryVariable:
    """The app picker: every app the logger has counted lines for."""
    return (
        dash.QueryVariable("app")
        .label("App")
        .datasource(DATASOURCE)
        .query(query("app_names"))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .current(VariableOption(text="", value=""))
    )


def dashboard(uid: str, title: str, description: str) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .with_variable(datasource_variable())
    )


def _targets(targets: list[Target]) -> list[prometheus.Dataquery]:
    built = []
    for index, target in enumerate(targets):
        app = APP_VARIABLE if target.per_app else ""
        built.append(
            prometheus.Dataquery()
            .expr(target.expr or query(target.name, app=app, window=DASHBOARD_WINDOW))
            .legend_format(target.legend or "__auto")
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
    return built


def _check(title: str, description: str, unit: str) -> None:
    if not unit:
        raise ValueError(f"panel {title!r} has no unit")
    if WHEN_WRONG not in description:
        raise ValueError(f"panel {title!r}: the description must say {WHEN_WRONG!r} what to do")


def graph(
    title: str,
    description: str,
    unit: str,
    targets: list[Target],
    *,
    span: int = 12,
    stacked: bool = False,
) -> timeseries.Panel:
    """A time series panel."""
    _check(title, description, unit)
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(span)
        .height(8)
        .min(0)
        .fill_opacity(10)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common_model.LegendDisplayMode.TABLE)
            .placement(common_model.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if stacked:
        panel = panel.stacking(
            common_builder.StackingConfig().mode(common_model.StackingMode.NORMAL)
        )
    for target in _targets(targets):
        panel = panel.with_target(target)
    return panel


def single(
    title: str,
    description: str,
    unit: str,
    targets: list[Target],
    *,
    span: int = 6,
) -> stat.Panel:
    """A stat panel showing the latest value."""
    _check(title, description, unit)
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(span)
        .height(4)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(common_model.BigValueGraphMode.AREA)
    )
    for target in _targets(targets):
        panel = panel.with_target(target)
    return panel
