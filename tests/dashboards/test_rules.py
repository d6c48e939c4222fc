"""Alert and recording rules: promtool accepts them, every alert is proven
by a promtool unit test (firing with its labels and annotations, and
silent), and every alert carries what an operator needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import GENERATED
from dashboards.rules.alerts import app_alerts, logger_alerts
from tests.support.services import require_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((GENERATED / "rules").glob("*.yaml"))
RULE_TESTS = sorted((ROOT / "dashboards" / "rules_tests").glob("*.test.yaml"))
RUNBOOKS = ROOT / "docs" / "runbooks.md"
ALERTS = [*logger_alerts(), *app_alerts()]


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool")
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def rule_files() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in RULES]


def github_anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub renders them."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_promtool_check_rules() -> None:
    done = promtool("check", "rules", *map(str, RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULES)


def test_promtool_unit_tests_pass() -> None:
    done = promtool("test", "rules", *map(str, RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_firing_and_a_silent_promtool_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                expected = check.get("exp_alerts") or []
                (firing if expected else silent).add(check["alertname"])
                for alert in expected:
                    assert {"summary", "description", "runbook_url"} <= set(
                        alert["exp_annotations"]
                    ), check["alertname"]
                    assert "severity" in alert["exp_labels"], check["alertname"]
    names = {alert.name for alert in ALERTS}
    assert firing == names
    assert silent == names


@pytest.mark.parametrize(
    ("needle", "replacement"),
    [
        ("> 0.8", "> 0.95"),  # a threshold moved: AppCPUHigh, AppMemoryHigh, AppVolumeFull
        ("for: 15m", "for: 45m"),  # a `for` lengthened
        ("runbook_url: docs/runbooks.md#", "runbook_url: docs/runbook.md#"),
    ],
)
def test_promtool_unit_tests_catch_a_changed_rule(
    tmp_path: Path, needle: str, replacement: str
) -> None:
    generated = tmp_path / "generated" / "rules"
    shutil.copytree(GENERATED / "rules", generated)
    tests = tmp_path / "rules_tests"
    shutil.copytree(ROOT / "dashboards" / "rules_tests", tests)
    for path in generated.glob("*.yaml"):
        path.write_text(path.read_text().replace(needle, replacement))
    done = promtool("test", "rules", *map(str, sorted(tests.glob("*.test.yaml"))))
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr


def test_every_alert_has_severity_for_annotations_and_a_runbook_section() -> None:
    anchors = github_anchors(RUNBOOKS.read_text(encoding="utf-8"))
    seen = []
    for content in rule_files():
        for group in content["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                seen.append(rule["alert"])
                assert rule["labels"]["severity"] in {"critical", "warning"}
                assert re.fullmatch(r"[0-9]+[smh]", rule["for"])
                notes = rule["annotations"]
                assert notes["summary"]
                assert notes["description"]
                page, anchor = notes["runbook_url"].split("#")
                assert page == "docs/runbooks.md"
                assert anchor in anchors, f"no section for {rule['alert']} in {RUNBOOKS}"
    assert sorted(seen) == sorted(alert.name for alert in ALERTS)


def test_recording_rules_are_used() -> None:
    """Each recorded series is read by an alert or a dashboard."""
    text = "\n".join(path.read_text() for path in RULES + sorted(GENERATED.glob("*.json")))
    for content in rule_files():
        for group in content["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    assert text.count(rule["record"]) >= 2, rule["record"]
