"""The generated dashboards type-check against Grafana's published schema
types (@grafana/schema, with tsc)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, dashboard_json
from dashboards.schema_check import typecheck
from tests.support.services import require_binary


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, Any]]:
    require_binary("node")
    require_binary("npm")
    return {uid.replace("-", "_"): dashboard_json(build) for uid, build in DASHBOARDS.items()}


def test_generated_dashboards_match_grafana_schema(models: dict[str, dict[str, Any]]) -> None:
    ok, output = typecheck(models)
    assert ok, output


def test_schema_check_catches_a_wrong_type_and_an_unknown_key(
    models: dict[str, dict[str, Any]],
) -> None:
    broken = copy.deepcopy(models["wf_logger_pipeline"])
    broken["panels"][1]["gridPos"]["w"] = "wide"
    broken["templating"]["list"][0]["colour"] = "blue"
    ok, output = typecheck({"broken": broken})
    assert not ok
    assert "Type 'string' is not assignable to type 'number'" in output
    assert "'\"colour\"' does not exist" in output
