"""The Fluent Bit config generator: byte-stable text, secrets kept out, every
key accepted by the real Fluent Bit 5.1.1 (`--dry-run`), and the config shown
in docs/collectors.md kept in step with the defaults."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from collectors.fluent_bit import (
    ConfigError,
    EnvSecret,
    FluentBitSettings,
    InlineSecret,
    LoggerAddress,
    build_config,
    render_config,
)
from collectors.fluent_bit.config import tail_tag_prefix
from controller.cli.main import cli
from tests.support.peers import REPOSITORY, require_fluent_bit

DOC = REPOSITORY / "docs" / "collectors.md"
# Every option away from its default.
EVERYTHING_ON = FluentBitSettings(
    loggers=(LoggerAddress("logger-0.logger", 24224), LoggerAddress("logger-1.logger", 24225)),
    tls=True,
    tls_verify=True,
    tls_ca_file="/etc/workflow/logger-ca.pem",
    shared_key=EnvSecret("LOGGER_KEY"),
    username="node-shipper",
    password=EnvSecret("LOGGER_PASSWORD"),
    excluded_namespaces=("monitoring", "kube-system"),
    log_path="/data/logs/containers/*.log",
    db_path="/data/fluent-bit/tail.db",
    storage_path="/data/fluent-bit/buffer",
    storage_total_limit_size="5G",
    mem_buf_limit="64M",
    metrics_listen="127.0.0.1",
    metrics_port=2021,
    config_path="/etc/fluent-bit/pipeline.yaml",
    kube_url="http://127.0.0.1:9",
    kube_meta_preload_cache_dir="/data/fluent-bit/meta",
    flush_seconds=0.5,
    refresh_interval_seconds=2,
    scheduler_base_seconds=1,
    scheduler_cap_seconds=10,
    log_level="debug",
)


def parsed(settings: FluentBitSettings) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_config(settings))
    return loaded


def test_the_text_is_a_pure_function_of_the_settings() -> None:
    first = render_config(FluentBitSettings())
    assert render_config(FluentBitSettings()) == first
    assert render_config(EVERYTHING_ON) != first
    # What is emitted is exactly the data built, nothing added on the way.
    assert parsed(EVERYTHING_ON) == build_config(EVERYTHING_ON)


def test_the_pipeline_is_tail_kubernetes_forward() -> None:
    config = parsed(FluentBitSettings())
    (tail,) = config["pipeline"]["inputs"]
    (kubernetes,) = config["pipeline"]["filters"]
    (forward,) = config["pipeline"]["outputs"]
    assert tail["name"] == "tail"
    assert tail["multiline.parser"] == "docker, cri"
    assert tail["storage.type"] == "filesystem"
    assert tail["skip_long_lines"] is True
    assert tail["exclude_path"].split(",") == [
        f"/var/log/containers/*_{namespace}_*.log"
        for namespace in ("drycc", "kube-node-lease", "kube-public", "kube-system")
    ]
    assert kubernetes["kube_tag_prefix"] == "kube.var.log.containers."
    assert (kubernetes["labels"], kubernetes["annotations"]) == (True, False)
    assert (kubernetes["merge_log"], kubernetes["keep_log"]) == (True, True)
    assert "kube_meta_preload_cache_dir" not in kubernetes
    assert forward["upstream"] == "/fluent-bit/etc/fluent-bit.yaml"
    assert forward["storage.total_limit_size"] == "1G"
    assert forward["retry_limit"] == "no_limits"
    assert config["service"]["http_server"] is True


def test_every_logger_is_an_upstream_node_with_the_forward_settings() -> None:
    (group,) = parsed(EVERYTHING_ON)["upstream_servers"]
    assert [(node["host"], node["port"]) for node in group["nodes"]] == [
        ("logger-0.logger", 24224),
        ("logger-1.logger", 24225),
    ]
    for node in group["nodes"]:
        assert node["tls"] is True
        assert node["tls.verify"] is True
        assert node["tls.ca_file"] == "/etc/workflow/logger-ca.pem"
        assert node["shared_key"] == "${LOGGER_KEY}"
        assert (node["username"], node["password"]) == ("node-shipper", "${LOGGER_PASSWORD}")
        assert node["require_ack_response"] is True


def test_the_kubernetes_tag_prefix_follows_the_log_folder() -> None:
    assert tail_tag_prefix(EVERYTHING_ON) == "kube.data.logs.containers."
    (kubernetes,) = parsed(EVERYTHING_ON)["pipeline"]["filters"]
    assert kubernetes["kube_tag_prefix"] == "kube.data.logs.containers."


def test_without_tls_or_key_the_nodes_say_so() -> None:
    settings = FluentBitSettings(tls=False, shared_key=None)
    (node,) = parsed(settings)["upstream_servers"][0]["nodes"]
    assert node["tls"] is False
    assert "shared_key" not in node
    assert "tls.verify" not in node


def test_secrets_are_references_unless_inlined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_BIT_SHARED_KEY", "the-real-shared-key")
    monkeypatch.setenv("FLUENT_BIT_PASSWORD", "the-real-password")
    runner = CliRunner()
    plain = runner.invoke(cli, ["collectors", "fluent-bit-config", "--username", "u"])
    assert plain.exit_code == 0, plain.output
    assert "the-real" not in plain.output
    assert "${FLUENT_BIT_SHARED_KEY}" in plain.output
    assert "${FLUENT_BIT_PASSWORD}" in plain.output
    inlined = runner.invoke(
        cli, ["collectors", "fluent-bit-config", "--username", "u", "--inline-secrets"]
    )
    assert inlined.exit_code == 0, inlined.output
    assert "the-real-shared-key" in inlined.output
    assert "the-real-password" in inlined.output
    assert "the-real" not in repr(InlineSecret("the-real-shared-key"))


def test_the_cli_writes_the_defaults_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "fluent-bit.yaml"
    result = CliRunner().invoke(cli, ["collectors", "fluent-bit-config", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == render_config(FluentBitSettings())


def test_the_cli_takes_several_loggers_and_namespaces() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "collectors",
            "fluent-bit-config",
            "--logger",
            "a.logger:24224",
            "--logger",
            "b.logger",
            "--exclude-namespace",
            "ops",
            "--no-tls",
        ],
    )
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    nodes = config["upstream_servers"][0]["nodes"]
    assert [(n["host"], n["port"], n["tls"]) for n in nodes] == [
        ("a.logger", 24224, False),
        ("b.logger", 24224, False),
    ]
    assert config["pipeline"]["inputs"][0]["exclude_path"] == "/var/log/containers/*_ops_*.log"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--logger", "logger:http"], "the port must be a number"),
        (["--logger", "bad host:1"], "is not a host name"),
        (["--logger", "a:1", "--logger", "a:1"], "listed twice"),
        (["--exclude-namespace", "Not_A_Namespace"], "is not a namespace name"),
        (["--log-path", "relative/*.log"], "log_path must be an absolute path"),
        (["--log-path", "/var/log/*/x.log"], "folder without wildcards"),
        (["--storage-total-limit-size", "lots"], "storage_total_limit_size must be a size"),
        (["--shared-key-env", "NOT-A-NAME"], "is not an environment variable name"),
        (["--scheduler-base", "10", "--scheduler-cap", "5"], "at most the cap"),
        (["--log-level", "loud"], "log_level must be one of"),
        (["--kube-url", "kubernetes:443"], "kube_url must be"),
    ],
)
def test_bad_options_fail_with_a_message_naming_them(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["collectors", "fluent-bit-config", *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_inlined_secret_cannot_smuggle_a_reference() -> None:
    with pytest.raises(ConfigError, match="cannot contain"):
        InlineSecret("${HOME}")


@pytest.mark.parametrize(
    "settings", [FluentBitSettings(), EVERYTHING_ON], ids=["defaults", "everything-on"]
)
def test_the_real_fluent_bit_accepts_the_config(
    settings: FluentBitSettings, tmp_path: Path
) -> None:
    binary = require_fluent_bit()
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(render_config(settings))
    result = subprocess.run(
        [str(binary), "-c", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration test is successful" in result.stdout + result.stderr


def test_the_dry_run_does_reject_an_unknown_key(tmp_path: Path) -> None:
    """So that the test above can fail: a misspelt key is refused."""
    binary = require_fluent_bit()
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(render_config(FluentBitSettings()).replace("skip_long_lines", "skip_long"))
    result = subprocess.run(
        [str(binary), "-c", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "configuration test is successful" not in result.stdout + result.stderr


def test_the_docs_show_the_defaults_output() -> None:
    text = DOC.read_text()
    match = re.search(r"<!-- generated: defaults -->\n```yaml\n(.*?)```\n", text, re.DOTALL)
    assert match is not None, "docs/collectors.md lost its generated config block"
    assert match.group(1) == render_config(FluentBitSettings())
