"""The watcher's settings: on with the Kubernetes scheduler, invalid values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.kubernetes.settings import WatcherSettings
from logger.errors import SettingsError


def test_the_kubernetes_scheduler_turns_the_watcher_on() -> None:
    assert not WatcherSettings.from_env({}).enabled
    assert not WatcherSettings.from_env({"WF_SCHEDULER": "none"}).enabled
    settings = WatcherSettings.from_env(
        {"WF_SCHEDULER": "Kubernetes", "KUBECONFIG": "/etc/kube/config"}
    )
    assert settings.enabled
    assert settings.kubeconfig == Path("/etc/kube/config")
    assert not settings.in_cluster
    in_pod = WatcherSettings.from_env({"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert in_pod.in_cluster


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WF_KUBERNETES_WATCH_TIMEOUT", "5", "WF_KUBERNETES_WATCH_TIMEOUT must be at least 10"),
        ("WF_KUBERNETES_WATCH_REQUEST_TIMEOUT", "soon", "must be a number"),
        ("WF_KUBERNETES_WATCH_BACKOFF_MAX", "0.1", "must be at least WF_KUBERNETES_WATCH_BACKOFF"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        WatcherSettings.from_env({variable: value})
