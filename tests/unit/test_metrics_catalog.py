"""The catalog builds its queries from the settings, escapes what it is given,
and names every query the dashboards and alerts need."""

from __future__ import annotations

import pytest

from metrics.catalog import CURRENT_METRICS, Catalog, quote, regex_literal
from metrics.catalog.app import AppQueries
from metrics.catalog.apps import AppsQueries
from metrics.catalog.pipeline import PipelineQueries
from metrics.catalog.selectors import Selectors
from metrics.errors import SettingsError
from metrics.settings import MetricsSettings


def test_app_queries_use_the_selectors_from_settings() -> None:
    settings = MetricsSettings.from_env(
        {
            "WF_METRICS_CADVISOR_JOB": "cadvisor",
            "WF_METRICS_LOGGER_JOB": "wf-logger",
            "WF_METRICS_NAMESPACE_LABEL": "ns",
            "WF_METRICS_POD_LABEL": "pod_name",
            "WF_METRICS_CONTAINER_LABEL": "container_name",
        }
    )
    catalog = Catalog(settings)
    assert catalog.app_cpu_usage("shop", "web", "1m") == (
        'sum by (pod_name) (rate(container_cpu_usage_seconds_total{job="cadvisor",ns="shop",'
        'pod_name=~"shop-web-[a-z0-9]+-[a-z0-9]+",container_name!="",container_name!="POD"}[1m]))'
    )
    assert catalog.app_error_lines_rate("shop", "5m") == (
        'sum(rate(logger_app_level_lines_total{job="wf-logger",app="shop",level=~"error|fatal"}[5m]))'
    )


def test_default_current_metric_query() -> None:
    catalog = Catalog()
    queries = catalog.app_container_current("shop", "300s")
    assert list(queries) == [metric.name for metric in CURRENT_METRICS]
    assert queries["kubelet_volume_stats_used_bytes"] == (
        "max by (namespace, persistentvolumeclaim) (last_over_time(kubelet_volume_stats_used_bytes"
        '{job="kubelet",namespace="shop"}[300s]))'
    )
    assert queries["kube_pod_status_phase"] == (
        "max by (namespace, pod, phase) (last_over_time(kube_pod_status_phase"
        '{job="kube-state-metrics",namespace="shop"}[300s]))'
    )


def test_values_are_escaped() -> None:
    assert quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert regex_literal("a.b+c") == "a\\.b\\+c"
    query = Catalog().app_memory_usage('x"}) or vector(1) #', "web")
    assert 'namespace="x\\"}) or vector(1) #"' in query


@pytest.mark.parametrize("window", ["1m", "30s", "$__rate_interval", "1h"])
def test_windows(window: str) -> None:
    assert Catalog().logger_ingest_rate(window).endswith(f"[{window}]))")


@pytest.mark.parametrize("window", ["", "1 m", "5m]) or vector(1", "-1m"])
def test_bad_windows(window: str) -> None:
    with pytest.raises(ValueError, match="not a PromQL duration"):
        Catalog().logger_ingest_rate(window)


def test_the_pipeline_queries_the_dashboards_need() -> None:
    names = set(Catalog().pipeline("5m"))
    assert names == {
        "logger_up",
        "logger_ingest_rate",
        "logger_received_rate",
        "logger_received_bytes_rate",
        "logger_discarded_rate",
        "logger_errors_rate",
        "logger_open_connections",
        "logger_acks_rate",
        "logger_ring_fill",
        "logger_ring_displaced_rate",
        "logger_evicted_apps_rate",
        "logger_followers",
        "logger_follower_dropped_rate",
        "logger_app_label_overflow_rate",
        "drain_delivered_rate",
        "drain_delivered_bytes_rate",
        "drain_dropped_rate",
        "drain_retries_rate",
        "drain_backing_off",
        "drain_buffer_fill",
    }
    assert Catalog().pipeline("5m")["logger_discarded_rate"] == (
        'sum by (reason) (rate(logger_discarded_events_total{job="workflow-logger"}[5m]))'
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WF_METRICS_POD_LABEL", "pod-name", "WF_METRICS_POD_LABEL must be a Prometheus label"),
        ("WF_METRICS_LOGGER_JOB", 'a"b', "WF_METRICS_LOGGER_JOB must be a job name"),
        ("WF_METRICS_POD_PATTERN", "{app}-.*", "WF_METRICS_POD_PATTERN must contain"),
    ],
)
def test_invalid_settings_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        MetricsSettings.from_env({variable: value})


# The queries over every app (metrics.catalog.apps): with the defaults and
# no app (every app), then with other job and label names and one app.
CUSTOM = MetricsSettings.from_env(
    {
        "WF_METRICS_LOGGER_JOB": "wf-logger",
        "WF_METRICS_CADVISOR_JOB": "cadvisor",
        "WF_METRICS_KUBELET_JOB": "kubelet-volumes",
        "WF_METRICS_KUBE_STATE_JOB": "ksm",
        "WF_METRICS_NAMESPACE_LABEL": "ns",
        "WF_METRICS_POD_LABEL": "pod_name",
        "WF_METRICS_CONTAINER_LABEL": "container_name",
    }
)
ALL_APPS_DEFAULT: list[tuple[str, dict[str, str], str]] = [
    ("app_names", {}, 'label_values(logger_app_lines_total{job="workflow-logger"}, app)'),
    (
        "apps_cpu_usage",
        {"window": "5m"},
        "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total"
        '{job="kubelet",container!="",container!="POD"}[5m]))',
    ),
    (
        "apps_cpu_limit",
        {},
        "sum by (namespace, pod, container) (kube_pod_container_resource_limits"
        '{job="kube-state-metrics",resource="cpu"})',
    ),
    (
        "apps_memory_usage",
        {},
        "sum by (namespace, pod, container) (container_memory_working_set_bytes"
        '{job="kubelet",container!="",container!="POD"})',
    ),
    (
        "apps_memory_limit",
        {},
        "sum by (namespace, pod, container) (kube_pod_container_resource_limits"
        '{job="kube-state-metrics",resource="memory"})',
    ),
    (
        "apps_network_receive",
        {"window": "5m"},
        "sum by (namespace, pod) (max by (namespace, pod, interface) "
        '(rate(container_network_receive_bytes_total{job="kubelet"}[5m])))',
    ),
    (
        "apps_network_transmit",
        {"window": "5m"},
        "sum by (namespace, pod) (max by (namespace, pod, interface) "
        '(rate(container_network_transmit_bytes_total{job="kubelet"}[5m])))',
    ),
    (
        "apps_restarts",
        {"window": "30m"},
        "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total"
        '{job="kube-state-metrics"}[30m]))',
    ),
    (
        "apps_pods_unhealthy",
        {},
        "sum by (namespace, pod, phase) (kube_pod_status_phase"
        '{job="kube-state-metrics",phase=~"Failed|Unknown"})',
    ),
    (
        "apps_volume_used_ratio",
        {},
        'max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{job="kubelet"}'
        ' / kubelet_volume_stats_capacity_bytes{job="kubelet"})',
    ),
    (
        "apps_pods_by_phase",
        {},
        'max by (app, proc, phase) (kubernetes_app_pods{job="workflow-logger"})',
    ),
    (
        "apps_crash_looping",
        {"window": "5m"},
        "max by (app, proc) (max_over_time(kubernetes_app_waiting_containers"
        '{job="workflow-logger",reason="CrashLoopBackOff"}[5m]))',
    ),
    (
        "apps_oom_kills",
        {"window": "10m"},
        'max by (app, proc) (increase(kubernetes_app_oom_kills_total{job="workflow-logger"}[10m]))',
    ),
    (
        "apps_watched_restarts",
        {"window": "5m"},
        "max by (app, proc) (increase(kubernetes_app_container_restarts_total"
        '{job="workflow-logger"}[5m]))',
    ),
    (
        "apps_last_terminated",
        {},
        "max by (app, proc, reason) (kubernetes_app_last_terminated_containers"
        '{job="workflow-logger"})',
    ),
    (
        "apps_error_lines_rate",
        {"window": "5m"},
        "sum by (app) (rate(logger_app_level_lines_total"
        '{job="workflow-logger",level=~"error|fatal"}[5m]))',
    ),
    (
        "apps_log_bytes_rate",
        {"window": "5m"},
        'sum by (app) (rate(logger_app_bytes_total{job="workflow-logger"}[5m]))',
    ),
    (
        "app_drain_delivered_rate",
        {"window": "5m"},
        "sum by (app, drain_id, scheme) (rate(logger_drain_delivered_lines_total"
        '{job="workflow-logger"}[5m]))',
    ),
    (
        "app_drain_dropped_rate",
        {"window": "5m"},
        "sum by (app, drain_id, reason) (rate(logger_drain_dropped_lines_total"
        '{job="workflow-logger"}[5m]))',
    ),
    (
        "app_drain_backing_off",
        {},
        'max by (app, drain_id) (logger_drain_state{job="workflow-logger",state="backing_off"})',
    ),
    (
        "platform_apps",
        {},
        'count(count by (namespace) (kube_pod_status_phase{job="kube-state-metrics"} > 0))',
    ),
    (
        "platform_pods_by_phase",
        {},
        'sum by (phase) (kube_pod_status_phase{job="kube-state-metrics"})',
    ),
]
ONE_APP_CUSTOM: list[tuple[str, dict[str, str], str]] = [
    ("app_names", {}, 'label_values(logger_app_lines_total{job="wf-logger"}, app)'),
    (
        "apps_cpu_usage",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (ns, pod_name, container_name) (rate(container_cpu_usage_seconds_total"
        '{job="cadvisor",ns="shop",container_name!="",container_name!="POD"}'
        "[$__rate_interval]))",
    ),
    (
        "apps_cpu_limit",
        {"app": "shop"},
        "sum by (ns, pod_name, container_name) (kube_pod_container_resource_limits"
        '{job="ksm",ns="shop",resource="cpu"})',
    ),
    (
        "apps_memory_usage",
        {"app": "shop"},
        "sum by (ns, pod_name, container_name) (container_memory_working_set_bytes"
        '{job="cadvisor",ns="shop",container_name!="",container_name!="POD"})',
    ),
    (
        "apps_memory_limit",
        {"app": "shop"},
        "sum by (ns, pod_name, container_name) (kube_pod_container_resource_limits"
        '{job="ksm",ns="shop",resource="memory"})',
    ),
    (
        "apps_network_receive",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (ns, pod_name) (max by (ns, pod_name, interface) "
        '(rate(container_network_receive_bytes_total{job="cadvisor",ns="shop"}'
        "[$__rate_interval])))",
    ),
    (
        "apps_network_transmit",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (ns, pod_name) (max by (ns, pod_name, interface) "
        '(rate(container_network_transmit_bytes_total{job="cadvisor",ns="shop"}'
        "[$__rate_interval])))",
    ),
    (
        "apps_restarts",
        {"window": "1h", "app": "shop"},
        "sum by (ns, pod_name, container_name) (increase(kube_pod_container_status_restarts_total"
        '{job="ksm",ns="shop"}[1h]))',
    ),
    (
        "apps_pods_unhealthy",
        {"app": "shop"},
        "sum by (ns, pod_name, phase) (kube_pod_status_phase"
        '{job="ksm",ns="shop",phase=~"Failed|Unknown"})',
    ),
    (
        "apps_volume_used_ratio",
        {"app": "shop"},
        "max by (ns, persistentvolumeclaim) (kubelet_volume_stats_used_bytes"
        '{job="kubelet-volumes",ns="shop"} / kubelet_volume_stats_capacity_bytes'
        '{job="kubelet-volumes",ns="shop"})',
    ),
    (
        "apps_pods_by_phase",
        {"app": "shop"},
        'max by (app, proc, phase) (kubernetes_app_pods{job="wf-logger",app="shop"})',
    ),
    (
        "apps_crash_looping",
        {"window": "$__range", "app": "shop"},
        "max by (app, proc) (max_over_time(kubernetes_app_waiting_containers"
        '{job="wf-logger",app="shop",reason="CrashLoopBackOff"}[$__range]))',
    ),
    (
        "apps_oom_kills",
        {"window": "$__rate_interval", "app": "shop"},
        "max by (app, proc) (increase(kubernetes_app_oom_kills_total"
        '{job="wf-logger",app="shop"}[$__rate_interval]))',
    ),
    (
        "apps_watched_restarts",
        {"window": "1h", "app": "shop"},
        "max by (app, proc) (increase(kubernetes_app_container_restarts_total"
        '{job="wf-logger",app="shop"}[1h]))',
    ),
    (
        "apps_last_terminated",
        {"app": "shop"},
        "max by (app, proc, reason) (kubernetes_app_last_terminated_containers"
        '{job="wf-logger",app="shop"})',
    ),
    (
        "apps_error_lines_rate",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (app) (rate(logger_app_level_lines_total"
        '{job="wf-logger",app="shop",level=~"error|fatal"}[$__rate_interval]))',
    ),
    (
        "apps_log_bytes_rate",
        {"window": "$__rate_interval", "app": "shop"},
        'sum by (app) (rate(logger_app_bytes_total{job="wf-logger",app="shop"}[$__rate_interval]))',
    ),
    (
        "app_drain_delivered_rate",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (app, drain_id, scheme) (rate(logger_drain_delivered_lines_total"
        '{job="wf-logger",app="shop"}[$__rate_interval]))',
    ),
    (
        "app_drain_dropped_rate",
        {"window": "$__rate_interval", "app": "shop"},
        "sum by (app, drain_id, reason) (rate(logger_drain_dropped_lines_total"
        '{job="wf-logger",app="shop"}[$__rate_interval]))',
    ),
    (
        "app_drain_backing_off",
        {"app": "shop"},
        "max by (app, drain_id) (logger_drain_state"
        '{job="wf-logger",app="shop",state="backing_off"})',
    ),
    ("platform_apps", {}, 'count(count by (ns) (kube_pod_status_phase{job="ksm"} > 0))'),
    ("platform_pods_by_phase", {}, 'sum by (phase) (kube_pod_status_phase{job="ksm"})'),
]


@pytest.mark.parametrize(
    ("name", "arguments", "expected"), ALL_APPS_DEFAULT, ids=[c[0] for c in ALL_APPS_DEFAULT]
)
def test_every_app_queries_with_the_defaults(
    name: str, arguments: dict[str, str], expected: str
) -> None:
    assert getattr(Catalog(), name)(**arguments) == expected


@pytest.mark.parametrize(
    ("name", "arguments", "expected"), ONE_APP_CUSTOM, ids=[c[0] for c in ONE_APP_CUSTOM]
)
def test_every_app_queries_narrowed_to_one_app_with_other_names(
    name: str, arguments: dict[str, str], expected: str
) -> None:
    assert getattr(Catalog(CUSTOM), name)(**arguments) == expected


def test_the_every_app_queries_are_all_tested_and_named_once() -> None:
    names = set(Catalog().apps("5m")) | {"app_names"}
    assert names == {case[0] for case in ALL_APPS_DEFAULT}
    assert names == {case[0] for case in ONE_APP_CUSTOM}
    others = {**Catalog().app("shop", "web", "5m"), **Catalog().pipeline("5m")}
    assert not set(others) & names


def test_no_query_group_shadows_another() -> None:
    """The groups are mixed into one Catalog: a method (private helpers too)
    defined in two of them would silently call the wrong one."""
    groups = (Selectors, AppQueries, AppsQueries, PipelineQueries)
    defined = [name for group in groups for name in vars(group) if not name.startswith("__")]
    assert sorted(name for name in set(defined) if defined.count(name) > 1) == []


def test_every_app_queries_escape_the_app() -> None:
    catalog = Catalog()
    hostile = 'x"}) or vector(1) #'
    assert 'namespace="x\\"}) or vector(1) #"' in catalog.apps_cpu_usage("5m", hostile)
    assert 'app="x\\"}) or vector(1) #"' in catalog.apps_error_lines_rate("5m", hostile)
    # A Grafana variable passes through as a label value, not a regex.
    assert '{job="kubelet",namespace="$app"}' in catalog.apps_network_receive("5m", "$app")
    assert 'app="$app"' in catalog.app_drain_backing_off("$app")
    with pytest.raises(ValueError, match="not a PromQL duration"):
        catalog.apps_restarts("5m]) or vector(1")
