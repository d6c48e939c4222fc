"""values.schema.json: every value typed and described, nothing unknown
accepted, and a wrong value fails with a message naming it; the chart's
own checks stop a release that could not work."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import pytest
import yaml

from chartgen.assets import CHART
from tests.charts.chart import render

SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        found.extend(walk(child, f"{path}.{name}"))
    return found


def test_every_value_is_typed_and_described() -> None:
    for path, node in walk(SCHEMA)[1:]:
        assert "type" in node or "anyOf" in node, path
        assert node.get("description"), path
        if node.get("type") == "object" and "properties" in node:
            assert node["additionalProperties"] is False, path


def test_the_schema_covers_exactly_the_values() -> None:
    def leaves(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> None:
        assert set(values) == set(schema["properties"]), path
        for name, value in values.items():
            child = schema["properties"][name]
            if isinstance(value, dict) and "properties" in child:
                leaves(value, child, f"{path}.{name}")

    leaves(yaml.safe_load((CHART / "values.yaml").read_text()), SCHEMA)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"logger": {"replicas": "three"}}, "/logger/replicas"),
        ({"logger": {"replica": 3}}, "replica"),
        ({"rules": {"kind": "PrometheusRule"}}, "/rules/kind"),
        ({"forward": {"port": 70000}}, "/forward/port"),
        ({"logger": {"maxBufferBytes": "lots"}}, "/logger/maxBufferBytes"),
        ({"controller": {"database": {"secretName": ""}}}, "/controller/database/secretName"),
    ],
)
def test_a_wrong_value_fails_with_a_message(values: dict[str, Any], message: str) -> None:
    chart = helm_python.Chart.load(CHART)
    with pytest.raises(helm_python.HelmValuesError, match=message):
        chart.render(values, name="wf", namespace="workflow")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"logger": {"replicas": 2}, "watcher": {"enabled": False}}, "needs the shared store"),
        (
            {"logger": {"replicas": 2}, "redis": {"enabled": True}, "watcher": {"enabled": False}},
            "needs logger.history.quickwitUrl",
        ),
        (
            {
                "logger": {"replicas": 2, "history": {"quickwitUrl": "http://quickwit:7280"}},
                "redis": {"enabled": True},
            },
            "no leader election",
        ),
        ({"redis": {"enabled": True, "externalUrl": True}}, "exclude each other"),
        ({"forward": {"tls": {"certManager": {"enabled": True}}}}, "issuerName"),
        ({"forward": {"tls": {"enabled": False}}}, "--no-tls"),
    ],
)
def test_a_release_that_cannot_work_fails_with_a_message(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(values)
