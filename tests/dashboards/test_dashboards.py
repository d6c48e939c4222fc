"""Dashboard structure: stable UIDs, the datasource as a variable, a unit
and a what-to-do description on every panel, every query from the catalog."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards import common, queries
from dashboards.build import DASHBOARDS, dashboard_json
from dashboards.rules.recording import RECORDS, top
from metrics.catalog import Catalog
from metrics.settings import MetricsSettings

MODELS = {uid: dashboard_json(build) for uid, build in DASHBOARDS.items()}


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


def known_expressions() -> set[str]:
    """Every query the catalog can produce for a dashboard, and the
    expressions over recorded series."""
    found = {
        queries.query(name, app=app, window=queries.DASHBOARD_WINDOW)
        for name in queries.FROM_CATALOG
        for app in ("", common.APP_VARIABLE)
    }
    return found | {top(10, record) for record in RECORDS}


def test_uids_are_stable() -> None:
    assert {uid: model["uid"] for uid, model in MODELS.items()} == {
        "wf-app-overview": "wf-app-overview",
        "wf-logger-pipeline": "wf-logger-pipeline",
        "wf-platform-overview": "wf-platform-overview",
    }


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_datasource_is_a_variable_used_by_every_panel_and_query(uid: str) -> None:
    model = MODELS[uid]
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(model):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_every_panel_has_a_unit_and_says_what_to_do(uid: str) -> None:
    for panel in panels(MODELS[uid]):
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert common.WHEN_WRONG in panel["description"], panel["title"]
        advice = panel["description"].split(common.WHEN_WRONG, 1)[1]
        assert len(advice.split()) >= 8, panel["title"]


def test_panel_helpers_refuse_a_panel_without_unit_or_advice() -> None:
    target = [common.Target("logger_up")]
    with pytest.raises(ValueError, match="no unit"):
        common.graph("t", f"d. {common.WHEN_WRONG} x", "", target)
    with pytest.raises(ValueError, match="what to do"):
        common.single("t", "just a description", common.Unit.COUNT, target)


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_panel_ids_are_unique_and_queries_come_from_the_catalog(uid: str) -> None:
    model = MODELS[uid]
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    known = known_expressions()
    for panel in panels(model):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"] in known, (panel["title"], target["expr"])


def test_per_app_panels_select_the_app_variable() -> None:
    for panel in panels(MODELS["wf-app-overview"]):
        for target in panel["targets"]:
            assert re.search(r'(namespace|app)="\$app"', target["expr"]), target["expr"]
    app = {v["name"]: v for v in MODELS["wf-app-overview"]["templating"]["list"]}["app"]
    assert app["query"] == queries.query("app_names")


REQUIRED_PANELS = {
    "wf-app-overview": {
        "CPU by container",
        "Memory by container",
        "Network received",
        "Network sent",
        "Container restarts",
        "Pods by process type and phase",
        "OOM kills and crash loops",
        "Last termination reasons",
        "Log lines per second by process and stream",
        "Error lines per second",
        "Drain lines delivered",
        "Drain lines dropped",
        "Drains backing off",
    },
    "wf-logger-pipeline": {
        "Events received per second",
        "Bytes received per second",
        "Discarded events by reason",
        "Errors by stage",
        "Forward connections",
        "Ring fill",
        "Ring evictions and displaced lines",
        "Followers",
        "Drain lines delivered",
        "Drain lines dropped",
        "Drains backing off",
    },
    "wf-platform-overview": {"Apps", "Pods by phase", "Top apps by log volume"},
}


@pytest.mark.parametrize("uid", sorted(REQUIRED_PANELS))
def test_required_panels_are_present(uid: str) -> None:
    titles = {p["title"] for p in panels(MODELS[uid])}
    assert REQUIRED_PANELS[uid] <= titles


def test_queries_follow_the_catalog_settings() -> None:
    """Job and label names come from MetricsSettings, for the pipeline's
    queries and the ones over every app alike."""
    catalog = Catalog(
        MetricsSettings(
            logger_job="logs", cadvisor_job="cadv", kube_state_job="ksm", namespace_label="ns"
        )
    )
    assert 'job="logs"' in queries.query("logger_errors_rate", catalog=catalog)
    assert 'job="logs"' in queries.query("app_drain_dropped_rate", catalog=catalog)
    cpu = queries.query("apps_cpu_usage", app="shop", catalog=catalog)
    assert 'job="cadv"' in cpu
    assert 'ns="shop"' in cpu
    assert "sum by (ns, pod, container)" in cpu
    assert 'job="ksm"' in queries.query("apps_pods_unhealthy", catalog=catalog)


def test_app_names_are_escaped_and_unknown_names_refused() -> None:
    assert 'app="a\\"b"' in queries.query("app_drain_delivered_rate", app='a"b')
    with pytest.raises(KeyError, match="no query named"):
        queries.query("no_such_query")
