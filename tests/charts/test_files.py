"""What the chart embeds is what the generators make: the Fluent Bit config
is `wf collectors fluent-bit-config`'s output byte for byte (and the real
Fluent Bit accepts the rendered one), the dashboards and rules are
dashboards/generated/ byte for byte (promtool checks the rendered rules)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from chartgen.assets import CERT_MANAGER_CA, FILES, expected_files
from controller.cli.main import cli
from dashboards.build import GENERATED
from tests.charts.chart import find, profile_values, render
from tests.support.peers import require_fluent_bit
from tests.support.services import free_port, require_binary, stop_process


def generated(*arguments: str) -> str:
    result = CliRunner().invoke(cli, ["collectors", "fluent-bit-config", *arguments])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_chart_files_are_the_generators_output() -> None:
    """`make chart-files` after a change to a generator."""
    expected = expected_files()
    on_disk = {path for path in FILES.rglob("*") if path.is_file()}
    assert on_disk == set(expected)
    for path, content in expected.items():
        assert path.read_bytes() == content, f"{path} is stale: run `make chart-files`"


def rendered_fluent_bit(values: dict[str, object]) -> str:
    config: str = find(render(values), "ConfigMap", "workflow-fluent-bit")["data"][
        "fluent-bit.yaml"
    ]
    return config


def test_the_rendered_fluent_bit_config_is_the_generators_output() -> None:
    assert rendered_fluent_bit({}) == generated()
    cert_manager = rendered_fluent_bit(profile_values("tls-cert-manager"))
    assert cert_manager == generated("--tls-ca-file", CERT_MANAGER_CA)


def test_a_config_given_in_the_values_is_rendered_unchanged() -> None:
    config = generated("--no-tls", "--logger", "workflow-logger:24224", "--flush", "2")
    values = {"forward": {"tls": {"enabled": False}}, "fluentBit": {"config": config}}
    assert rendered_fluent_bit(values) == config


@pytest.mark.parametrize("profile", ["defaults", "tls-cert-manager"])
def test_the_real_fluent_bit_accepts_the_rendered_config(profile: str, tmp_path: Path) -> None:
    binary = require_fluent_bit()
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(rendered_fluent_bit(profile_values(profile)))
    result = subprocess.run(
        [str(binary), "-c", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration test is successful" in result.stdout + result.stderr


def test_the_rendered_dashboards_are_the_generated_ones() -> None:
    objects = render()
    dashboards = sorted(GENERATED.glob("*.json"))
    assert dashboards
    for path in dashboards:
        config_map = find(objects, "ConfigMap", f"{path.stem}-dashboard")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["data"] == {path.name: path.read_text()}


def rules_files() -> list[Path]:
    return sorted((GENERATED / "rules").glob("*.yaml"))


def promtool_check(paths: list[Path]) -> None:
    binary = require_binary("promtool")
    done = subprocess.run(
        [binary, "check", "rules", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(paths)


def test_the_rendered_rules_config_map_is_the_generated_files(tmp_path: Path) -> None:
    config_map = find(render({"rules": {"kind": "ConfigMap"}}), "ConfigMap", "workflow-rules")
    assert config_map["data"] == {path.name: path.read_text() for path in rules_files()}
    written = []
    for name, text in config_map["data"].items():
        written.append(tmp_path / name)
        written[-1].write_text(text)
    promtool_check(written)


def test_the_rendered_vmrules_hold_the_generated_groups(tmp_path: Path) -> None:
    objects = render()
    written = []
    for path in rules_files():
        name = "workflow-" + path.stem.replace(".", "-")
        spec = find(objects, "VMRule", name)["spec"]
        assert spec == yaml.safe_load(path.read_text())
        written.append(tmp_path / path.name)
        written[-1].write_text(yaml.safe_dump(spec))
    promtool_check(written)


def test_the_fluent_bit_probes_answer_on_the_rendered_http_server(tmp_path: Path) -> None:
    """The DaemonSet's probe paths against the real Fluent Bit, serving
    HTTP as the rendered config's `service` section says (on a free port:
    the tail input and the kubernetes filter need a node and an API server,
    so a dummy input stands in for them here)."""
    binary = require_fluent_bit()
    objects = render()
    service = yaml.safe_load(
        find(objects, "ConfigMap", "workflow-fluent-bit")["data"]["fluent-bit.yaml"]
    )["service"]
    container = find(objects, "DaemonSet", "workflow-fluent-bit")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["ports"] == [
        {"name": "http", "containerPort": service["http_port"], "protocol": "TCP"}
    ]
    port = free_port()
    config = {
        "service": {
            **service,
            "http_listen": "127.0.0.1",
            "http_port": port,
            "storage.path": str(tmp_path),
        },
        "pipeline": {
            "inputs": [{"name": "dummy", "tag": "probe"}],
            "outputs": [{"name": "null", "match": "*"}],
        },
    }
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [str(binary), "-c", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for probe in ("livenessProbe", "readinessProbe"):
            url = f"http://127.0.0.1:{port}{container[probe]['httpGet']['path']}"
            deadline = time.monotonic() + 15
            status = None
            while time.monotonic() < deadline:
                try:
                    status = httpx.get(url, timeout=2).status_code
                except httpx.TransportError:
                    status = None
                if status == 200:
                    break
                time.sleep(0.1)
            assert status == 200, (probe, url, status)
    finally:
        stop_process(process)
