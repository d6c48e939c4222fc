"""The catalog builds its queries from the settings, escapes what it is given,
and names every query the dashboards and alerts need."""

from __future__ import annotations

import pytest

from metrics.catalog import CURRENT_METRICS, Catalog, quote, regex_literal
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
