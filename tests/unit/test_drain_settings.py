"""DrainSettings.from_env: defaults, parsing, and errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from logger.drains.destinations import DEFAULT_DENY_HOSTS, HostList
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.settings import HttpSinkSettings
from logger.drains.sinks.syslog.settings import SyslogSinkSettings
from logger.errors import SettingsError


def test_defaults() -> None:
    settings = DrainSettings.from_env({"HOME": "/home/dev"})
    assert settings == DrainSettings(
        state_file=Path("/home/dev/.local/state/workflow/drains.json"),
        per_app=6,
        buffer_lines=10_000,
        batch_lines=500,
        batch_bytes=1 << 20,
        retry_base=0.5,
        retry_max=30.0,
        connect_timeout=10.0,
        send_timeout=30.0,
        flush_timeout=2.0,
        ca_file=None,
        max_buffer_bytes=64 << 20,
        allow_destinations=HostList(),
        deny_hosts=HostList.parse(",".join(DEFAULT_DENY_HOSTS), "", networks=False),
        checkpoint_interval=5.0,
        syslog=SyslogSinkSettings(
            udp_max_bytes=2048,
            hostname="",
            facility=1,
            linger=0.005,
            retries=10,
            confirm_wait=0.2,
        ),
        http=HttpSinkSettings(batch_interval=0.5, retries=2),
    )


def test_state_file_follows_xdg_state_home() -> None:
    settings = DrainSettings.from_env({"XDG_STATE_HOME": "/var/lib/wf", "HOME": "/home/dev"})
    assert settings.state_file == Path("/var/lib/wf/workflow/drains.json")
    assert DrainSettings().state_file is None  # built in code: in memory only


def test_every_variable_is_read(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = DrainSettings.from_env(
        {
            "WF_DRAINS_STATE_FILE": str(tmp_path / "d.json"),
            "WF_DRAINS_PER_APP": "2",
            "WF_DRAIN_BUFFER_LINES": "50",
            "WF_DRAIN_BATCH_LINES": "10",
            "WF_DRAIN_BATCH_BYTES": "64KiB",
            "WF_DRAIN_BATCH_INTERVAL": "0.25",
            "WF_DRAIN_RETRY_BASE": "0.1",
            "WF_DRAIN_RETRY_MAX": "5",
            "WF_DRAIN_CONNECT_TIMEOUT": "3",
            "WF_DRAIN_SEND_TIMEOUT": "4",
            "WF_DRAIN_FLUSH_TIMEOUT": "0",
            "WF_DRAIN_CA_FILE": str(ca),
            "WF_DRAIN_UDP_MAX_BYTES": "1200",
            "WF_DRAIN_SYSLOG_HOSTNAME": "wf-logger",
            "WF_DRAIN_SYSLOG_FACILITY": "16",
            "WF_DRAIN_SYSLOG_LINGER": "0.02",
            "WF_DRAIN_SYSLOG_RETRIES": "3",
            "WF_DRAIN_SYSLOG_CONFIRM_WAIT": "0.5",
            "WF_DRAIN_HTTP_RETRIES": "4",
            "WF_DRAINS_MAX_BUFFER_BYTES": "8MiB",
            "WF_DRAINS_ALLOW_DESTINATIONS": "10.0.0.0/8, logs.internal, *.corp.example",
            "WF_DRAINS_DENY_HOSTS": "*.svc",
            "WF_DRAINS_CHECKPOINT_INTERVAL": "1",
        }
    )
    assert settings == DrainSettings(
        state_file=tmp_path / "d.json",
        per_app=2,
        buffer_lines=50,
        batch_lines=10,
        batch_bytes=65536,
        retry_base=0.1,
        retry_max=5.0,
        connect_timeout=3.0,
        send_timeout=4.0,
        flush_timeout=0.0,
        ca_file=ca,
        max_buffer_bytes=8 << 20,
        allow_destinations=HostList.parse(
            "10.0.0.0/8, logs.internal, *.corp.example", "WF_DRAINS_ALLOW_DESTINATIONS"
        ),
        deny_hosts=HostList.parse("*.svc", "WF_DRAINS_DENY_HOSTS", networks=False),
        checkpoint_interval=1.0,
        syslog=SyslogSinkSettings(
            udp_max_bytes=1200,
            hostname="wf-logger",
            facility=16,
            linger=0.02,
            retries=3,
            confirm_wait=0.5,
        ),
        http=HttpSinkSettings(batch_interval=0.25, retries=4),
    )


@pytest.mark.parametrize("value", ["none", "off", "-", "NONE"])
def test_state_file_can_be_turned_off(value: str) -> None:
    assert DrainSettings.from_env({"WF_DRAINS_STATE_FILE": value}).state_file is None


INVALID = [
    ({"WF_DRAINS_PER_APP": "0"}, "WF_DRAINS_PER_APP must be at least 1, got 0"),
    (
        {"WF_DRAIN_BUFFER_LINES": "lots"},
        "WF_DRAIN_BUFFER_LINES must be a whole number, got 'lots'",
    ),
    (
        {"WF_DRAIN_UDP_MAX_BYTES": "100"},
        "WF_DRAIN_UDP_MAX_BYTES must be at least 480 and at most 65507, got 100",
    ),
    (
        {"WF_DRAIN_SYSLOG_FACILITY": "24"},
        "WF_DRAIN_SYSLOG_FACILITY must be at least 0 and at most 23, got 24",
    ),
    (
        {"WF_DRAIN_RETRY_BASE": "2", "WF_DRAIN_RETRY_MAX": "1"},
        "WF_DRAIN_RETRY_MAX (1.0) must not be below WF_DRAIN_RETRY_BASE (2.0)",
    ),
    (
        {"WF_DRAIN_CA_FILE": "/nonexistent/ca.pem"},
        "WF_DRAIN_CA_FILE must name a PEM file, /nonexistent/ca.pem is not a file",
    ),
    (
        {"WF_DRAIN_SYSLOG_HOSTNAME": "my host"},
        "WF_DRAIN_SYSLOG_HOSTNAME must be 1 to 255 printable ASCII characters without spaces, "
        "got 'my host'",
    ),
    (
        {"WF_DRAINS_ALLOW_DESTINATIONS": "10.0.0.0/8, not a host"},
        "WF_DRAINS_ALLOW_DESTINATIONS must list CIDRs or host names, 'not a host' is neither",
    ),
    (
        {"WF_DRAINS_DENY_HOSTS": "10.0.0.0/8"},
        "WF_DRAINS_DENY_HOSTS lists host names only, got '10.0.0.0/8'",
    ),
]


@pytest.mark.parametrize(("environ", "message"), INVALID)
def test_invalid_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        DrainSettings.from_env(environ)
    assert str(caught.value) == message
