"""Every panel query and every rule, run against a real VictoriaMetrics fed
by the real logger exporter and synthetic container series; vmalert loads
the rule files there and drives an app alert and a pipeline alert to firing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import DASHBOARDS, GENERATED, dashboard_json
from dashboards.rules.recording import RECORDS
from tests.dashboards.stack import APP, Stack, running_stack
from tests.support.victoriametrics import VmAlert

RULES = sorted((GENERATED / "rules").glob("*.yaml"))
# Grafana's variables as a viewer of the app overview would have them.
VARIABLES = {"$__rate_interval": "1m", "$app": APP}


def targets(uid: str) -> list[tuple[str, str]]:
    """(panel title, expression) of every query of a dashboard."""
    model = dashboard_json(DASHBOARDS[uid])
    return [
        (panel["title"], target["expr"])
        for panel in model["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def resolve(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer.get("status") == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def fast_copies(folder: Path) -> list[Path]:
    """The rule files with every group evaluated each second and every `for`
    at zero, so a test sees alerts fire in seconds; expressions, labels and
    annotations stay as generated."""
    copies = []
    for path in RULES:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in content["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        copy = folder / path.name
        copy.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        copies.append(copy)
    return copies


@pytest.fixture(scope="module")
def vmalert(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VmAlert]:
    folder = tmp_path_factory.mktemp("vmalert")
    alert = VmAlert(folder, fast_copies(folder), stack.vm)
    alert.start()
    yield alert
    alert.stop()


def wait_for_data(stack: Stack, expr: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = series(stack.vm.query_range(expr, seconds=300, step="5s"))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.parametrize("uid", ["wf-app-overview", "wf-logger-pipeline"])
def test_every_app_and_pipeline_panel_returns_data(stack: Stack, uid: str) -> None:
    empty = [
        (title, expr)
        for title, expr in targets(uid)
        if not wait_for_data(stack, resolve(expr), timeout=10.0)
    ]
    assert empty == []


def test_every_platform_panel_runs_and_returns_data(stack: Stack, vmalert: VmAlert) -> None:
    # The top-apps panel reads a recorded series: vmalert writes it.
    for title, expr in targets("wf-platform-overview"):
        assert wait_for_data(stack, resolve(expr), timeout=15.0), title


def test_app_panels_show_the_app_they_select(stack: Stack) -> None:
    """The error-line panel counts the ERROR lines sent, the CPU panel the
    0.9 cores imported: real values, not just any series."""
    titles: dict[str, str] = {}
    for title, expr in targets("wf-app-overview"):
        titles.setdefault(title, expr)  # the usage, not the limit
    errors = series(stack.vm.query(resolve(titles["Error lines per second"])))
    assert float(errors[0]["value"][1]) > 0
    cpu = series(stack.vm.query(resolve(titles["CPU by container"])))
    assert {s["metric"]["pod"] for s in cpu} == {"shop-web-5d8f7c9b4-x2x9z"}
    assert float(cpu[0]["value"][1]) == pytest.approx(0.9, rel=0.05)


def test_vmalert_dry_run_accepts_the_rule_files(tmp_path: Path, stack: Stack) -> None:
    done = VmAlert(tmp_path, RULES, stack.vm).dry_run()
    assert done.returncode == 0, done.stdout + done.stderr


def test_vmalert_evaluates_every_rule_without_error(vmalert: VmAlert) -> None:
    expected = sum(
        len(group["rules"])
        for path in RULES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    )
    deadline = time.monotonic() + 10
    while True:
        rules = [rule for group in vmalert.groups() for rule in group["rules"]]
        evaluated = [r for r in rules if not r["lastEvaluation"].startswith("0001-")]
        if len(rules) == expected and len(evaluated) == expected:
            break
        assert time.monotonic() < deadline, rules
        time.sleep(0.5)
    assert [(r["name"], r["lastError"]) for r in rules if r.get("lastError")] == []


def test_recording_rules_reach_victoriametrics(stack: Stack, vmalert: VmAlert) -> None:
    for record in RECORDS:
        assert stack.vm.wait_for(record.record, timeout=15.0), record.record


def test_an_app_alert_fires_in_vmalert(vmalert: VmAlert) -> None:
    alert = vmalert.wait_firing("AppVolumeFull")
    assert alert["labels"]["namespace"] == APP
    assert alert["labels"]["persistentvolumeclaim"] == "data-shop-0"
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == "Volume data-shop-0 of shop is over 80% full"
    assert alert["annotations"]["runbook_url"] == "docs/runbooks.md#appvolumefull"


def test_a_pipeline_alert_fires_in_vmalert_from_the_real_logger(vmalert: VmAlert) -> None:
    alert = vmalert.wait_firing("LogDrainDroppingLines")
    assert alert["labels"]["app"] == APP
    assert alert["labels"]["reason"] == "buffer_overflow"
    assert alert["labels"]["scheme"] == "http"
    assert alert["annotations"]["summary"] == "A http drain of app shop is dropping lines"
    assert alert["annotations"]["runbook_url"] == "docs/runbooks.md#logdraindroppinglines"


def test_an_app_alert_on_a_recorded_series_fires_in_vmalert(vmalert: VmAlert) -> None:
    """AppCPUHigh reads the recorded CPU rate: recording rule, remote write
    into VictoriaMetrics and the alert, end to end (0.9 of a 1-core limit)."""
    alert = vmalert.wait_firing("AppCPUHigh")
    assert alert["labels"]["container"] == "web"
    assert float(alert["value"]) == pytest.approx(0.9, rel=0.05)
    assert alert["annotations"]["description"].startswith(
        "Container web of pod shop-web-5d8f7c9b4-x2x9z (app shop) uses "
    )


def test_alerts_fire_with_cause_and_stay_silent_without(vmalert: VmAlert) -> None:
    """The real logger discarded, errored and dropped; the imported app
    restarted, crash-looped and was OOM-killed (as the Kubernetes watcher
    would export it). Nothing is down, evicted, Failed, or near its memory limit
    (0.3 GB of 1 GB)."""
    caused = {
        "LoggerDiscardingLines",
        "LoggerIngestErrors",
        "LogDrainDroppingLines",
        "LogDrainBackingOff",
        "AppContainerRestarts",
        "AppVolumeFull",
        "AppPodCrashLooping",
        "AppOOMKilled",
    }
    for name in sorted(caused):
        vmalert.wait_firing(name)
    active = {a["name"] for a in vmalert.alerts()}
    assert not active & {
        "LoggerDown",
        "LoggerAbsent",
        "LoggerRingEvictions",
        "AppPodNotHealthy",
        "AppMemoryHigh",
    }
