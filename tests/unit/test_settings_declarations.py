"""Settings declared once: each declaration yields its variable, parsing with
errors that name it, the `wf serve` flag and help, and its docs row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from controller.cli.serve import SETTING_FLAGS, serve, settings_environment
from controller.settings_catalog import CATALOG, all_settings, settings_doc
from foundation.errors import SettingsError
from foundation.settings import Integer, Secret, Setting, Size, declarations
from foundation.settings_docs import render
from logger.config import LoggerSettings
from logger.forward.settings import SHARED_KEY, USERS, ForwardSettings

ROOT = Path(__file__).resolve().parents[2]
PORT = Setting("WF_EXAMPLE_PORT", Integer(0, 65535), 8088, "Port of the example.", flag="--port")

# The flags `wf serve` had before they were derived: every one keeps its name
# and its variable.
FLAGS_BEFORE = {
    "--host": "WF_LOGGER_HOST",
    "--http-port": "WF_LOGGER_PORT",
    "--forward-host": "WF_FORWARD_HOST",
    "--forward-port": "WF_FORWARD_PORT",
    "--tls-cert": "WF_FORWARD_TLS_CERT",
    "--tls-key": "WF_FORWARD_TLS_KEY",
    "--lines-per-app": "WF_LOGGER_LINES_PER_APP",
    "--max-buffer-bytes": "WF_LOGGER_MAX_BUFFER_BYTES",
    "--redis-url": "WF_REDIS_URL",
    "--max-line-bytes": "WF_LOGGER_MAX_LINE_BYTES",
    "--max-frame-bytes": "WF_FORWARD_MAX_FRAME_BYTES",
    "--max-connections": "WF_FORWARD_MAX_CONNECTIONS",
    "--idle-timeout": "WF_FORWARD_IDLE_TIMEOUT",
    "--handshake-timeout": "WF_FORWARD_HANDSHAKE_TIMEOUT",
    "--max-follow-timeout": "WF_LOGGER_MAX_FOLLOW_TIMEOUT",
    "--follower-queue-lines": "WF_LOGGER_FOLLOWER_QUEUE_LINES",
    "--controller-host": "WF_CONTROLLER_HOST",
    "--controller-port": "WF_CONTROLLER_PORT",
    "--database-url": "WF_DATABASE_URL",
    "--scheduler": "WF_SCHEDULER",
    "--drains-state-file": "WF_DRAINS_STATE_FILE",
}
# Flags added since the declarations came in.
FLAGS_ADDED = {"--workers": "WF_WORKERS"}


def test_a_declaration_yields_variable_help_and_doc_row() -> None:
    assert PORT.read({"WF_EXAMPLE_PORT": " 9000 "}) == 9000
    assert PORT.read({"WF_EXAMPLE_PORT": ""}) == 8088  # blank is unset
    assert PORT.read({}) == 8088
    assert PORT.help() == "Port of the example. [8088] (env WF_EXAMPLE_PORT)"
    assert render([(PORT, ["example"])]).splitlines()[-1] == (
        "| `WF_EXAMPLE_PORT` | `--port` | integer | `8088` | 0 to 65535 "
        "| Port of the example. | example |"
    )


def test_an_invalid_value_names_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        PORT.read({"WF_EXAMPLE_PORT": "70000"})
    assert str(caught.value) == "WF_EXAMPLE_PORT must be at least 0 and at most 65535, got 70000"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("16384", 16384), ("16KiB", 16 << 10), ("256M", 256 << 20), ("1gib", 1 << 30)],
)
def test_sizes_keep_parsing(raw: str, value: int) -> None:
    setting = Setting("WF_EXAMPLE_BYTES", Size(), 1, "Bytes.")
    assert setting.read({"WF_EXAMPLE_BYTES": raw}) == value


def test_size_defaults_are_shown_in_units() -> None:
    flags = dict(SETTING_FLAGS)
    assert flags["--max-line-bytes"].help().endswith("[16KiB] (env WF_LOGGER_MAX_LINE_BYTES)")
    assert "[256MiB]" in flags["--max-buffer-bytes"].help()


def test_serve_keeps_every_flag_it_had() -> None:
    derived = {flag: setting.variable for flag, setting in SETTING_FLAGS}
    assert derived == FLAGS_BEFORE | FLAGS_ADDED


def test_serve_help_shows_each_flag_with_its_default() -> None:
    result = CliRunner().invoke(serve, ["--help"], terminal_width=1000)
    assert result.exit_code == 0
    for flag, setting in SETTING_FLAGS:
        line = next(line for line in result.output.splitlines() if line.strip().startswith(flag))
        assert f"[{setting.default_text()}] (env {setting.variable})" in line


def test_a_flag_sets_its_variable() -> None:
    environ = settings_environment({"lines_per_app": "50", "http_port": None}, {"HOME": "/h"})
    assert environ == {"HOME": "/h", "WF_LOGGER_LINES_PER_APP": "50"}
    assert LoggerSettings.from_env(environ).store.lines_per_app == 50


def test_secrets_have_no_flag_and_no_value_anywhere() -> None:
    secrets = [setting for setting, _ in all_settings() if setting.secret]
    assert {setting.variable for setting in secrets} == {
        "WF_FORWARD_SHARED_KEY",
        "WF_FORWARD_USERS",
        "WF_SECRET_KEY",
    }
    assert all(setting.flag is None for setting in secrets)
    with pytest.raises(ValueError, match="cannot have a flag"):
        Setting("WF_EXAMPLE_TOKEN", Secret(), "", "A token.", flag="--token")
    for row in settings_doc().splitlines():
        if any(f"{name}` |" in row[:30] for name in ("SHARED_KEY", "FORWARD_USERS", "SECRET_KEY")):
            assert row.split(" | ")[3] == "unset"
    with pytest.raises(SettingsError) as caught:
        USERS.read({"WF_FORWARD_USERS": "alice-hunter2"})
    assert "hunter2" not in str(caught.value)


def test_shared_settings_are_one_declaration_read_by_both() -> None:
    readers = {setting.variable: components for setting, components in all_settings()}
    assert readers["WF_LOGGER_MAX_FOLLOW_TIMEOUT"] == ["logger.api", "controller"]
    assert readers["WF_FORWARD_SHARED_KEY"] == ["logger.forward", "controller"]
    assert SHARED_KEY in [setting for _, setting in declarations(ForwardSettings)]


def test_variables_and_flags_are_unique() -> None:
    settings = all_settings()
    variables = [setting.variable for setting, _ in settings]
    flags = [setting.flag for setting, _ in settings if setting.flag]
    assert len(variables) == len(set(variables))
    assert len(flags) == len(set(flags))


@pytest.mark.parametrize(("component", "cls"), CATALOG, ids=[name for name, _ in CATALOG])
def test_every_declared_field_defaults_to_its_declaration(component: str, cls: type[Any]) -> None:
    built = cls()
    for name, setting in declarations(cls):
        if name is not None:
            assert getattr(built, name) == setting.default, (component, name)


def test_read_bytes_has_its_variable() -> None:
    assert ForwardSettings.from_env({"WF_FORWARD_READ_BYTES": "64KiB"}).read_bytes == 64 << 10
    with pytest.raises(SettingsError, match="WF_FORWARD_READ_BYTES"):
        ForwardSettings.from_env({"WF_FORWARD_READ_BYTES": "1"})


def test_docs_settings_md_is_what_the_declarations_generate() -> None:
    committed = (ROOT / "docs" / "settings.md").read_text()
    assert committed == settings_doc(), "docs/settings.md is stale: run `make settings-docs`"


def test_click_is_given_plain_text_options() -> None:
    # Flags are strings handed to the environment: the settings parse them, once.
    option = next(p for p in serve.params if p.name == "lines_per_app")
    assert isinstance(option, click.Option)
    assert option.default is None
