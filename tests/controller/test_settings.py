"""Controller settings from the environment: defaults, values, and errors
that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.embedded import controller_settings
from controller.errors import SettingsError
from controller.settings import ControllerSettings, Registration, SchedulerKind
from logger.config import ApiSettings, LoggerSettings
from logger.errors import SettingsError as LoggerSettingsError


def test_defaults() -> None:
    settings = ControllerSettings.from_env({"HOME": "/home/dev"})
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.database_url == (
        "sqlite+aiosqlite:////home/dev/.local/state/workflow/controller.db"
    )
    assert settings.scheduler is SchedulerKind.NONE
    assert settings.registration is Registration.ENABLED
    assert settings.in_cluster is False


def test_values() -> None:
    settings = ControllerSettings.from_env(
        {
            "WF_CONTROLLER_PORT": "9000",
            "WF_DATABASE_URL": "postgresql+asyncpg://wf@db/wf",
            "WF_SCHEDULER": "Kubernetes",
            "WF_KUBECONFIG": "/etc/wf/kubeconfig",
            "KUBERNETES_SERVICE_HOST": "10.0.0.1",
            "WF_REGISTRATION": "admin_only",
            "WF_LOGGER_URL": "http://logger:8088/",
            "WF_TOKEN_TTL": "0",
        }
    )
    assert settings.port == 9000
    assert settings.database_url == "postgresql+asyncpg://wf@db/wf"
    assert settings.scheduler is SchedulerKind.KUBERNETES
    assert settings.kubeconfig == Path("/etc/wf/kubeconfig")
    assert settings.in_cluster is False  # an explicit kubeconfig wins
    assert settings.registration is Registration.ADMIN_ONLY
    assert settings.logger_url == "http://logger:8088"
    assert settings.token_ttl == 0
    in_pod = ControllerSettings.from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert in_pod.in_cluster is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WF_CONTROLLER_PORT", "eighty"),
        ("WF_DATABASE_URL", "mysql://x/y"),
        ("WF_DATABASE_URL", "postgresql://wf@db/wf"),
        ("WF_SCHEDULER", "nomad"),
        ("WF_REGISTRATION", "sometimes"),
        ("WF_PASSWORD_MEMORY_KIB", "1024"),
        ("WF_LOGIN_ATTEMPTS", "0"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable) as raised:
        ControllerSettings.from_env({variable: value})
    assert isinstance(raised.value, LoggerSettingsError)  # `wf serve` catches both alike


def test_embedded_controller_finds_its_logger() -> None:
    logger = LoggerSettings(api=ApiSettings(host="0.0.0.0", port=9099))
    assert controller_settings({}, logger).logger_url == "http://127.0.0.1:9099"
    given = controller_settings({"WF_LOGGER_URL": "http://elsewhere:1"}, logger)
    assert given.logger_url == "http://elsewhere:1"
