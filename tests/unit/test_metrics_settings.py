"""Metrics settings of the logger and the controller, from the environment."""

from __future__ import annotations

import pytest

from controller.errors import SettingsError as ControllerSettingsError
from controller.settings import ControllerSettings
from logger.config import LoggerSettings
from logger.errors import SettingsError


def test_logger_app_label_bound() -> None:
    assert LoggerSettings().metrics_max_apps == 1000
    assert LoggerSettings.from_env({"WF_LOGGER_METRICS_MAX_APPS": "5"}).metrics_max_apps == 5
    with pytest.raises(SettingsError, match="WF_LOGGER_METRICS_MAX_APPS must be a whole number"):
        LoggerSettings.from_env({"WF_LOGGER_METRICS_MAX_APPS": "many"})


def test_controller_metrics_settings() -> None:
    settings = ControllerSettings.from_env(
        {
            "WF_VICTORIAMETRICS_URL": "http://vm:8428/",
            "WF_VICTORIAMETRICS_TIMEOUT": "2.5",
            "WF_METRICS_MAX_POINTS": "50",
            "WF_METRICS_CADVISOR_JOB": "cadvisor",
        }
    )
    assert settings.victoriametrics_url == "http://vm:8428"
    assert settings.victoriametrics_timeout == 2.5
    assert settings.metrics_max_points == 50
    assert settings.metrics.cadvisor_job == "cadvisor"
    assert ControllerSettings.from_env({}).victoriametrics_url is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WF_VICTORIAMETRICS_URL": "vm:8428"}, "WF_VICTORIAMETRICS_URL must be an http://"),
        ({"WF_METRICS_MAX_POINTS": "1"}, "WF_METRICS_MAX_POINTS must be at least 2"),
        ({"WF_METRICS_POD_LABEL": "a-b"}, "WF_METRICS_POD_LABEL must be a Prometheus label"),
    ],
)
def test_controller_metrics_settings_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ControllerSettingsError, match=message):
        ControllerSettings.from_env(environ)
